"""Istio facts the built-in plugins share: API versions, name rules, host matching, spec defaults."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gwpipe import istio as core
from gwpipe.istio import (
    DEFAULT_WORKLOAD,
    gateway_namespace,
    gateway_workload,
    namespace,
    workload_namespace,
    workloads,
)
from gwpipe.model import ResourceRequest, Resources

if TYPE_CHECKING:
    from gwpipe.errors import Problem
    from gwpipe.spec.load import Spec

# the core's gateway facts, re-exported so the plugins keep one import for every Istio fact
__all__ = ["DEFAULT_WORKLOAD", "gateway_namespace", "gateway_workload", "namespace", "workload_namespace", "workloads"]

# the core `istio` key, under the names the plugins use
version = core.target_version
istio_namespace = core.control_namespace
LABEL_RE = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
HOST_RE = r"\*|(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+"
DURATION_RE = r"[0-9]+(\.[0-9]+)?(ms|s|m|h)"

LABEL = {"type": "string", "regex": LABEL_RE, "maxlength": 63, "meta": {"description": "a DNS-1123 label"}}
HOST = {
    "type": "string",
    "regex": HOST_RE,
    "maxlength": 253,
    "meta": {"description": "a lower-case FQDN, *.domain or *"},
}
PORT = {"type": "integer", "min": 1, "max": 65535}
DURATION = {"type": "string", "regex": DURATION_RE, "meta": {"description": "a duration such as 500ms, 5s or 1m"}}
LABELS = {
    "type": "dict",
    "keysrules": {
        "type": "string",
        "regex": r"([a-z0-9.-]+/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?",
        "maxlength": 316,
    },
    "valuesrules": {"type": "string", "regex": r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?", "maxlength": 63},
}


def networking_api(spec: Spec) -> str:
    """networking.istio.io/v1 is served from Istio 1.22; older targets get v1beta1."""
    return "networking.istio.io/v1" if version(spec) >= (1, 22) else "networking.istio.io/v1beta1"


def telemetry_api(spec: Spec) -> str:
    return "telemetry.istio.io/v1" if version(spec) >= (1, 22) else "telemetry.istio.io/v1alpha1"


def hosts_on(spec: Spec, gateway: str) -> list[str]:
    """Hosts bound to `gateway`, sorted (one pass over the hosts per spec, not one per gateway)."""
    return list(spec.derived("hosts_by_gateway", _hosts_by_gateway).get(gateway, []))


def _hosts_by_gateway(spec: Spec) -> dict[str, list[str]]:
    index: dict[str, list[str]] = {}
    for host, entry in sorted((spec.get("hosts") or {}).items()):
        index.setdefault(entry.get("gateway"), []).append(host)
    return index


# --- TLS facts shared by the tls, redirect and mtls plugins ---

SECRET_NAME_RE = r"([a-z0-9]([-a-z0-9]*[a-z0-9])?/)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
# the optional `ns/` prefix is accepted by the schema only so that validation can say where the Secret must live
SECRET_NAME = {
    "type": "string",
    "empty": False,
    "regex": SECRET_NAME_RE,
    "maxlength": 253,
    "meta": {"description": "a Secret name (a DNS-1123 subdomain)"},
}


def credential_namespace(spec: Spec, gateway: str) -> str:
    """Where the credentialName Secrets of `gateway` live: the namespace of its workload's pods (§4.4)."""
    return workload_namespace(spec, gateway_workload(spec, gateway))


def foreign_secret_problem(spec: Spec, path: tuple[str | int, ...], value: str, gateway: str) -> Problem | None:
    """A `ns/name` credential reference: Istio denies Secrets outside the gateway pods' namespace (IST0161)."""
    if "/" not in value:
        return None
    home = credential_namespace(spec, gateway)
    return spec.problem(
        path,
        f"secret must be in the gateway workload namespace {home!r}, got {value!r}",
        f"use the plain name {value.split('/', 1)[1]!r}: Istio reads credentials only from the namespace of the "
        f"gateway pods, and gwpipe puts Certificates there",
    )


