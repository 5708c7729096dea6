"""Import for the mtls plugin: HTTPS servers in a mutual mode give their host `mtls`."""

from __future__ import annotations

from gwpipe.importer.model import ImportClaim, ImportContext
from gwpipe.plugins.importers import _common as common
from gwpipe.plugins.importers.tls import https_servers

MUTUAL_MODES = ("MUTUAL", "OPTIONAL_MUTUAL")


def claims(context: ImportContext) -> list[ImportClaim]:
    out = []
    for gateway in common.networking(context, "Gateway"):
        for server in https_servers(gateway):
            mode = (server.get("tls") or {}).get("mode")
            if mode not in MUTUAL_MODES:
                continue
            entry = {} if mode == "MUTUAL" else {"mode": mode}
            hosts = {h: {"mtls": entry} for h in server.get("hosts") or []}
            out.append(ImportClaim(common.ref_of(gateway), {"hosts": hosts}, fields=("spec.servers",)))
    return out
