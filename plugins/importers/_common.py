"""Facts every built-in importer shares: which objects are Istio networking objects, namespaces, gateway refs."""

from __future__ import annotations

from collections import Counter
from typing import Any

from gwpipe.importer.model import ImportContext, ref_of
from gwpipe.istio import DEFAULT_NAMESPACE

__all__ = ["ref_of"]
DEFAULT_LABELS = {"app": "istio-ingressgateway", "istio": "ingressgateway"}
DEFAULT_PORTS = [
    {"name": "http2", "port": 80, "targetPort": 8080},
    {"name": "https", "port": 443, "targetPort": 8443},
]


def networking(context: ImportContext, kind: str) -> list[dict[str, Any]]:
    """The `kind` objects of networking.istio.io, whatever version (v1, v1beta1, v1alpha3)."""
    return [o for o in context.of_kind(kind) if context.api_group(o) == "networking.istio.io"]


def spec_namespace(context: ImportContext) -> str:
    """The namespace of most VirtualServices (else Gateways): the spec's `namespace`."""
    found = [o["metadata"]["namespace"] for o in networking(context, "VirtualService")]
    found = found or [o["metadata"]["namespace"] for o in networking(context, "Gateway")]
    return Counter(found).most_common(1)[0][0] if found else "default"


def gateway_of(ref: str, namespace: str) -> tuple[str, str]:
    """(namespace, name) a VirtualService's gateway reference points at."""
    if "/" in ref:
        ns, _, name = ref.partition("/")
        return ns, name
    return namespace, ref


def istio_fragment(context: ImportContext) -> dict[str, Any]:
    """`istio.version`: the default renders networking v1; older served versions need a target below 1.22."""
    versions = {
        str(o.get("apiVersion")) for o in networking(context, "Gateway") + networking(context, "VirtualService")
    }
    if versions and "networking.istio.io/v1" not in versions:
        return {"istio": {"version": "1.21"}}
    return {}


def control_namespace(context: ImportContext) -> str:
    """Where the control plane lives: the namespace of an imported control-plane object, else Istio's default."""
    return DEFAULT_NAMESPACE
