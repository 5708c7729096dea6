"""Import for the tcp plugin: VirtualServices routing one TCP port of one Gateway become `tcp` entries."""

from __future__ import annotations

from typing import Any

from gwpipe.importer.model import ImportClaim, ImportContext
from gwpipe.plugins.importers import _common as common
from gwpipe.plugins.importers.http import destinations


def claims(context: ImportContext) -> list[ImportClaim]:
    gateways = common.networking(context, "Gateway")
    out = []
    for vs in common.networking(context, "VirtualService"):
        spec = vs.get("spec") or {}
        routes, refs = spec.get("tcp") or [], spec.get("gateways") or []
        if "http" in spec or len(routes) != 1 or len(refs) != 1 or spec.get("hosts") != ["*"]:
            continue
        match = routes[0].get("match") or []
        if len(match) != 1 or set(match[0]) != {"port"}:
            continue
        port = match[0]["port"]
        namespace, gateway = common.gateway_of(refs[0], vs["metadata"]["namespace"])
        server = _server(gateways, namespace, gateway, port)
        vs_name = vs["metadata"]["name"]
        name = server or vs_name
        entry: dict[str, Any] = {"gateway": gateway, "port": port}
        if vs_name != name:
            entry["virtualService"] = vs_name
        entry.update(destinations(routes[0].get("route") or []))
        out.append(ImportClaim(common.ref_of(vs), {"tcp": {name: entry}}))
    return out


def _server(gateways: list[dict[str, Any]], namespace: str, name: str, port: int) -> str | None:
    for gateway in gateways:
        if gateway["metadata"]["name"] == name and gateway["metadata"]["namespace"] == namespace:
            for server in (gateway.get("spec") or {}).get("servers") or []:
                p = server.get("port") or {}
                if p.get("protocol") == "TCP" and p.get("number") == port:
                    return str(p.get("name"))
    return None
