"""What the cluster will hold: gateway pods, Services and Secrets, from manifests plus a declared inventory."""

from __future__ import annotations

import base64
import binascii
import datetime
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gwpipe.checks.analysis.hosts import to_fqdn
from gwpipe.checks.analysis.manifests import ManifestSet
from gwpipe.checks.analysis.selectors import PodIndex, as_labels

INVENTORY_KINDS = ("Pod", "Service", "Secret", "Workload")
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet")
DEFAULT_GATEWAY_LABELS = {"app": "istio-ingressgateway", "istio": "ingressgateway"}
DEFAULT_EGRESS_LABELS = {"app": "istio-egressgateway", "istio": "egressgateway"}
DEFAULT_GATEWAY_PORTS = (
    {"name": "status-port", "port": 15021, "targetPort": 15021},
    {"name": "http2", "port": 80, "targetPort": 8080},
    {"name": "https", "port": 443, "targetPort": 8443},
)
# profiles whose ingress gateway is on unless a component turns it off
_INGRESS_PROFILES = {"default", "demo", "preview"}
_CA_ISSUER_TYPES = ("ca", "selfSigned", "vault")
# the same issuers as a spec names them (hosts.*.tls.certificate.issuerType)
ISSUER_TYPE_ANNOTATION = "gwpipe.dev/issuer-type"
_CA_ISSUER_TYPE_NAMES = ("ca", "selfsigned", "vault")
# the keys cert-manager writes into a Certificate's Secret, without and with the issuer's CA
_CERT_KEYS = frozenset({"tls.crt", "tls.key"})
_CERT_KEYS_WITH_CA = frozenset({"tls.crt", "tls.key", "ca.crt"})


@dataclass(frozen=True)
class ServicePort:
    port: int
    target_port: int  # 0 when absent or named
    protocol: str  # the API server defaults a missing protocol to TCP
    name: str = ""


@dataclass
class Service:
    namespace: str
    name: str
    selector: dict[str, str] | None
    ports: list[ServicePort]
    export_to: list[str] = field(default_factory=lambda: ["*"])
    origin: str = ""
    declared: bool = False  # an inventory Service, or a Service manifest when manifests describe the cluster


@dataclass
class Secret:
    """A Secret's name, its data keys, and when known its first certificate's validity window."""

    namespace: str
    name: str
    keys: frozenset[str]
    data: dict[str, bytes] | None = None
    not_before: datetime.datetime | None = None
    not_after: datetime.datetime | None = None
    origin: str = ""


@dataclass
class Cluster:
    pods: PodIndex
    services: list[Service]
    secrets: dict[tuple[str, str], Secret]
    pod_origins: list[str] = field(default_factory=list)

    def services_in(self, namespace: str) -> list[Service]:
        return self._by_ns.get(namespace, [])

    def __post_init__(self) -> None:
        self._by_ns: dict[str, list[Service]] = {}
        for s in self.services:
            self._by_ns.setdefault(s.namespace, []).append(s)
        self.service_fqdns: dict[str, Service] = {to_fqdn(s.namespace, s.name): s for s in self.services}


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _ports(raw: Any) -> list[ServicePort]:
    out = []
    for p in raw if isinstance(raw, list) else []:
        if isinstance(p, dict) and _int(p.get("port")):
            protocol = p.get("protocol") or "TCP"
            out.append(ServicePort(_int(p["port"]), _int(p.get("targetPort")), str(protocol), str(p.get("name") or "")))
    return out


def _export_to(annotations: Mapping[str, Any]) -> list[str]:
    raw = annotations.get("networking.istio.io/exportTo")
    if not isinstance(raw, str) or not raw.strip():
        return ["*"]
    return [e.strip() for e in raw.split(",") if e.strip()]


def _decode(value: Any) -> bytes | None:
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value, validate=False)
    except (binascii.Error, ValueError):
        return None


def _timestamp(value: Any) -> datetime.datetime | None:
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)
    if isinstance(value, datetime.date):
        return datetime.datetime(value.year, value.month, value.day, tzinfo=datetime.UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)
    return None


