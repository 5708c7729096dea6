"""IstioOperator rules IO1-IO6 (`istioctl validate` / the operator's own validation, §3.7)."""

from __future__ import annotations

import re
from typing import Any

from gwpipe.checks.analysis.context import Reporter
from gwpipe.checks.analysis.hosts import is_dns_label
from gwpipe.checks.analysis.manifests import Manifest

SPEC_FIELDS = {
    "profile",
    "installPackagePath",
    "hub",
    "tag",
    "resourceSuffix",
    "namespace",
    "revision",
    "compatibilityVersion",
    "meshConfig",
    "components",
    "values",
    "unvalidatedValues",
}
_COMPONENT_NAME = re.compile(r"^[a-z0-9.-]{1,254}$")
# a container image reference: [registry[:port]/]path[:tag][@digest], lower-case path
_HUB = re.compile(r"^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


def check_istio_operator(ctx: Reporter, m: Manifest) -> None:
    spec = m.spec
    for key in sorted(set(spec) - SPEC_FIELDS):
        ctx.rule(m, "IO1", f"unknown field {key!r} in IstioOperator spec", ("spec", key))
    hub, tag = spec.get("hub"), spec.get("tag")
    if hub is not None and not (isinstance(hub, str) and _HUB.match(hub)):
        ctx.rule(m, "IO2", f"hub {hub!r} is not a valid image repository", ("spec", "hub"))
    if tag is not None and not _TAG.match(str(tag)):
        ctx.rule(m, "IO2", f"tag {tag!r} is not a valid image tag", ("spec", "tag"))
    revision = spec.get("revision")
    if revision and not (isinstance(revision, str) and is_dns_label(revision)):
        ctx.rule(m, "IO3", f"revision {revision!r} must be a DNS-1123 label", ("spec", "revision"))
    components = spec.get("components") if isinstance(spec.get("components"), dict) else {}
    assert isinstance(components, dict)
    values = spec.get("values") if isinstance(spec.get("values"), dict) else {}
    assert isinstance(values, dict)
    for key, default in (("ingressGateways", "istio-ingressgateway"), ("egressGateways", "istio-egressgateway")):
        settings = _gateway_values(values, default)
        root, autoscale = settings.get("runAsRoot") is True, settings.get("autoscaleEnabled") is not False
        for i, comp in enumerate(components.get(key) or []):
            _check_component(ctx, m, comp, ("spec", "components", key, i), root, autoscale)


def _gateway_values(values: dict[str, Any], gateway: str) -> dict[str, Any]:
    gateways = values.get("gateways") if isinstance(values.get("gateways"), dict) else {}
    assert isinstance(gateways, dict)
    entry = gateways.get(gateway)
    return entry if isinstance(entry, dict) else {}


def _check_component(
    ctx: Reporter, m: Manifest, comp: Any, path: tuple[str | int, ...], run_as_root: bool, autoscale: bool
) -> None:
    if not isinstance(comp, dict):
        return
    name = comp.get("name")
    if not (isinstance(name, str) and _COMPONENT_NAME.match(name)):
        ctx.rule(m, "IO4", f"gateway component name {name!r} must match [a-z0-9.-]{{1,254}}", (*path, "name"))
    k8s = comp.get("k8s") if isinstance(comp.get("k8s"), dict) else {}
    assert isinstance(k8s, dict)
    service = k8s.get("service") if isinstance(k8s.get("service"), dict) else {}
    assert isinstance(service, dict)
    if not run_as_root:
        for j, port in enumerate(service.get("ports") or []):
            if not isinstance(port, dict):
                continue
            target = port.get("targetPort")
            low = (
                (target < 1024 if isinstance(target, int) else False)
                if target is not None
                else (isinstance(port.get("port"), int) and port["port"] <= 1024)
            )
            if low:
                ctx.rule(
                    m,
                    "IO5",
                    f"port {port.get('port')} targets privileged port {target if target is not None else port.get('port')}; "
                    "gateways run as non-root (set runAsRoot or use a targetPort of 1024 or more)",
                    (*path, "k8s", "service", "ports", j),
                )
    if k8s.get("replicaCount") is not None and autoscale:
        ctx.rule(
            m,
            "IO6",
            "replicaCount is ignored while autoscaleEnabled is true (the default)",
            (*path, "k8s", "replicaCount"),
            warning=True,
        )
