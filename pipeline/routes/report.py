"""Route test results for people (text), machines (JSON) and CI systems (JUnit XML)."""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree

from gwpipe.model import Finding
from gwpipe.routes.coverage import Coverage
from gwpipe.routes.explore import Probe
from gwpipe.routes.run import CaseResult


def as_json(
    results: list[CaseResult], coverage: dict[str, Coverage], probes: list[Probe], findings: list[Finding]
) -> str:
    failed = sum(1 for r in results if not r.passed)
    data: dict[str, Any] = {
        "ok": failed == 0,
        "cases": [r.as_dict() for r in results],
        "summary": {"cases": len(results), "passed": len(results) - failed, "failed": failed},
        "coverage": {env or "manifests": c.as_dict() for env, c in coverage.items()},
    }
    if probes:
        data["probes"] = [p.as_dict() for p in probes]
    if findings:
        data["findings"] = [f.as_dict() for f in findings]
    return json.dumps(data, indent=2, sort_keys=True)


def as_text(
    results: list[CaseResult], coverage: dict[str, Coverage], probes: list[Probe], findings: list[Finding]
) -> str:
    lines = []
    for result in results:
        prefix = f"{result.environment}: " if result.environment else ""
        if result.passed:
            lines.append(f"PASS {prefix}{result.case.name}: {result.outcome.summary()}")
        else:
            expected = json.dumps(result.case.expect, sort_keys=True)
            got = result.outcome.summary()
            lines.append(f"FAIL {prefix}{result.case.name}: expected {expected}, got {got} ({result.case.where})")
    for probe in probes:
        got = probe.outcome.summary() if probe.outcome else f"no probe ({probe.note})"
        mark = "" if probe.reaches_own_route or probe.outcome is None else f", reached {probe.outcome.route or '-'}"
        request = _request_line(probe)
        lines.append(f"probe {probe.route}: {request} -> {got}{mark}")
    for env, cov in coverage.items():
        head = f"{env}: " if env else ""
        lines.append(f"{head}route coverage {cov.percent}% ({cov.covered}/{cov.total} routes)")
        for _vs, missed in sorted(cov.missed().items()):
            for ref in missed:
                lines.append(f"  not exercised: {ref}")
    for finding in findings:
        lines.append(f"{finding.level.lower()}: {finding}")
    failed = sum(1 for r in results if not r.passed)
    lines.append(f"{len(results) - failed} passed, {failed} failed")
    return "\n".join(lines) + "\n"


def _request_line(probe: Probe) -> str:
    request = probe.request
    if request is None:
        return "-"
    if request.scheme in ("http", "https"):
        extra = "".join(f" -H '{k}: {v}'" for k, v in sorted(request.headers.items()))
        return f"{request.method} {request.scheme}://{request.host}:{request.port}{request.path}{extra}"
    return f"{request.scheme}://{request.server_name or request.host}:{request.port}"


def as_junit(results: list[CaseResult]) -> str:
    """One testsuite `gwpipe.routes`, one testcase per case, a failure element with expected and actual."""
    failed = sum(1 for r in results if not r.passed)
    suite = ElementTree.Element(
        "testsuite", name="gwpipe.routes", tests=str(len(results)), failures=str(failed), errors="0"
    )
    for result in results:
        case = ElementTree.SubElement(
            suite, "testcase", name=result.case.name, classname=result.environment or "manifests"
        )
        if not result.passed:
            message = f"expected {json.dumps(result.case.expect, sort_keys=True)}, got {result.outcome.summary()}"
            failure = ElementTree.SubElement(case, "failure", message=message, type="RouteMismatch")
            failure.text = json.dumps(result.outcome.as_dict(), sort_keys=True)
    suites = ElementTree.Element("testsuites", tests=str(len(results)), failures=str(failed))
    suites.append(suite)
    ElementTree.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(suites, encoding="unicode") + "\n"
