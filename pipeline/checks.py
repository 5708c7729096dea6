"""The core's own checks on rendered objects: names, Secrets, key material, then every plugin's checks.

Checks split in two: `object_findings` judges one object alone (names, Secrets, key material, Istio
admission rules) and may run wherever the object is (e.g. in a render worker); `run_checks` adds what
needs the whole set (CRD schemas, analyzers, suppressions, plugins' checks) and sorts.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any, NamedTuple

import pluggy

from .manager import call_each, results_of_type
from .model import Finding, RenderedObject
from .secrets import find_secrets, find_secrets_each
from .spec import Spec

_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# kinds whose names become DNS labels (Services, Gateways and Istio's webhook rules)
_LABEL_KINDS = frozenset({"Service", "Gateway", "Namespace"})


class ObjectFindings(NamedTuple):
    """What one object earns judged alone: the core's findings, and Istio admission rules' before suppression."""

    core: list[Finding]
    rules: list[Finding]


def _finding(obj: RenderedObject, code: str, message: str, level: str = "Error") -> Finding:
    r = obj.request
    return Finding(code, level, r.kind, r.namespace or "", r.name, message, obj.path, None)


def core_object_findings(obj: RenderedObject) -> list[Finding]:
    """A name Kubernetes accepts, no Secret with data, no private key in the text."""
    return _core_object_findings(obj, find_secrets(obj.text))


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


def object_findings(obj: RenderedObject) -> ObjectFindings:
    """Every check that judges `obj` alone; its result depends on nothing else, so it can be computed anywhere."""
    from .analysis import object_rule_findings

    return ObjectFindings(core_object_findings(obj), object_rule_findings(obj))


@functools.lru_cache(maxsize=4096)
def _is_label(value: str) -> bool:
    # a set has few namespaces, each asked once per object
    return bool(_LABEL.fullmatch(value)) and len(value) <= 63


def _has_data(obj: dict[str, Any]) -> bool:
    return bool(obj.get("data") or obj.get("stringData"))


def run_checks(
    pm: pluggy.PluginManager,
    spec: Spec,
    objects: list[RenderedObject],
    judged: Sequence[ObjectFindings] | None = None,
) -> list[Finding]:
    """Core findings plus every plugin's `gwpipe_check` findings, sorted for stable output.

    `judged`: `object_findings` of each object, in order, when the caller already computed them.
    """
    from .analysis import analysis_findings
    from .schemacheck import schema_findings

    if judged is None:
        # the analysis runs the admission rules on the manifests it builds anyway
        findings = core_findings(objects) + schema_findings(spec, objects) + analysis_findings(spec, objects)
    elif len(judged) != len(objects):
        raise ValueError(f"judged has {len(judged)} entries for {len(objects)} objects")
    else:
        findings = [f for j in judged for f in j.core]
        findings += schema_findings(spec, objects)
        findings += analysis_findings(spec, objects, [j.rules for j in judged])
    results = call_each(pm, "gwpipe_check", spec=spec, objects=objects)
    for _plugin, found in results_of_type(results, "gwpipe_check", Finding, "Finding"):
        findings.extend(found)
    return sorted(
        set(findings),
        key=lambda f: (f.file or "", f.line or 0, f.kind, f.namespace, f.name, f.code, f.level, f.message),
    )
