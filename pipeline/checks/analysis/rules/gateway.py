"""Gateway admission rules G1-G15, TLS options T1-T8 and server host rules H1-H6."""

from __future__ import annotations

import ipaddress
from typing import Any

from gwpipe.checks.analysis.context import Reporter
from gwpipe.checks.analysis.hosts import domain_problem, is_dns_label, is_ip
from gwpipe.checks.analysis.manifests import Manifest, Path_
from gwpipe.istio import CIPHER_SUITES

PROTOCOLS = {"TCP", "UDP", "GRPC", "GRPC-WEB", "HTTP", "HTTP_PROXY", "HTTP2", "HTTPS", "TLS", "MONGO", "REDIS", "MYSQL"}
HTTP_FAMILY = {"HTTP", "HTTP2", "HTTP_PROXY", "GRPC", "GRPC-WEB"}
TLS_PROTOCOLS = {"HTTPS", "TLS"}
CERT_FIELDS = (
    "serverCertificate",
    "privateKey",
    "caCertificates",
    "tlsCertificates",
    "credentialName",
    "credentialNames",
)


def check_gateway(ctx: Reporter, m: Manifest) -> None:
    name = m.name
    if not (is_dns_label(name)):
        ctx.rule(
            m,
            "G1",
            f"invalid gateway name {name!r}: must be a DNS-1123 label (no dots, at most 63 characters)",
            ("metadata", "name"),
        )
    servers = m.spec.get("servers")
    if not isinstance(servers, list) or not servers:
        ctx.rule(m, "G2", "gateway must have at least one server", ("spec",))
        return
    seen_names: dict[str, int] = {}
    for i, server in enumerate(servers):
        path: Path_ = ("spec", "servers", i)
        if not isinstance(server, dict):
            ctx.rule(m, "G2", f"server {i} is null", path)
            continue
        port = server.get("port")
        port_name = port.get("name") if isinstance(port, dict) else None
        if isinstance(port_name, str) and port_name:
            if port_name in seen_names:
                ctx.rule(
                    m,
                    "G3",
                    f"port names in servers must be unique: duplicate name {port_name!r}",
                    (*path, "port", "name"),
                )
            seen_names.setdefault(port_name, i)
        _check_server(ctx, m, server, path)


def _protocol(server: dict[str, Any]) -> str:
    port = server.get("port")
    return str(port.get("protocol") or "").upper() if isinstance(port, dict) else ""


def _check_server(ctx: Reporter, m: Manifest, server: dict[str, Any], path: Path_) -> None:
    hosts = server.get("hosts")
    if not isinstance(hosts, list) or not hosts:
        ctx.rule(m, "G5", "server config must contain at least one host", path)
    else:
        for j, host in enumerate(hosts):
            _check_host(ctx, m, str(host), (*path, "hosts", j))
    port = server.get("port")
    if not isinstance(port, dict):
        ctx.rule(m, "G7", "port is required", path)
    else:
        _check_port(ctx, m, port, server.get("bind"), (*path, "port"))
    _check_bind(ctx, m, server, path)
    protocol = _protocol(server)
    tls = server.get("tls")
    if isinstance(tls, dict) and tls.get("httpsRedirect") is True and protocol and protocol not in HTTP_FAMILY:
        ctx.rule(
            m,
            "G4",
            "tls.httpsRedirect should only be used with http servers",
            (*path, "tls", "httpsRedirect"),
            warning=True,
        )
    if protocol in TLS_PROTOCOLS and not isinstance(tls, dict):
        ctx.rule(m, "G13", "server must have TLS settings for HTTPS/TLS protocols", path)
    elif isinstance(tls, dict) and protocol in HTTP_FAMILY:
        mode = str(tls.get("mode") or "PASSTHROUGH")
        certs = any(tls.get(k) for k in ("caCertificates", "privateKey", "serverCertificate"))
        if mode not in ("PASSTHROUGH", "AUTO_PASSTHROUGH") or certs:
            ctx.rule(m, "G14", "server cannot have TLS settings for plain text HTTP ports", (*path, "tls"))
    elif isinstance(tls, dict) and protocol and protocol not in TLS_PROTOCOLS and protocol in PROTOCOLS:
        ctx.rule(m, "G15", "server cannot have TLS settings for non HTTPS/TLS ports", (*path, "tls"))
    if isinstance(tls, dict):
        check_tls_options(ctx, m, tls, (*path, "tls"))


