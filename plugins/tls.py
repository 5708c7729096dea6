"""TLS termination: one HTTPS server per host on its Gateway (SNI), and cert-manager Certificates for the Secrets."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from gwpipe.errors import PluginError, Problem
from gwpipe.hooks.specs import hookimpl
from gwpipe.istio import CIPHER_SUITES, TLS_VERSIONS
from gwpipe.model import ResourceRequest, Resources
from gwpipe.plugins import _istio as istio

if TYPE_CHECKING:
    from gwpipe.importer.model import ImportClaim, ImportContext
    from gwpipe.spec.load import Spec

NAME = "tls"
ISSUER_TYPE_ANNOTATION = "gwpipe.dev/issuer-type"
DEFAULT_HTTPS_PORT = 443
CERT_MANAGER_API = "cert-manager.io/v1"
ISSUER_TYPES = ("acme", "ca", "selfsigned", "vault", "venafi")
# the HTTP plugins name their servers so; an HTTPS server may not take these names
RESERVED_PORT_NAMES = ("http", "http-redirect")

_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_GO_PART = r"([0-9]+(?:\.[0-9]*)?)(ns|us|µs|ms|s|m|h)"
GO_DURATION = {
    "type": "string",
    "regex": f"({_GO_PART})+",
    "meta": {"description": "a Go duration such as 2160h or 1h30m"},
}
# cert-manager's webhook limits (Certificate validation)
MIN_DURATION = 3600.0
MIN_RENEW_BEFORE = 300.0
DEFAULT_DURATION = 90 * 24 * 3600.0

_SUBDOMAIN = {
    "type": "string",
    "regex": r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*",
    "maxlength": 253,
    "meta": {"description": "a DNS-1123 subdomain"},
}
_CERTIFICATE = {
    "type": "dict",
    "schema": {
        "issuerRef": {
            "type": "dict",
            "required": True,
            "schema": {
                "name": {**_SUBDOMAIN, "required": True},
                "kind": {
                    "type": "string",
                    "regex": r"[A-Z][A-Za-z0-9]*",
                    "meta": {"description": "an issuer kind such as Issuer or ClusterIssuer"},
                },
                "group": _SUBDOMAIN,
            },
        },
        "issuerType": {"type": "string", "required": True, "allowed": list(ISSUER_TYPES)},
        "duration": GO_DURATION,
        "renewBefore": GO_DURATION,
    },
}
_TLS = {
    "type": "dict",
    "schema": {
        "credentialName": {**istio.SECRET_NAME, "required": True},
        "serverName": istio.LABEL,
        "minProtocolVersion": {"type": "string", "allowed": list(TLS_VERSIONS)},
        "maxProtocolVersion": {"type": "string", "allowed": list(TLS_VERSIONS)},
        "cipherSuites": {"type": "list", "minlength": 1, "schema": {"type": "string", "allowed": list(CIPHER_SUITES)}},
        "certificate": _CERTIFICATE,
    },
}


@hookimpl
def gwpipe_spec_schema() -> dict[str, dict[str, Any]]:
    return {"gateways.*": {"httpsPort": istio.PORT}, "hosts.*": {"tls": _TLS}}


def go_seconds(text: str) -> float:
    """Seconds in a Go duration string (already matched by GO_DURATION)."""
    return sum(float(n) * _GO_UNITS[unit] for n, unit in re.findall(_GO_PART, text))


def first_label(host: str) -> str:
    """The first DNS label of a host; a wildcard label is spelt `wildcard` so it fits a port name."""
    label = host.split(".", 1)[0]
    return "wildcard" if label == "*" else label


def server_names(spec: Spec, gateway: str) -> dict[str, str]:
    """HTTPS port name per TLS host of `gateway`: `https` alone, `https-<first label>` among several, or serverName."""
    hosts = spec.get("hosts") or {}
    tls_hosts = [h for h in istio.hosts_on(spec, gateway) if "tls" in hosts[h]]
    default = {h: "https" if len(tls_hosts) == 1 else f"https-{first_label(h)}" for h in tls_hosts}
    return {h: str(hosts[h]["tls"].get("serverName") or default[h]) for h in tls_hosts}


def https_port(spec: Spec, gateway: str) -> int:
    return int((spec.get("gateways") or {})[gateway].get("httpsPort", DEFAULT_HTTPS_PORT))


@hookimpl
def gwpipe_validate_spec(spec: Spec) -> list[Problem]:
    problems: list[Problem] = []
    hosts = spec.get("hosts") or {}
    gateways = spec.get("gateways") or {}
    for host, entry in sorted(hosts.items()):
        if "tls" in entry and entry["gateway"] in gateways:
            problems.extend(_host_problems(spec, host, entry))
    for gateway in sorted(gateways):
        problems.extend(_port_problems(spec, gateway))
    problems.extend(_certificate_agreement(spec))
    return problems


def _host_problems(spec: Spec, host: str, entry: dict[str, Any]) -> list[Problem]:
    tls = entry["tls"]
    at = ("hosts", host, "tls")
    problems = []
    foreign = istio.foreign_secret_problem(spec, (*at, "credentialName"), tls["credentialName"], entry["gateway"])
    if foreign:
        problems.append(foreign)
    low, high = tls.get("minProtocolVersion", "TLS_AUTO"), tls.get("maxProtocolVersion", "TLS_AUTO")
    if "TLS_AUTO" not in (low, high) and TLS_VERSIONS.index(high) < TLS_VERSIONS.index(low):
        problems.append(
            spec.problem((*at, "maxProtocolVersion"), f"must not be below minProtocolVersion {low!r}, got {high!r}")
        )
    suites = tls.get("cipherSuites", [])
    for i, suite in enumerate(suites):
        if suite in suites[:i]:
            problems.append(spec.problem((*at, "cipherSuites", i), f"duplicate cipher suite, got {suite!r}"))
    certificate = tls.get("certificate")
    if certificate is not None:
        if host == "*":
            problems.append(
                spec.problem(
                    (*at, "certificate"),
                    "no certificate can name host '*'",
                    "bind the host to a domain such as *.example.com",
                )
            )
        problems.extend(_duration_problems(spec, (*at, "certificate"), certificate))
    return problems


def _duration_problems(spec: Spec, at: tuple[str, ...], certificate: dict[str, Any]) -> list[Problem]:
    problems = []
    duration = go_seconds(certificate["duration"]) if "duration" in certificate else DEFAULT_DURATION
    if "duration" in certificate and duration < MIN_DURATION:
        problems.append(
            spec.problem(
                (*at, "duration"), f"must be at least 1h (cert-manager's minimum), got {certificate['duration']!r}"
            )
        )
    if "renewBefore" in certificate:
        renew = go_seconds(certificate["renewBefore"])
        if renew < MIN_RENEW_BEFORE:
            problems.append(
                spec.problem(
                    (*at, "renewBefore"),
                    f"must be at least 5m (cert-manager's minimum), got {certificate['renewBefore']!r}",
                )
            )
        elif renew >= duration:
            shown = certificate.get("duration", "2160h (the default)")
            problems.append(
                spec.problem(
                    (*at, "renewBefore"), f"must be shorter than duration {shown}, got {certificate['renewBefore']!r}"
                )
            )
    return problems


def _port_problems(spec: Spec, gateway: str) -> list[Problem]:
    hosts = spec.get("hosts") or {}
    names = server_names(spec, gateway)
    problems = []
    owner: dict[str, str] = {}
    for host, name in sorted(names.items()):
        at: tuple[str, ...] = (
            ("hosts", host, "tls", "serverName") if "serverName" in hosts[host]["tls"] else ("hosts", host, "tls")
        )
        if name in RESERVED_PORT_NAMES:
            problems.append(
                spec.problem(
                    at,
                    f"port name {name!r} is reserved for the Gateway's HTTP servers",
                    "choose another tls.serverName",
                )
            )
        elif name in owner:
            problems.append(
                spec.problem(
                    at,
                    f"HTTPS port name {name!r} is already used by host {owner[name]!r} on Gateway {gateway!r}",
                    "port names must be unique within a Gateway; set tls.serverName on one of these hosts",
                )
            )
        owner.setdefault(name, host)
    gateway_entry = (spec.get("gateways") or {})[gateway]
    plain = any(hosts[h].get("http", True) for h in istio.hosts_on(spec, gateway))
    if names and plain and https_port(spec, gateway) == gateway_entry.get("httpPort", 80):
        where = (
            ("gateways", gateway, "httpsPort") if "httpsPort" in gateway_entry else ("gateways", gateway, "httpPort")
        )
        problems.append(spec.problem(where, f"HTTP and HTTPS servers cannot share port {https_port(spec, gateway)}"))
    return problems


def _certificate_agreement(spec: Spec) -> list[Problem]:
    """Hosts sharing a Secret get one Certificate, so every host that declares it must declare the same one."""
    hosts = spec.get("hosts") or {}
    problems = []
    for host, (other, reference) in sorted(istio.tls_certificates(spec).items()):
        tls = hosts[host]["tls"]
        if other == host or "certificate" not in tls:
            continue
        for key in ("issuerRef", "issuerType", "duration", "renewBefore"):
            if _issuer_ref(tls["certificate"].get(key), key) != _issuer_ref(reference.get(key), key):
                problems.append(
                    spec.problem(
                        ("hosts", host, "tls", "certificate", key),
                        f"differs from host {other!r}, which shares credentialName {tls['credentialName']!r}",
                        "one Certificate is made per Secret; declare the same certificate on every host that shares it",
                    )
                )
    return problems


def _issuer_ref(value: Any, key: str) -> Any:
    """An issuerRef with cert-manager's defaults filled in, so `kind: Issuer` equals no kind at all."""
    if key != "issuerRef" or value is None:
        return value
    return {"name": value["name"], "kind": value.get("kind", "Issuer"), "group": value.get("group", "cert-manager.io")}


