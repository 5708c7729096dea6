"""The `objects` check plugin: every Gateway has servers, names Kubernetes accepts, no Secret objects with data."""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Any

from gwpipe.errors import PluginError
from gwpipe.hooks.specs import hookimpl
from gwpipe.model import Finding, RenderedObject, Resources

if TYPE_CHECKING:
    from gwpipe.spec.load import Spec

_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# kinds whose names become DNS labels (Services, Gateways and Istio's webhook rules)
_LABEL_KINDS = frozenset({"Service", "Gateway", "Namespace"})


def finding(obj: RenderedObject, code: str, message: str, level: str = "Error") -> Finding:
    """A finding about one rendered object, located at its file."""
    r = obj.request
    return Finding(code, level, r.kind, r.namespace or "", r.name, message, obj.path, None)


@hookimpl(trylast=True)
def gwpipe_modify_resources(spec: Spec, resources: Resources) -> None:
    """Istio refuses a Gateway without servers: every entry of `gateways` needs a host or a tcp entry bound to it.

    The core owns the rule, so it holds whatever plugins are loaded (`--block tcp` included); checked
    once every plugin has added its servers, and located at the Gateway's entry in the spec.
    """
    problems = [
        spec.problem(
            ("gateways", request.name),
            f"Gateway {request.namespace}/{request.name} has no servers; bind a host or a tcp entry to it, or remove it",
        )
        for request in resources.of_kind("Gateway")
        if not request.values.get("servers")
    ]
    if problems:
        raise PluginError(*problems)


@hookimpl
def gwpipe_check(spec: Spec, objects: list[RenderedObject]) -> list[Finding]:
    return [f for obj in objects for f in _object_findings(obj)]


def _object_findings(obj: RenderedObject) -> list[Finding]:
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
    return findings


@functools.lru_cache(maxsize=4096)
def _is_label(value: str) -> bool:
    # a set has few namespaces, each asked once per object
    return bool(_LABEL.fullmatch(value)) and len(value) <= 63


def _has_data(obj: dict[str, Any]) -> bool:
    return bool(obj.get("data") or obj.get("stringData"))