def _check_port(ctx: Reporter, m: Manifest, port: dict[str, Any], bind: Any, path: Path_) -> None:
    protocol = port.get("protocol")
    if not isinstance(protocol, str) or protocol.upper() not in PROTOCOLS:
        ctx.rule(
            m, "G8", f"invalid protocol {protocol!r}; allowed: {', '.join(sorted(PROTOCOLS))}", (*path, "protocol")
        )
    number = port.get("number", 0)  # absent is 0 to Istio's protobuf: valid only with a unix:// bind
    unix = isinstance(bind, str) and bind.startswith("unix://")
    valid = (
        isinstance(number, int) and not isinstance(number, bool) and (1 <= number <= 65535 or (unix and number == 0))
    )
    if not valid:
        ctx.rule(m, "G9", f"port number {number!r} must be in the range 1..65535", (*path, "number"))
    target = port.get("targetPort")
    if isinstance(target, int) and not isinstance(target, bool) and target > 0:
        ctx.rule(m, "G10", "targetPort has no impact on Gateways", (*path, "targetPort"))
    if not port.get("name"):
        ctx.rule(m, "G11", "port name must be set", path)


def _check_bind(ctx: Reporter, m: Manifest, server: dict[str, Any], path: Path_) -> None:
    bind = server.get("bind")
    if bind is None or bind == "":
        return
    port = server.get("port")
    number = port.get("number", 0) if isinstance(port, dict) else 0
    text = str(bind)
    if text.startswith("unix://"):
        sock = text[len("unix://") :]
        if not (sock.startswith(("/", "@")) and len(sock) > 1 and not sock.endswith("/")):
            ctx.rule(m, "G12", f"invalid unix domain socket bind {text!r}", (*path, "bind"))
        elif number != 0:
            ctx.rule(m, "G12", f"port number must be 0 for unix domain socket bind {text!r}", (*path, "bind"))
        return
    try:
        ipaddress.ip_address(text)
    except ValueError:
        ctx.rule(m, "G12", f"bind {text!r} is not a valid IP address or unix:// socket", (*path, "bind"))


def _check_host(ctx: Reporter, m: Manifest, host: str, path: Path_) -> None:
    ns, name = ("", host)
    if "/" in host:
        ns, name = host.split("/", 1)
        if not ns or not name:
            ctx.rule(m, "H1", f"host {host!r}: namespace and host must both be set in the ns/host form", path)
            return
        if ns not in ("*", ".") and not is_dns_label(ns):
            ctx.rule(m, "H2", f"host {host!r}: namespace {ns!r} must be *, . or a DNS-1123 label", path)
    if name == "*":
        return
    if "*" in name and not (name.startswith("*.") and "*" not in name[1:]):
        ctx.rule(m, "H5", f"host {host!r}: partial wildcards are not allowed", path)
        return
    if "." not in name:
        ctx.rule(m, "H3", f"host {host!r}: short names (non FQDN) are not allowed", path)
        return
    problem = None if is_ip(name) else domain_problem(name)
    if problem:
        ctx.rule(m, "H4", f"host {host!r}: {problem}", path)
    elif name != name.lower():
        ctx.rule(
            m,
            "H6",
            f"host {host!r} has upper-case letters; host matching is case-sensitive, use lower case",
            path,
            warning=True,
        )