@hookimpl
def gwpipe_resources(spec: Spec) -> list[ResourceRequest]:
    """One Certificate per Secret that some host asks cert-manager for, in the gateway workload's namespace."""
    issued = istio.tls_certificates(spec)
    requests = []
    for (namespace, secret), members in sorted(istio.tls_secret_groups(spec).items()):
        if members[0] not in issued:
            continue
        certificate = issued[members[0]][1]
        requests.append(
            ResourceRequest(
                plugin=NAME,
                template="tls/certificate.yaml.j2",
                api_version=CERT_MANAGER_API,
                kind="Certificate",
                name=secret,
                namespace=namespace,
                values={
                    "secret_name": secret,
                    "dns_names": members,
                    "issuer_ref": _issuer_ref(certificate["issuerRef"], "issuerRef"),
                    "duration": certificate.get("duration"),
                    "renew_before": certificate.get("renewBefore"),
                    # the issuer object lives outside the GitOps tree; checks read its type from here
                    "annotations": {ISSUER_TYPE_ANNOTATION: certificate["issuerType"]},
                },
                content={
                    "secret_name": "spec.secretName",
                    "dns_names": "spec.dnsNames",
                    "issuer_ref": "spec.issuerRef",
                    "duration": "spec.duration",
                    "renew_before": "spec.renewBefore",
                },
            )
        )
    return requests