def _gateway_components(io: Any) -> list[tuple[str, str, dict[str, str], list[ServicePort]]]:
    """(name, namespace, pod labels, Service ports) of every enabled gateway an IstioOperator installs."""
    spec = io.spec
    components = spec.get("components") if isinstance(spec.get("components"), dict) else {}
    assert isinstance(components, dict)
    default_ns = str(spec.get("namespace") or "istio-system")
    out = []
    listed: set[str] = set()
    for key, defaults in (("ingressGateways", DEFAULT_GATEWAY_LABELS), ("egressGateways", DEFAULT_EGRESS_LABELS)):
        for comp in components.get(key) or []:
            if not isinstance(comp, dict) or not comp.get("name"):
                continue
            listed.add(str(comp["name"]))
            if comp.get("enabled") is False:
                continue
            k8s = comp.get("k8s") if isinstance(comp.get("k8s"), dict) else {}
            assert isinstance(k8s, dict)
            service = k8s.get("service") if isinstance(k8s.get("service"), dict) else {}
            assert isinstance(service, dict)
            labels = as_labels(comp.get("label")) or dict(defaults)
            ports = _ports(service.get("ports")) or _ports(list(DEFAULT_GATEWAY_PORTS))
            out.append((str(comp["name"]), str(comp.get("namespace") or default_ns), labels, ports))
    if str(spec.get("profile") or "default") in _INGRESS_PROFILES and "istio-ingressgateway" not in listed:
        out.append(
            ("istio-ingressgateway", default_ns, dict(DEFAULT_GATEWAY_LABELS), _ports(list(DEFAULT_GATEWAY_PORTS)))
        )
    return out


def _issuer_provides_ca(manifests: ManifestSet, certificate: Any) -> bool:
    """cert-manager fills ca.crt only for CA, self-signed and Vault issuers; unknown issuers count as no.

    The issuer is looked up in the set; one that lives outside it is known by the issuer type the
    spec declared, which gwpipe's tls plugin records in the annotation `gwpipe.dev/issuer-type`.
    """
    ref = certificate.spec.get("issuerRef")
    if not isinstance(ref, dict) or not ref.get("name"):
        return False
    kind = str(ref.get("kind") or "Issuer")
    issuer = manifests.get(kind, "" if kind == "ClusterIssuer" else certificate.namespace, str(ref["name"]))
    if issuer is not None:
        return any(t in issuer.spec for t in _CA_ISSUER_TYPES)
    return certificate.annotations.get(ISSUER_TYPE_ANNOTATION) in _CA_ISSUER_TYPE_NAMES


