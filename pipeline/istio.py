"""Istio facts the core and the built-in plugins share: the `istio` spec key, gateway workloads, hosts, TLS."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gwpipe.spec.load import Spec

# defaults of the core `istio` spec key
DEFAULT_VERSION = "1.28"
DEFAULT_NAMESPACE = "istio-system"
DEFAULT_WORKLOAD = "istio-ingressgateway"

TLS_VERSIONS = ("TLS_AUTO", "TLSV1_0", "TLSV1_1", "TLSV1_2", "TLSV1_3")
# Istio's ValidCipherSuites (BoringSSL's names without the PSK suites); Istio drops others with a warning
CIPHER_SUITES = (
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-RSA-CHACHA20-POLY1305",
    "ECDHE-ECDSA-AES128-SHA",
    "ECDHE-RSA-AES128-SHA",
    "ECDHE-ECDSA-AES256-SHA",
    "ECDHE-RSA-AES256-SHA",
    "AES128-GCM-SHA256",
    "AES256-GCM-SHA384",
    "AES128-SHA",
    "AES256-SHA",
    "DES-CBC3-SHA",
)


def target_version(spec: Spec) -> tuple[int, int]:
    """The target Istio minor version (`istio.version`) as (1, minor)."""
    raw = str((spec.get("istio") or {}).get("version", DEFAULT_VERSION))
    major, minor = raw.split(".")[:2]
    return int(major), int(minor)


def control_namespace(spec: Spec) -> str:
    """The control plane's namespace (`istio.namespace`)."""
    return str((spec.get("istio") or {}).get("namespace", DEFAULT_NAMESPACE))


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
            "namespace": control_namespace(spec),
            "labels": {"app": "istio-ingressgateway", "istio": "ingressgateway"},
            "ports": [
                {"name": "http2", "port": 80, "targetPort": 8080},
                {"name": "https", "port": 443, "targetPort": 8443},
            ],
        }
    }


def workload_namespace(spec: Spec, name: str) -> str:
    return str(workloads(spec).get(name, {}).get("namespace", control_namespace(spec)))


def gateway_namespace(spec: Spec, gateway: str) -> str:
    return str((spec.get("gateways") or {}).get(gateway, {}).get("namespace", namespace(spec)))


def gateway_workload(spec: Spec, gateway: str) -> str:
    return str((spec.get("gateways") or {}).get(gateway, {}).get("workload", DEFAULT_WORKLOAD))


def host_matches(a: str, b: str) -> bool:
    """`host.Name.Matches`: the two names overlap (symmetric; `*` and `*.x` are wildcards)."""
    wa, wb = a.startswith("*"), b.startswith("*")
    if not wa and not wb:
        return a == b
    if wa and not wb:
        return b.endswith(a[1:])
    if wb and not wa:
        return a.endswith(b[1:])
    longer, shorter = (a, b) if len(a) >= len(b) else (b, a)
    return longer[1:].endswith(shorter[1:])


def host_subset_of(a: str, b: str) -> bool:
    """`host.Name.SubsetOf`: every name `a` covers is covered by `b`."""
    if b.startswith("*"):
        return a.endswith(b[1:])
    return not a.startswith("*") and a == b
