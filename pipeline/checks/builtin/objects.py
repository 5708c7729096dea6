"""The `objects` check plugin: names Kubernetes accepts, no Secret objects with data, every Gateway has servers."""

from __future__ import annotations

import functools
import re
from typing import Any

from gwpipe.hooks.specs import hookimpl
from gwpipe.model import Finding, RenderedObject
from gwpipe.spec.load import Spec

_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# kinds whose names become DNS labels (Services, Gateways and Istio's webhook rules)
_LABEL_KINDS = frozenset({"Service", "Gateway", "Namespace"})


def finding(obj: RenderedObject, code: str, message: str, level: str = "Error") -> Finding:
    """A finding about one rendered object, located at its file."""
    r = obj.request
    return Finding(code, level, r.kind, r.namespace or "", r.name, message, obj.path, None)


@hookimpl
def gwpipe_check(spec: Spec, objects: list[RenderedObject]) -> list[Finding]:
    return [f for obj in objects for f in _object_findings(spec, obj)]


def _object_findings(spec: Spec, obj: RenderedObject) -> list[Finding]:
    findings = []
    r = obj.request
    name_ok = (
        _LABEL.fullmatch(r.name) and len(r.name) <= 63
        if r.kind in _LABEL_KINDS
        else (_SUBDOMAIN.fullmatch(r.name) and len(r.name) <= 253)
    )
    if not name_ok:
        findings.append(finding(obj, "GWP0001", f"name {r.name!r} is not a valid Kubernetes name for a {r.kind}"))
    if r.namespace is not None and not _is_label(r.namespace):
        findings.append(finding(obj, "GWP0001", f"namespace {r.namespace!r} is not a DNS-1123 label"))
    if r.kind == "Secret" and _has_data(obj.obj):
        findings.append(
            finding(
                obj,
                "GWP0002",
                "Secret objects with data never go into the GitOps tree; use cert-manager or credentialName",
            )
        )
    if r.kind == "Gateway" and not _servers(obj.obj):
        findings.append(_no_servers(spec, obj))
    return findings


def _servers(obj: dict[str, Any]) -> Any:
    spec = obj.get("spec")
    return spec.get("servers") if isinstance(spec, dict) else None


def _no_servers(spec: Spec, obj: RenderedObject) -> Finding:
    """Istio refuses a Gateway without servers: every entry of `gateways` needs a host or a tcp entry bound to it.

    Whatever plugins are loaded (`--block tcp` included), so the core owns the rule. A Gateway the spec
    declares is located at its entry; any other at its rendered file.
    """
    r = obj.request
    message = "has no servers; bind a host or a tcp entry to it, or remove it"
    declared = isinstance(spec.get("gateways"), dict) and r.name in spec.get("gateways")
    loc = spec.location(("gateways", r.name)) if declared else None
    if loc is None:
        return finding(obj, "GWP0004", message)
    return Finding("GWP0004", "Error", r.kind, r.namespace or "", r.name, message, str(loc.file), loc.line)


@functools.lru_cache(maxsize=4096)
def _is_label(value: str) -> bool:
    # a set has few namespaces, each asked once per object
    return bool(_LABEL.fullmatch(value)) and len(value) <= 63


def _has_data(obj: dict[str, Any]) -> bool:
    return bool(obj.get("data") or obj.get("stringData"))
