"""Import for the redirect plugin: hosts on an HTTP server in httpsRedirect mode get `redirect: true`."""

from __future__ import annotations

from gwpipe.importer.model import ImportClaim, ImportContext
from gwpipe.plugins.importers import _common as common


def claims(context: ImportContext) -> list[ImportClaim]:
    out = []
    for gateway in common.networking(context, "Gateway"):
        for server in (gateway.get("spec") or {}).get("servers") or []:
            port, tls = server.get("port") or {}, server.get("tls") or {}
            if port.get("protocol") == "HTTP" and tls.get("httpsRedirect"):
                hosts = {h: {"redirect": True} for h in server.get("hosts") or []}
                out.append(ImportClaim(common.ref_of(gateway), {"hosts": hosts}, fields=("spec.servers",)))
    return out
