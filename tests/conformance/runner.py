"""Load the conformance tables and run one case the way `gwpipe analyze` runs files (structure, rules, analyzers).

A table (`tables/<area>.yaml`) has a `wrap` template (the object a case's `spec` goes into), a `scope` (the
codes its cases judge; findings of other codes belong to other tables) and `cases`. A case has an `id`, the
`covers` list (codes and rule ids it is a boundary case for), the Istio `source` its expectation follows, a
`spec` (wrapped) and/or `extra` manifests, optional `inventory` (added to the table's `cluster`), `cluster` (replaces it), `files_only` (no cluster: as
`gwpipe analyze` without `--inventory`, which skips the workload analyzers), `version`, and `expect`:
`accepted`, or a list of findings. A finding is `CODE [KEY] [@dotted.path] [!Level] [on=Kind ns/name]`: the
KEY is the admission rule id, `schema:<dotted field>` for a structural error, `cel:<dotted field>` for a CEL
rule (GWP0100), or IST0101's reference type. A path names a key holding dots as `headers["@a.b"]`.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from gwpipe.checks.analysis import analyze
from gwpipe.checks.analysis.loader import load_manifests
from gwpipe.checks.analysis.manifests import Manifest, ManifestSet
from gwpipe.checks.analysis.messages import MESSAGES, level_of
from gwpipe.checks.analysis.structure import structure_findings
from gwpipe.model import Finding

TABLES = Path(__file__).resolve().parent / "tables"
NOW = datetime.datetime(2026, 6, 1, tzinfo=datetime.UTC)
_RULE = re.compile(r"^([A-Z]{1,2}[0-9]{1,2}): ")
_SCHEMA = re.compile(r"^((?:spec|metadata)[^ :]*): ")
_REFERENCE = re.compile(r"^Referenced (.+?) not found")
_PART = re.compile(r'([^.\[\]"]+)|\[(\d+)\]|\["([^"]*)"\]')


@dataclass(frozen=True)
class Expected:
    code: str
    key: str
    level: str
    on: str | None
    at: str | None


@dataclass(frozen=True)
class Case:
    area: str
    id: str
    covers: tuple[str, ...]
    source: str
    text: str
    scope: frozenset[str]
    resource: str
    expect: tuple[Expected, ...]
    options: dict[str, Any]

    @property
    def accepted(self) -> bool:
        return not self.expect


def parse_expected(text: str) -> Expected:
    on = None
    if " on=" in text:
        text, on = text.split(" on=", 1)
    tokens = text.split()
    code, key, at = tokens[0], "", None
    level = level_of(code) if code in MESSAGES else "Error"  # GWP0100, a CEL rule, is always an error
    for token in tokens[1:]:
        if token.startswith("@"):
            at = token[1:]
        elif token.startswith("!"):
            level = token[1:]
        else:
            key = token
    return Expected(code, key, level, on, at)


def dotted_path(text: str) -> tuple[str | int, ...]:
    parts: list[str | int] = []
    for m in _PART.finditer(text):
        name, index, quoted = m.groups()
        parts.append(quoted if quoted is not None else name if name is not None else int(index))
    return tuple(parts)


def _wrap(template: str, case: dict[str, Any]) -> str:
    if "spec" not in case:
        return ""
    spec = yaml.safe_dump(case["spec"], sort_keys=False, default_flow_style=False, width=1000)
    body = "".join(f"  {line}\n" for line in spec.splitlines())
    return template.rstrip("\n") + "\nspec:\n" + body


def load_cases() -> list[Case]:
    cases = []
    for path in sorted(TABLES.glob("*.yaml")):
        table = yaml.safe_load(path.read_text(encoding="utf-8"))
        template = str(table.get("wrap") or "")
        resource = str(table.get("resource") or "")
        for raw in table["cases"]:
            parts = [p for p in (_wrap(template, raw), str(raw.get("extra") or "")) if p]
            expect = raw["expect"]
            cases.append(
                Case(
                    path.stem,
                    str(raw["id"]),
                    tuple(str(c) for c in raw["covers"]),
                    str(raw["source"]),
                    "---\n".join(parts),
                    frozenset(table["scope"]),
                    str(raw.get("resource") or resource),
                    () if expect == "accepted" else tuple(parse_expected(str(e)) for e in expect),
                    {"cluster": table.get("cluster")}
                    | {k: raw[k] for k in ("inventory", "cluster", "files_only", "version") if k in raw},
                )
            )
    return cases


def key_of(f: Finding) -> str:
    if m := _RULE.match(f.message):
        return m[1]
    if f.code == "IST0106" and (m := _SCHEMA.match(f.message)):
        return f"schema:{m[1]}"
    if f.code == "GWP0100" and (m := _SCHEMA.match(f.message)):
        return f"cel:{m[1]}"
    if f.code == "IST0101" and (m := _REFERENCE.match(f.message)):
        return m[1].split()[0]  # "host+subset in destinationrule" is keyed "host+subset"
    return ""


def run_case(case: Case, workdir: Path) -> tuple[list[Finding], ManifestSet]:
    path = workdir / f"{case.id}.yaml"
    path.write_text(case.text, encoding="utf-8")
    version = tuple(int(p) for p in str(case.options.get("version", "1.28")).split("."))
    manifests = ManifestSet(load_manifests(path, "default"))
    files_only = bool(case.options.get("files_only"))
    structure = structure_findings(manifests, (version[0], version[1]), [])
    findings = analyze(
        manifests,
        [] if files_only else list(case.options.get("cluster") or []) + list(case.options.get("inventory") or []),
        (version[0], version[1]),
        None,
        NOW,
        structure=structure,
        workloads=not files_only and (case.options.get("cluster") is not None or "inventory" in case.options),
    )
    return [f for f in findings if f.code in case.scope], manifests


def manifest_for(manifests: ManifestSet, resource: str) -> Manifest:
    kind, full = resource.split(" ", 1)
    ns, name = full.split("/", 1) if "/" in full else ("", full)
    found = next((m for m in manifests if m.kind == kind and m.namespace == ns and m.name == name), None)
    assert found is not None, f"no {resource} in the case"
    return found