def server_tls(tls: dict[str, Any]) -> dict[str, Any]:
    """Istio ServerTLSSettings for a SIMPLE server; the mtls plugin may change mode and credentialName later."""
    out: dict[str, Any] = {"mode": "SIMPLE", "credentialName": tls["credentialName"]}
    for key in ("minProtocolVersion", "maxProtocolVersion", "cipherSuites"):
        if key in tls:
            out[key] = list(tls[key]) if key == "cipherSuites" else tls[key]
    return out


@hookimpl
def gwpipe_modify_resources(spec: Spec, resources: Resources) -> None:
    """Append an HTTPS server per TLS host to its Gateway, after the HTTP servers, sorted by host."""
    hosts = spec.get("hosts") or {}
    for gateway in sorted(spec.get("gateways") or {}):
        names = server_names(spec, gateway)
        if not names:
            continue
        request = gateway_request(spec, resources, gateway, NAME)
        for host in sorted(names):
            port = {"number": https_port(spec, gateway), "name": names[host], "protocol": "HTTPS"}
            request.values["servers"].append({"port": port, "hosts": [host], "tls": server_tls(hosts[host]["tls"])})
        request.touch(NAME)


def gateway_request(spec: Spec, resources: Resources, gateway: str, plugin: str) -> ResourceRequest:
    """The Gateway request the http plugin made for `gateway`; its absence is a plugin error naming `plugin`."""
    namespace = istio.gateway_namespace(spec, gateway)
    request = resources.get("Gateway", gateway, namespace)
    if request is None:
        raise PluginError(
            Problem(
                f"plugin {plugin!r}: gwpipe_modify_resources", f"no Gateway {namespace}/{gateway} in the plan to change"
            )
        )
    return request


@hookimpl
def gwpipe_import(context: ImportContext) -> list[ImportClaim]:
    if context.leftovers:
        return []
    from gwpipe.plugins.importers import tls as importer  # only `gwpipe import` needs it

    return importer.claims(context)
