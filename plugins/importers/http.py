"""Import for the http plugin: Gateways (selector, HTTP port) and VirtualServices with HTTP routes become hosts."""

from __future__ import annotations

from typing import Any

from gwpipe.importer.model import ImportClaim, ImportContext
from gwpipe.plugins.importers import _common as common
from gwpipe.plugins.importers import gateway_split

ROUTE_KEYS = ("timeout", "retries", "rewrite")


def claims(context: ImportContext) -> list[ImportClaim]:
    namespace = common.spec_namespace(context)
    top: dict[str, Any] = {**common.istio_fragment(context)}
    if namespace != "default":
        top["namespace"] = namespace
    out = [ImportClaim("", top)] if top else []
    installed = gateway_split.found_workloads(context)
    gateways = common.networking(context, "Gateway")
    extra_ports: list[dict[str, Any]] = []
    for gateway in gateways:
        out.append(_gateway(gateway, namespace, installed, extra_ports))
    if installed or extra_ports:
        ports = common.DEFAULT_PORTS + extra_ports
        default = {"namespace": common.control_namespace(context), "labels": common.DEFAULT_LABELS, "ports": ports}
        out.append(ImportClaim("", {"workloads": {"istio-ingressgateway": default}}))
    short = False
    for vs in common.networking(context, "VirtualService"):
        spec = vs.get("spec") or {}
        refs = spec.get("gateways") or []
        short = short or any("/" not in r for r in refs)
        if "http" not in spec or "tcp" in spec or len(spec.get("hosts") or []) != 1 or len(refs) != 1:
            continue
        host = spec["hosts"][0]
        entry: dict[str, Any] = {"gateway": common.gateway_of(refs[0], vs["metadata"]["namespace"])[1]}
        default_name = host.replace("*", "wildcard").replace(".", "-")
        if vs["metadata"]["name"] != default_name:
            entry["virtualService"] = vs["metadata"]["name"]
        if not _plain_http(gateways, entry["gateway"], host):
            entry["http"] = False
        entry["routes"] = [_route(r) for r in spec["http"]]
        out.append(ImportClaim(common.ref_of(vs), {"hosts": {host: entry}}))
    if short:
        out.append(ImportClaim("", {"gatewayRefs": "short"}))
    return out


def _gateway(
    gateway: dict[str, Any], namespace: str, installed: dict[str, dict[str, Any]], extra_ports: list[dict[str, Any]]
) -> ImportClaim:
    meta, spec = gateway["metadata"], gateway.get("spec") or {}
    entry: dict[str, Any] = {}
    if meta["namespace"] != namespace:
        entry["namespace"] = meta["namespace"]
    selector = dict(spec.get("selector") or {})
    match = next((name for name, w in installed.items() if w.get("labels") == selector), None)
    if match:
        entry["workload"] = match
    elif selector != common.DEFAULT_LABELS:
        entry["selector"] = selector
    for server in spec.get("servers") or []:
        port = server.get("port") or {}
        if port.get("protocol") == "HTTP" and port.get("name") == "http" and port.get("number", 80) != 80:
            entry["httpPort"] = port["number"]
        if port.get("protocol") == "TCP" and not match:
            number = port.get("number")
            if number not in (p["port"] for p in common.DEFAULT_PORTS + extra_ports):
                extra_ports.append(
                    {"name": f"tcp-{number}" if extra_ports else "tcp", "port": number, "targetPort": number}
                )
    return ImportClaim(common.ref_of(gateway), {"gateways": {meta["name"]: entry}})


def _plain_http(gateways: list[dict[str, Any]], name: str, host: str) -> bool:
    for gateway in gateways:
        if gateway["metadata"]["name"] != name:
            continue
        for server in (gateway.get("spec") or {}).get("servers") or []:
            if (server.get("port") or {}).get("protocol") == "HTTP" and host in (server.get("hosts") or []):
                return True
    return False


def _route(route: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "name" in route:
        out["name"] = route["name"]
    if "match" in route:
        out["match"] = route["match"]
    out.update(destinations(route.get("route") or []))
    for key in ROUTE_KEYS:
        if key in route:
            out[key] = route[key]
    return out


def destinations(route: list[dict[str, Any]]) -> dict[str, Any]:
    """Istio's route list as the spec's `destination` or weighted `destinations`."""
    if len(route) == 1 and "weight" not in route[0]:
        return {"destination": _destination(route[0].get("destination") or {})}
    return {"destinations": [{**_destination(r.get("destination") or {}), "weight": r.get("weight", 0)} for r in route]}


def _destination(d: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"host": d.get("host"), "port": (d.get("port") or {}).get("number")}
    if "subset" in d:
        out["subset"] = d["subset"]
    return out
