"""Istio facts the built-in plugins share: API versions, name rules, host matching, spec defaults."""

from __future__ import annotations

from typing import Any

from gwpipe.spec import Spec

DEFAULT_VERSION = "1.28"
DEFAULT_WORKLOAD = "istio-ingressgateway"
LABEL_RE = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
HOST_RE = r"\*|(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+"
DURATION_RE = r"[0-9]+(\.[0-9]+)?(ms|s|m|h)"

LABEL = {"type": "string", "regex": LABEL_RE, "maxlength": 63, "meta": {"description": "a DNS-1123 label"}}
HOST = {"type": "string", "regex": HOST_RE, "maxlength": 253, "meta": {"description": "a lower-case FQDN, *.domain or *"}}
PORT = {"type": "integer", "min": 1, "max": 65535}
DURATION = {"type": "string", "regex": DURATION_RE, "meta": {"description": "a duration such as 500ms, 5s or 1m"}}
LABELS = {
    "type": "dict",
    "keysrules": {"type": "string", "regex": r"([a-z0-9.-]+/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?", "maxlength": 316},
    "valuesrules": {"type": "string", "regex": r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?", "maxlength": 63},
}


def version(spec: Spec) -> tuple[int, int]:
    """The target Istio minor version as (1, minor)."""
    raw = str((spec.get("istio") or {}).get("version", DEFAULT_VERSION))
    major, minor = raw.split(".")[:2]
    return int(major), int(minor)


def networking_api(spec: Spec) -> str:
    """networking.istio.io/v1 is served from Istio 1.22; older targets get v1beta1."""
    return "networking.istio.io/v1" if version(spec) >= (1, 22) else "networking.istio.io/v1beta1"


def telemetry_api(spec: Spec) -> str:
    return "telemetry.istio.io/v1" if version(spec) >= (1, 22) else "telemetry.istio.io/v1alpha1"


def istio_namespace(spec: Spec) -> str:
    return str((spec.get("istio") or {}).get("namespace", "istio-system"))


def namespace(spec: Spec) -> str:
    """The namespace of Gateways and VirtualServices unless an entry names its own."""
    return str(spec.get("namespace", "default"))


def workloads(spec: Spec) -> dict[str, dict[str, Any]]:
    """Gateway workloads by name; without any, the default `istio-ingressgateway` of an istioctl install."""
    declared = spec.get("workloads")
    if declared:
        return dict(declared)
    return {
        DEFAULT_WORKLOAD: {
            "namespace": istio_namespace(spec),
            "labels": {"app": "istio-ingressgateway", "istio": "ingressgateway"},
            "ports": [
                {"name": "http2", "port": 80, "targetPort": 8080},
                {"name": "https", "port": 443, "targetPort": 8443},
            ],
        }
    }


def workload_namespace(spec: Spec, name: str) -> str:
    return str(workloads(spec).get(name, {}).get("namespace", istio_namespace(spec)))


def gateway_namespace(spec: Spec, gateway: str) -> str:
    return str((spec.get("gateways") or {}).get(gateway, {}).get("namespace", namespace(spec)))


def gateway_workload(spec: Spec, gateway: str) -> str:
    return str((spec.get("gateways") or {}).get(gateway, {}).get("workload", DEFAULT_WORKLOAD))


def hosts_on(spec: Spec, gateway: str) -> list[str]:
    """Hosts bound to `gateway`, sorted."""
    return sorted(h for h, entry in (spec.get("hosts") or {}).items() if entry.get("gateway") == gateway)


def host_matches(a: str, b: str) -> bool:
    """Istio's symmetric host overlap (`host.Name.Matches`)."""
    wa, wb = a.startswith("*"), b.startswith("*")
    if not wa and not wb:
        return a == b
    if wa and not wb:
        return b.endswith(a[1:])
    if wb and not wa:
        return a.endswith(b[1:])
    longer, shorter = (a, b) if len(a) >= len(b) else (b, a)
    return longer[1:].endswith(shorter[1:])