def check_tls_options(ctx: Reporter, m: Manifest, tls: dict[str, Any], path: Path_) -> None:
    mode = str(tls.get("mode") or "PASSTHROUGH")
    ciphers = tls.get("cipherSuites") or []
    if tls.get("minProtocolVersion") in ("TLSV1_0", "TLSV1_1") and not ciphers:
        ctx.rule(
            m,
            "T1",
            f"minProtocolVersion {tls['minProtocolVersion']} without cipherSuites allows weak ciphers",
            (*path, "minProtocolVersion"),
            warning=True,
        )
    if ciphers:
        _check_ciphers(ctx, m, ciphers, (*path, "cipherSuites"))
    if mode == "ISTIO_MUTUAL":
        for key in CERT_FIELDS:
            if tls.get(key):
                ctx.rule(m, "T3", f"ISTIO_MUTUAL TLS cannot have associated {key}", (*path, key))
        return
    if mode in ("PASSTHROUGH", "AUTO_PASSTHROUGH"):
        if any(tls.get(k) for k in ("caCrl", *CERT_FIELDS)):
            ctx.rule(m, "T4", f"{mode} mode does not use certificates, they will be ignored", path, warning=True)
        if tls.get("caCrl") and (tls.get("credentialName") or tls.get("credentialNames")):
            ctx.rule(m, "T8", "CRL is not supported with credentialName", (*path, "caCrl"))
    sources = (
        bool(tls.get("serverCertificate") and tls.get("privateKey"))
        + bool(tls.get("credentialName"))
        + bool(tls.get("credentialNames"))
        + bool(tls.get("tlsCertificates"))
    )
    if sources > 1:
        ctx.rule(
            m,
            "T5",
            "only one of credential_name, credential_names, server_certificate/private_key, "
            "tls_certificates should be specified",
            path,
        )
    if mode not in ("SIMPLE", "MUTUAL", "OPTIONAL_MUTUAL"):
        return
    if tls.get("credentialName") or tls.get("credentialNames"):
        return
    certs = tls.get("tlsCertificates")
    pairs: list[tuple[Any, Path_]] = (
        [(c, (*path, "tlsCertificates", i)) for i, c in enumerate(certs)]
        if isinstance(certs, list) and certs
        else [(tls, path)]
    )
    for cert, where in pairs:
        cert = cert if isinstance(cert, dict) else {}
        if not cert.get("serverCertificate"):
            ctx.rule(m, "T7", f"{mode} TLS requires a server certificate", where)
        if not cert.get("privateKey"):
            ctx.rule(m, "T7", f"{mode} TLS requires a private key", where)
    if isinstance(certs, list) and len(certs) > 2:
        ctx.rule(
            m,
            "T7",
            "more than 2 tlsCertificates; only one RSA and one ECDSA certificate are used",
            (*path, "tlsCertificates"),
            warning=True,
        )
    if mode in ("MUTUAL", "OPTIONAL_MUTUAL") and not tls.get("caCertificates"):
        ctx.rule(m, "T7", "MUTUAL TLS requires a client CA bundle", path)
    if mode == "SIMPLE" and tls.get("caCrl"):
        ctx.rule(m, "T8", "CRL is not supported with SIMPLE TLS", (*path, "caCrl"))


def _check_ciphers(ctx: Reporter, m: Manifest, ciphers: Any, path: Path_) -> None:
    if not isinstance(ciphers, list):
        return
    invalid, duplicate, seen = [], [], set()
    for c in ciphers:
        text = str(c)
        members = text[1:-1].split("|") if text.startswith("[") and text.endswith("]") else [text]
        if not all(x in CIPHER_SUITES for x in members):
            invalid.append(text)
        elif text in seen:
            duplicate.append(text)
        seen.add(text)
    if invalid:
        ctx.rule(m, "T2", f"ignoring invalid cipher suites: {', '.join(invalid)}", path, warning=True)
    if duplicate:
        ctx.rule(m, "T2", f"ignoring duplicate cipher suites: {', '.join(duplicate)}", path, warning=True)
