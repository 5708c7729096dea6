"""The core's own checks on rendered objects: names, Secrets, key material, then every plugin's checks."""

from __future__ import annotations

import functools
import re
from typing import Any

import pluggy

from gwpipe.checks.secrets import find_secrets_each
from gwpipe.hooks.manager import call_each, results_of_type
from gwpipe.model import Finding, RenderedObject
from gwpipe.spec.load import Spec

_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# kinds whose names become DNS labels (Services, Gateways and Istio's webhook rules)
_LABEL_KINDS = frozenset({"Service", "Gateway", "Namespace"})


def _finding(obj: RenderedObject, code: str, message: str, level: str = "Error") -> Finding:
    r = obj.request
    return Finding(code, level, r.kind, r.namespace or "", r.name, message, obj.path, None)


def _core_object_findings(obj: RenderedObject, secret_kinds: list[str]) -> list[Finding]:
    findings = []
    r = obj.request
    name_ok = (
        _LABEL.fullmatch(r.name) and len(r.name) <= 63
        if r.kind in _LABEL_KINDS
        else (_SUBDOMAIN.fullmatch(r.name) and len(r.name) <= 253)
    )
    if not name_ok:
        findings.append(_finding(obj, "GWP0001", f"name {r.name!r} is not a valid Kubernetes name for a {r.kind}"))
    if r.namespace is not None and not _is_label(r.namespace):
        findings.append(_finding(obj, "GWP0001", f"namespace {r.namespace!r} is not a DNS-1123 label"))
    if r.kind == "Secret" and _has_data(obj.obj):
        findings.append(
            _finding(
                obj,
                "GWP0002",
                "Secret objects with data never go into the GitOps tree; use cert-manager or credentialName",
            )
        )
    for kind in secret_kinds:
        findings.append(_finding(obj, "GWP0003", f"output contains a {kind}; private keys never enter the GitOps tree"))
    return findings


def core_findings(objects: list[RenderedObject]) -> list[Finding]:
    """Names Kubernetes accepts, no Secret objects, no private keys anywhere in the output."""
    found = find_secrets_each([obj.text for obj in objects])
    return [f for obj, kinds in zip(objects, found, strict=True) for f in _core_object_findings(obj, kinds)]


@functools.lru_cache(maxsize=4096)
def _is_label(value: str) -> bool:
    # a set has few namespaces, each asked once per object
    return bool(_LABEL.fullmatch(value)) and len(value) <= 63


def _has_data(obj: dict[str, Any]) -> bool:
    return bool(obj.get("data") or obj.get("stringData"))


def run_checks(pm: pluggy.PluginManager, spec: Spec, objects: list[RenderedObject]) -> list[Finding]:
    """Core findings plus every plugin's `gwpipe_check` findings, sorted for stable output."""
    from gwpipe.checks.analysis import analysis_findings
    from gwpipe.checks.schema.check import schema_findings

    findings = core_findings(objects) + schema_findings(spec, objects) + analysis_findings(spec, objects)
    results = call_each(pm, "gwpipe_check", spec=spec, objects=objects)
    for _plugin, found in results_of_type(results, "gwpipe_check", Finding, "Finding"):
        findings.extend(found)
    return sorted(
        set(findings),
        key=lambda f: (f.file or "", f.line or 0, f.kind, f.namespace, f.name, f.code, f.level, f.message),
    )
