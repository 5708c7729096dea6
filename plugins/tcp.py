"""TCP services: a TCP server on a Gateway, a VirtualService routing its port, and the Service port it needs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gwpipe.errors import PluginError, Problem
from gwpipe.hooks.specs import hookimpl
from gwpipe.plugins import _istio as istio
from gwpipe.plugins import http, redirect, tls

if TYPE_CHECKING:
    from gwpipe.importer.model import ImportClaim, ImportContext
    from gwpipe.model import ResourceRequest, Resources
    from gwpipe.spec.load import Spec

NAME = "tcp"


@hookimpl
def gwpipe_spec_schema() -> dict[str, dict[str, Any]]:
    return {
        "": {
            "tcp": {
                "type": "dict",
                "keysrules": istio.LABEL,
                "valuesrules": {
                    "type": "dict",
                    "schema": {
                        "gateway": {**istio.LABEL, "required": True},
                        "port": {**istio.PORT, "required": True},
                        "serverName": istio.LABEL,
                        "virtualService": istio.LABEL,
                        **http.DESTINATION_FIELDS,
                    },
                },
            }
        }
    }


def entries(spec: Spec) -> dict[str, dict[str, Any]]:
    return dict(sorted((spec.get("tcp") or {}).items()))


def server_name(name: str, entry: dict[str, Any]) -> str:
    return str(entry.get("serverName", name))


def virtual_service_name(name: str, entry: dict[str, Any]) -> str:
    return str(entry.get("virtualService", name))


def taken_ports(spec: Spec, gateway: str) -> dict[int, tuple[str, list[str]]]:
    """Ports the http and tls plugins put on `gateway`: number -> (protocol, server names)."""
    hosts = spec.get("hosts") or {}
    bound = istio.hosts_on(spec, gateway)
    out: dict[int, tuple[str, list[str]]] = {}
    if any(hosts[h].get("http", True) for h in bound):
        # the redirect plugin may split the HTTP server in two; both names are taken
        names = ["http", redirect.REDIRECT_SERVER] if redirect.redirected_hosts(spec, gateway) else ["http"]
        out[int((spec.get("gateways") or {})[gateway].get("httpPort", 80))] = ("HTTP", names)
    names = sorted(set(tls.server_names(spec, gateway).values()))
    if names:
        out.setdefault(tls.https_port(spec, gateway), ("HTTPS", names))
    return out


@hookimpl
def gwpipe_validate_spec(spec: Spec) -> list[Problem]:
    problems: list[Problem] = []
    gateways = spec.get("gateways") or {}
    workloads = istio.workloads(spec)
    http_vs = {http.virtual_service_name(h, e): h for h, e in (spec.get("hosts") or {}).items()}
    ports_used: dict[tuple[str, int], str] = {}
    names_used: dict[tuple[str, str], str] = {}
    vs_used: dict[str, str] = {}
    for name, entry in entries(spec).items():
        gateway = entry["gateway"]
        problems.extend(http.destination_problems(spec, ("tcp", name), entry, "a tcp entry"))
        vs = virtual_service_name(name, entry)
        if vs in http_vs:
            problems.append(
                spec.problem(
                    ("tcp", name, "virtualService"), f"VirtualService {vs!r} is already used by host {http_vs[vs]!r}"
                )
            )
        elif vs in vs_used:
            problems.append(
                spec.problem(
                    ("tcp", name, "virtualService"),
                    f"VirtualService {vs!r} is already used by tcp entry {vs_used[vs]!r}",
                )
            )
        vs_used.setdefault(vs, name)
        if gateway not in gateways:
            problems.append(
                spec.problem(("tcp", name, "gateway"), f"unknown gateway {gateway!r}{http.known(gateways)}")
            )
            continue
        problems.extend(_port_problems(spec, name, entry, workloads, ports_used, names_used))
    return problems


def _port_problems(
    spec: Spec,
    name: str,
    entry: dict[str, Any],
    workloads: dict[str, dict[str, Any]],
    ports_used: dict[tuple[str, int], str],
    names_used: dict[tuple[str, str], str],
) -> list[Problem]:
    """Clashes with the HTTP server and other tcp entries on one Gateway, and the Service port the workload needs."""
    problems = []
    gateway, port = entry["gateway"], entry["port"]
    taken = taken_ports(spec, gateway)
    if port in taken:
        problems.append(
            spec.problem(
                ("tcp", name, "port"),
                f"port {port} is the {taken[port][0]} server port of gateway {gateway!r}; a TCP server cannot share it",
            )
        )
    if (gateway, port) in ports_used:
        other = ports_used[(gateway, port)]
        problems.append(
            spec.problem(
                ("tcp", name, "port"), f"port {port} on gateway {gateway!r} is already used by tcp entry {other!r}"
            )
        )
    ports_used.setdefault((gateway, port), name)
    server = server_name(name, entry)
    server_path = ("tcp", name, "serverName") if "serverName" in entry else ("tcp", name)
    owner = next((protocol for protocol, names in taken.values() if server in names), None)
    if owner is not None:
        problems.append(
            spec.problem(
                server_path, f"server name {server!r} is already used by the {owner} server of gateway {gateway!r}"
            )
        )
    if (gateway, server) in names_used:
        other = names_used[(gateway, server)]
        problems.append(
            spec.problem(
                server_path, f"server name {server!r} on gateway {gateway!r} is already used by tcp entry {other!r}"
            )
        )
    names_used.setdefault((gateway, server), name)
    workload = istio.gateway_workload(spec, gateway)
    ports = workloads.get(workload, {}).get("ports") or []
    if workload in workloads and not istio.exposes_port(ports, port):
        exposed = ", ".join(str(p["port"]) for p in ports if p.get("protocol", "TCP") == "TCP") or "none"
        problems.append(
            spec.problem(
                ("tcp", name, "port"),
                f"port {port} is not exposed by the Service of workload {workload!r} (TCP ports: {exposed})",
                f"add {{name: tcp-{name}, port: {port}, targetPort: {port}}} to workloads.{workload}.ports",
            )
        )
    return problems


@hookimpl
def gwpipe_resources(spec: Spec) -> list[ResourceRequest]:
    return [
        http.virtual_service(
            spec,
            NAME,
            virtual_service_name(name, entry),
            ["*"],
            entry["gateway"],
            tcp=[{"match": [{"port": entry["port"]}], "route": http.weighted(entry)}],
        )
        for name, entry in entries(spec).items()
    ]


@hookimpl
def gwpipe_modify_resources(spec: Spec, resources: Resources) -> None:
    """Add each TCP server to its Gateway, then refuse port clashes and Gateways left without any server."""
    problems: list[Problem] = []
    for name, entry in entries(spec).items():
        gateway = entry["gateway"]
        request = resources.get("Gateway", gateway, istio.gateway_namespace(spec, gateway))
        if request is None:
            problems.append(spec.problem(("tcp", name, "gateway"), f"no Gateway {gateway!r} was planned"))
            continue
        servers: list[dict[str, Any]] = request.values.setdefault("servers", [])
        port, server = entry["port"], server_name(name, entry)
        clash = next((s for s in servers if s["port"]["number"] == port), None)
        if clash is not None:
            problems.append(
                spec.problem(
                    ("tcp", name, "port"),
                    f"port {port} is already used by the {clash['port']['protocol']} server {clash['port']['name']!r} "
                    f"of {request.ref} (plugins: {', '.join(request.plugins)}); a TCP server cannot share a port",
                )
            )
            continue
        if any(s["port"]["name"] == server for s in servers):
            problems.append(spec.problem(("tcp", name), f"server name {server!r} is already used on {request.ref}"))
            continue
        servers.append({"port": {"number": port, "name": server, "protocol": "TCP"}, "hosts": ["*"]})
        request.touch(NAME)
    if problems:
        raise PluginError(*problems)


@hookimpl
def gwpipe_import(context: ImportContext) -> list[ImportClaim]:
    if context.leftovers:
        return []
    from gwpipe.plugins.importers import tcp as importer  # only `gwpipe import` needs it

    return importer.claims(context)
