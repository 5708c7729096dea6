"""What credentials and cert-manager Certificates an environment expects, read from its rendered objects."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gwpipe import istio
from gwpipe.certs.coverage import bare_host, uncovered
from gwpipe.model import RenderedObject

CERTIFICATE_MODES = ("SIMPLE", "MUTUAL", "OPTIONAL_MUTUAL")
MUTUAL_MODES = ("MUTUAL", "OPTIONAL_MUTUAL")
CA_SOURCES = ("credential", "cacert-secret")
# a Secret name: a DNS-1123 subdomain; also what keeps `certs dev` folder names inside --out
SECRET_NAME_RE = re.compile(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?")


@dataclass(frozen=True)
class Workload:
    """Gateway pods: where they run and the labels a Gateway selector matches."""

    name: str
    namespace: str
    labels: Mapping[str, str]


@dataclass(frozen=True)
class ExpectedCertificate:
    """A cert-manager Certificate the environment renders."""

    name: str
    namespace: str
    secret_name: str
    dns_names: tuple[str, ...]
    issuer: str  # `Kind/name`, Kind defaulting to Issuer as cert-manager does

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass
class Credential:
    """One `credentialName` Secret the gateway pods read, in their own namespace."""

    name: str
    namespace: str
    mode: str
    hosts: list[str] = field(default_factory=list)
    gateways: list[str] = field(default_factory=list)
    ca_source: str | None = None  # None: Istio's order, `<name>-cacert` first, then the Secret itself
    certificate: ExpectedCertificate | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def mutual(self) -> bool:
        return self.mode in MUTUAL_MODES


def issuer_ref(ref: Mapping[str, Any] | None) -> str:
    ref = ref or {}
    return f"{ref.get('kind') or 'Issuer'}/{ref.get('name', '')}"


def selected_namespaces(selector: Mapping[str, str], workloads: Iterable[Workload]) -> list[str]:
    """Namespaces of the workloads whose labels satisfy `selector` (an empty selector selects nothing here)."""
    if not selector:
        return []
    return sorted({w.namespace for w in workloads if all(w.labels.get(k) == v for k, v in selector.items())})


def rendered_workloads(objects: Iterable[RenderedObject]) -> list[Workload]:
    """Gateway pods the environment itself deploys: Deployments' pod template labels."""
    found = []
    for o in objects:
        if o.obj.get("kind") != "Deployment":
            continue
        labels = (((o.obj.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {}
        found.append(Workload(o.request.name, o.request.namespace or "default", dict(labels)))
    return found


def expected_credentials(
    objects: Iterable[RenderedObject],
    workloads: Iterable[Workload],
    ca_sources: Mapping[str, str] | None = None,
    fallback_namespace: Mapping[str, str] | None = None,
) -> list[Credential]:
    """Every credential the rendered Gateways reference, with the Certificate that issues it, sorted.

    A Secret must sit in the namespace of the pods a Gateway selects (Istio reads it from there), so
    each credential is expected once per such namespace. `fallback_namespace` maps a Gateway
    (`ns/name`) to its workload namespace when no known workload matches its selector.
    `ca_sources` maps a credential name to where its client CA lives (`credential` or `cacert-secret`).
    """
    objects = list(objects)
    workloads = list(workloads) + rendered_workloads(objects)
    credentials: dict[tuple[str, str], Credential] = {}
    for o in objects:
        if o.obj.get("kind") != "Gateway":
            continue
        gateway = f"{o.request.namespace}/{o.request.name}"
        spec = o.obj.get("spec") or {}
        namespaces = selected_namespaces(spec.get("selector") or {}, workloads)
        if not namespaces and fallback_namespace and gateway in fallback_namespace:
            namespaces = [fallback_namespace[gateway]]
        for server in spec.get("servers") or []:
            tls = server.get("tls") or {}
            mode = str(tls.get("mode", "SIMPLE"))
            names = [tls["credentialName"]] if tls.get("credentialName") else list(tls.get("credentialNames") or [])
            if mode not in CERTIFICATE_MODES or not names:
                continue
            for raw in names:
                for namespace in namespaces:
                    _add(credentials, str(raw), namespace, mode, server.get("hosts") or [], gateway, ca_sources or {})
    result = sorted(credentials.values(), key=lambda c: (c.namespace, c.name))
    _attach_certificates(result, expected_certificates(objects))
    return result


def _add(
    found: dict[tuple[str, str], Credential],
    raw: str,
    namespace: str,
    mode: str,
    hosts: list[str],
    gateway: str,
    ca_sources: Mapping[str, str],
) -> None:
    prefix, _, name = raw.rpartition("/")
    credential = found.get((namespace, name))
    if credential is None:
        credential = found[(namespace, name)] = Credential(name, namespace, mode, ca_source=ca_sources.get(name))
    if prefix and prefix != namespace:
        credential.problems.append(
            f"credentialName {raw!r} of Gateway {gateway} points outside the gateway workload namespace "
            f"{namespace!r}; istio refuses cross-namespace credentials"
        )
    if mode in MUTUAL_MODES and credential.mode not in MUTUAL_MODES:
        credential.mode = mode
    credential.hosts = sorted(set(credential.hosts) | {bare_host(h) for h in hosts})
    credential.gateways = sorted({*credential.gateways, gateway})
    if not SECRET_NAME_RE.fullmatch(name) or len(name) > 253:
        credential.problems.append(f"credentialName {raw!r} of Gateway {gateway} is not a valid Secret name")


def expected_certificates(objects: Iterable[RenderedObject]) -> list[ExpectedCertificate]:
    """The cert-manager Certificates among the rendered objects."""
    found = []
    for o in objects:
        if o.obj.get("kind") != "Certificate" or not str(o.obj.get("apiVersion", "")).startswith("cert-manager.io/"):
            continue
        spec = o.obj.get("spec") or {}
        found.append(
            ExpectedCertificate(
                o.request.name,
                o.request.namespace or "default",
                str(spec.get("secretName", "")),
                tuple(str(n) for n in spec.get("dnsNames") or []),
                issuer_ref(spec.get("issuerRef")),
            )
        )
    return sorted(found, key=lambda c: (c.namespace, c.name))


def _attach_certificates(credentials: list[Credential], certificates: list[ExpectedCertificate]) -> None:
    by_secret = {(c.namespace, c.secret_name): c for c in certificates}
    for credential in credentials:
        cert = by_secret.get((credential.namespace, credential.name))
        if cert is None:
            elsewhere = [c for c in certificates if c.secret_name == credential.name]
            for other in elsewhere:
                credential.problems.append(
                    f"Certificate {other.ref} issues Secret {other.secret_name!r} into namespace {other.namespace!r}, "
                    f"but the gateway workload reads it from {credential.namespace!r}"
                )
            continue
        credential.certificate = cert
        missing = uncovered(cert.dns_names, credential.hosts)
        if missing:
            credential.problems.append(
                f"rendered Certificate {cert.ref} dnsNames do not cover host(s) {', '.join(missing)}"
            )


def expected_from_bundle(bundle: Any) -> list[Credential]:
    """The credentials a built environment (`gwpipe.engine.Bundle`) expects, using its spec's workloads."""
    spec = bundle.spec
    workloads = [
        Workload(name, istio.workload_namespace(spec, name), dict(entry.get("labels") or {}))
        for name, entry in istio.workloads(spec).items()
    ]
    fallback = {
        f"{istio.gateway_namespace(spec, gw)}/{gw}": istio.workload_namespace(spec, istio.gateway_workload(spec, gw))
        for gw in spec.get("gateways") or {}
    }
    return expected_credentials(bundle.objects, workloads, spec_ca_sources(spec.get("hosts") or {}), fallback)


def spec_ca_sources(hosts: Mapping[str, Any]) -> dict[str, str]:
    """credentialName -> caSource for the spec's MUTUAL hosts that say where their client CA lives."""
    found: dict[str, str] = {}
    for entry in hosts.values():
        mtls = entry.get("mtls") if isinstance(entry, Mapping) else None
        if not isinstance(mtls, Mapping) or mtls.get("caSource") not in CA_SOURCES:
            continue
        name = mtls.get("credentialName") or (entry.get("tls") or {}).get("credentialName")
        if name:
            found[str(name)] = str(mtls["caSource"])
    return found