def build_cluster(manifests: ManifestSet, inventory: list[dict[str, Any]], services_declared: bool = True) -> Cluster:
    """Pods, Services and Secrets the rendered set and the inventory say will exist."""
    pods: list[tuple[str, dict[str, str]]] = []
    origins: list[str] = []
    services: list[Service] = []
    secrets: dict[tuple[str, str], Secret] = {}

    def pod(ns: str, labels: dict[str, str], origin: str) -> None:
        pods.append((ns, labels))
        origins.append(origin)

    for m in manifests.of("Pod"):
        pod(m.namespace, as_labels(m.metadata.get("labels")), m.ref)
    for kind in WORKLOAD_KINDS:
        for m in manifests.of(kind):
            template = m.spec.get("template") if isinstance(m.spec.get("template"), dict) else {}
            assert isinstance(template, dict)
            meta = template.get("metadata") if isinstance(template.get("metadata"), dict) else {}
            assert isinstance(meta, dict)
            pod(m.namespace, as_labels(meta.get("labels")), m.ref)
    for m in manifests.of("IstioOperator"):
        for name, ns, labels, ports in _gateway_components(m):
            pod(ns, labels, f"{m.ref} component {name}")
            services.append(Service(ns, name, labels, ports, origin=f"{m.ref} component {name}"))
    for m in manifests.of("Service"):
        sel = m.spec.get("selector")
        services.append(
            Service(
                m.namespace,
                m.name,
                as_labels(sel) if isinstance(sel, dict) else None,
                _ports(m.spec.get("ports")),
                _export_to(m.annotations),
                m.ref,
                services_declared,
            )
        )
    for m in manifests.of("Secret"):
        data: dict[str, bytes] = {}
        for key, value in (m.obj.get("data") or {}).items() if isinstance(m.obj.get("data"), dict) else []:
            decoded = _decode(value)
            if decoded is not None:
                data[str(key)] = decoded
        for key, value in (m.obj.get("stringData") or {}).items() if isinstance(m.obj.get("stringData"), dict) else []:
            data[str(key)] = str(value).encode()
        secrets[(m.namespace, m.name)] = Secret(m.namespace, m.name, frozenset(data), data, origin=m.ref)
    for m in manifests.of("Certificate"):
        secret_name = m.spec.get("secretName")
        if isinstance(secret_name, str) and secret_name and (m.namespace, secret_name) not in secrets:
            cert_keys = _CERT_KEYS_WITH_CA if _issuer_provides_ca(manifests, m) else _CERT_KEYS
            secrets[(m.namespace, secret_name)] = Secret(m.namespace, secret_name, cert_keys, origin=m.ref)
    for entry in inventory:
        kind, ns, name = entry["kind"], entry["namespace"], entry["name"]
        origin = str(entry.get("origin") or f"inventory {kind} {ns}/{name}")
        labels = as_labels(entry.get("labels"))
        if kind in ("Pod", "Workload"):
            pod(ns, labels, origin)
        if kind in ("Service", "Workload"):
            sel = entry.get("selector", labels if kind == "Workload" else None)
            services.append(
                Service(
                    ns,
                    name,
                    as_labels(sel) if isinstance(sel, dict) else None,
                    _ports(entry.get("ports")),
                    list(entry.get("exportTo") or ["*"]),
                    origin,
                    kind == "Service",
                )
            )
        if kind == "Secret":
            keys = frozenset(str(k) for k in entry.get("keys") or ("tls.crt", "tls.key"))
            secrets.setdefault(
                (ns, name),
                Secret(
                    ns, name, keys, None, _timestamp(entry.get("notBefore")), _timestamp(entry.get("notAfter")), origin
                ),
            )
    return Cluster(PodIndex(pods), services, secrets, origins)


def workload_inventory(workloads: Mapping[str, Mapping[str, Any]], default_namespace: str) -> list[dict[str, Any]]:
    """The http plugin's `workloads` as inventory: pods with those labels plus a Service with those ports."""
    return [
        {
            "kind": "Workload",
            "name": name,
            "namespace": str(w.get("namespace") or default_namespace),
            "labels": dict(w.get("labels") or {}),
            "ports": list(w.get("ports") or []),
        }
        for name, w in sorted(workloads.items())
    ]


def check_inventory(entries: Any, where: Callable[[tuple[str | int, ...]], str]) -> list[str]:
    """Problems (as `where: what`) with inventory entries read from a file; [] when usable."""
    problems = []
    if not isinstance(entries, list):
        return [f"{where(())}: expected a list of entries"]
    for i, e in enumerate(entries):
        if not isinstance(e, dict):
            problems.append(f"{where((i,))}: expected a mapping")
            continue
        if e.get("kind") not in INVENTORY_KINDS:
            problems.append(
                f"{where((i, 'kind'))}: unsupported value, got {e.get('kind')!r}; allowed: {', '.join(INVENTORY_KINDS)}"
            )
        for key in ("namespace", "name"):
            if not isinstance(e.get(key), str) or not e.get(key):
                problems.append(f"{where((i, key))}: required field missing")
        for key in ("labels", "selector"):
            if key in e and not isinstance(e[key], dict):
                problems.append(f"{where((i, key))}: expected mapping")
        for key in ("ports", "keys", "exportTo"):
            if key in e and not isinstance(e[key], list):
                problems.append(f"{where((i, key))}: expected list")
    return problems