def tls_secret_groups(spec: Spec) -> dict[tuple[str, str], list[str]]:
    """TLS hosts by the Secret their tls.credentialName names: (namespace, name) -> hosts, sorted."""
    namespaces: dict[str, str] = {}
    groups: dict[tuple[str, str], list[str]] = {}
    for host, entry in sorted((spec.get("hosts") or {}).items()):
        if "tls" not in entry:
            continue
        gateway = entry["gateway"]
        if gateway not in namespaces:
            namespaces[gateway] = credential_namespace(spec, gateway)
        groups.setdefault((namespaces[gateway], entry["tls"]["credentialName"]), []).append(host)
    return groups


def tls_certificates(spec: Spec) -> dict[str, tuple[str, dict[str, Any]]]:
    """Per TLS host whose Secret cert-manager issues: (first sharing host that declares it, its tls.certificate)."""
    hosts = spec.get("hosts") or {}
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    for members in tls_secret_groups(spec).values():
        declared = [(h, hosts[h]["tls"]["certificate"]) for h in members if "certificate" in hosts[h]["tls"]]
        if declared:
            out.update(dict.fromkeys(members, declared[0]))
    return out


# ---- shared by the tcp, logging, gateway_split and pilot_filter plugins ----

IOP_API = "install.istio.io/v1alpha1"
HELMRELEASE_API = "helm.toolkit.fluxcd.io/v2"
CONTROL_PLANE_ROLE = "control-plane"
CONTROL_PLANE_NAME = "control-plane"
HELM_REPOSITORY = {"name": "istio", "namespace": "flux-system"}
HELM_REPOSITORY_SCHEMA = {
    "type": "dict",
    "schema": {"name": {**LABEL, "required": True}, "namespace": LABEL},
}
# Istio reads a Service port's protocol from its name prefix (istioctl validate, IST0118)
PORT_NAME_PROTOCOLS = ("grpc", "grpc-web", "http", "http2", "https", "mongo", "mysql", "redis", "tcp", "tls", "udp")


def chart_version(spec: Spec) -> str:
    """A Helm semver range for the target minor version: charts follow Istio's release numbers."""
    major, minor = version(spec)
    return f"{major}.{minor}.x"


def exposes_port(ports: list[dict[str, Any]], number: int) -> bool:
    """IST0162's rule: some TCP Service port has `number` as its port or its targetPort."""
    return any(
        p.get("protocol", "TCP") == "TCP" and number in (p["port"], p.get("targetPort", p["port"])) for p in ports
    )


def port_name_protocol_ok(name: str) -> bool:
    """The part of a Service port name before the first '-' names a protocol Istio knows."""
    return name in PORT_NAME_PROTOCOLS or name.split("-", 1)[0] in PORT_NAME_PROTOCOLS


def control_plane_request(
    spec: Spec,
    plugin: str,
    *,
    name: str = CONTROL_PLANE_NAME,
    form: str = "istiooperator",
    profile: str = "default",
    repository: dict[str, str] | None = None,
) -> ResourceRequest:
    """A new control-plane request (IstioOperator for istioctl, or a Flux HelmRelease of istiod).

    Several plugins contribute to one control plane: the first creates it, the others find it with
    `find_control_plane` and extend `values["meshConfig"]` or `values["pilotEnv"]`.
    """
    helm = form == "helm"
    return ResourceRequest(
        plugin=plugin,
        template="pilot_filter/helmrelease.yaml.j2" if helm else "pilot_filter/istiooperator.yaml.j2",
        api_version=HELMRELEASE_API if helm else IOP_API,
        kind="HelmRelease" if helm else "IstioOperator",
        name=name,
        namespace=istio_namespace(spec),
        values={
            "role": CONTROL_PLANE_ROLE,
            "profile": profile,
            "revision": None,
            "pilotEnv": {},
            "meshConfig": {},
            "chartVersion": chart_version(spec),
            "repository": {**HELM_REPOSITORY, **(repository or {})},
        },
    )


def find_control_plane(resources: Resources) -> ResourceRequest | None:
    """The control-plane request some plugin already planned, if any."""
    for request in resources:
        if request.values.get("role") == CONTROL_PLANE_ROLE:
            return request
    return None
