"""Import for the tls plugin: HTTPS servers become hosts' `tls`, cert-manager Certificates their `certificate`."""

from __future__ import annotations

from typing import Any

from gwpipe.importer.model import ImportClaim, ImportContext
from gwpipe.plugins.importers import _common as common

SERVER_TLS_KEYS = ("minProtocolVersion", "maxProtocolVersion", "cipherSuites")
ISSUER_TYPE_ANNOTATION = "gwpipe.dev/issuer-type"


def https_servers(gateway: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        s for s in (gateway.get("spec") or {}).get("servers") or [] if (s.get("port") or {}).get("protocol") == "HTTPS"
    ]


def claims(context: ImportContext) -> list[ImportClaim]:
    out = []
    tls_by_secret: dict[str, list[str]] = {}
    for gateway in common.networking(context, "Gateway"):
        servers = https_servers(gateway)
        name = gateway["metadata"]["name"]
        for server in servers:
            port = server.get("port") or {}
            if port.get("number", 443) != 443:
                out.append(ImportClaim("", {"gateways": {name: {"httpsPort": port["number"]}}}))
            for host in server.get("hosts") or []:
                tls = server.get("tls") or {}
                entry: dict[str, Any] = {"credentialName": tls.get("credentialName")}
                default = "https" if sum(len(s.get("hosts") or []) for s in servers) == 1 else f"https-{_label(host)}"
                if port.get("name") != default:
                    entry["serverName"] = port.get("name")
                entry.update({k: tls[k] for k in SERVER_TLS_KEYS if k in tls})
                tls_by_secret.setdefault(str(tls.get("credentialName")), []).append(host)
                out.append(
                    ImportClaim(common.ref_of(gateway), {"hosts": {host: {"tls": entry}}}, fields=("spec.servers",))
                )
    for cert in context.of_kind("Certificate"):
        if context.api_group(cert) != "cert-manager.io":
            continue
        spec = cert.get("spec") or {}
        hosts = [h for h in spec.get("dnsNames") or [] if h in tls_by_secret.get(str(spec.get("secretName")), [])]
        if not hosts:
            continue
        certificate = _certificate(cert)
        out.append(
            ImportClaim(common.ref_of(cert), {"hosts": {h: {"tls": {"certificate": certificate}} for h in hosts}})
        )
    return out


def _label(host: str) -> str:
    label = host.split(".", 1)[0]
    return "wildcard" if label == "*" else label


def _certificate(cert: dict[str, Any]) -> dict[str, Any]:
    spec = cert.get("spec") or {}
    ref = dict(spec.get("issuerRef") or {})
    if ref.get("kind") == "Issuer":
        del ref["kind"]
    if ref.get("group") == "cert-manager.io":
        del ref["group"]
    annotations = cert["metadata"].get("annotations") or {}
    # the issuer itself is outside the manifests: its type is only known when gwpipe wrote it down
    out: dict[str, Any] = {"issuerRef": ref, "issuerType": annotations.get(ISSUER_TYPE_ANNOTATION, "ca")}
    for key in ("duration", "renewBefore"):
        if key in spec:
            out[key] = spec[key]
    return out
