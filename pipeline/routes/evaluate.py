"""Where one request goes: listener and server by port, protocol and SNI; virtual host by Host; first matching route."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from gwpipe.routes.cases import DEFAULT_PORTS, Request
from gwpipe.routes.config import HTTP_PROTOCOLS, DomainTable, Server, Topology, VirtualService, pick_sni
from gwpipe.routes.matching import CannotEvaluate, http_entry_matches, l4_route_matches, split_path
from gwpipe.routes.outcome import Destination, Outcome, RouteRef

TLS_PROTOCOLS = frozenset({"HTTPS", "TLS"})
Workload = tuple[tuple[str, str], ...]
# route fields that change neither where a request goes nor what it is answered with
_INERT = frozenset(
    {"name", "match", "route", "timeout", "retries", "headers", "corsPolicy", "mirror", "mirrors", "mirrorPercentage"}
)
_INERT |= {"mirror_percent", "mirrorPercent", "rewrite", "redirect", "directResponse", "fault"}


def evaluate(topology: Topology, request: Request) -> Outcome:
    """The outcome of one request against the topology (never raises for a modelled-or-not field)."""
    workload = None
    if request.gateway is not None:
        if request.gateway not in topology.gateways:
            return Outcome("fail", reason=f"no Gateway {request.gateway}")
        workload = topology.gateways[request.gateway]
    by_workload: dict[Workload, list[Server]] = topology.table(
        ("listeners", request.port, workload), lambda: _by_workload(topology.servers_on(request.port, workload))
    )
    if not by_workload:
        return Outcome("fail", reason=f"no server on port {request.port}")
    outcomes = [_on_workload(topology, key, group, request) for key, group in by_workload.items()]
    reached = [o for o in outcomes if o.kind != "fail"]
    if len(reached) > 1:
        gateways = sorted({s.gateway for group in by_workload.values() for s in group})
        what = (
            f"port {request.port} is served by several gateway workloads ({', '.join(gateways)}); set request.gateway"
        )
        return Outcome("ambiguous", reason=what)
    return reached[0] if reached else outcomes[0]


def _by_workload(servers: list[Server]) -> dict[Workload, list[Server]]:
    out: dict[Workload, list[Server]] = {}
    for server in servers:
        out.setdefault(server.workload, []).append(server)
    return out


def _on_workload(topology: Topology, workload: Workload, servers: list[Server], request: Request) -> Outcome:
    port = request.port
    if request.scheme == "http":
        plain = [s for s in servers if s.protocol in HTTP_PROTOCOLS]
        if not plain:
            return Outcome("fail", reason=f"no plain HTTP server on port {port}")
        return _http(topology, ("merged", port, workload), plain, request)
    if request.scheme == "tcp":
        raw = [s for s in servers if s.protocol not in HTTP_PROTOCOLS | TLS_PROTOCOLS]
        if not raw:
            return Outcome("fail", reason=f"no TCP server on port {port}")
        return _layer4(topology, raw, request, "tcp")
    chains: DomainTable[Server] = topology.table(
        ("chains", port, workload),
        lambda: DomainTable((h, s) for s in servers if s.protocol in TLS_PROTOCOLS for h in s.host_names()),
    )
    if not chains.values:
        return Outcome("fail", reason=f"no TLS server on port {port}")
    server = pick_sni(chains, request.server_name)
    if server is None:
        return Outcome("fail", reason=f"no server on port {port} for SNI {request.server_name or '(none)'}")
    if server.passthrough:
        return _layer4(topology, [server], request, "tls")
    if server.protocol == "TLS":
        return _layer4(topology, [server], request, "tcp")
    if request.scheme == "tls":
        return Outcome("cannot", reason=f"request.scheme tls on HTTPS server {server.ref} (use https)")
    return _http(topology, server, [server], request)


def _http(topology: Topology, key: Any, servers: list[Server], request: Request) -> Outcome:
    """HTTP servers on one port share one route table (merged); an HTTPS server has its own."""
    table, redirects = topology.table(("vhosts", key), lambda: _virtual_hosts(topology, servers))
    domain = table.pick(request.host_name)
    if domain is None:
        return Outcome("status", status=404, reason=f"no virtual host for {request.host_name} on port {request.port}")
    entries: list[tuple[Server, VirtualService | None]] = table.values[domain]
    server = entries[0][0]
    if domain in redirects:
        path = request.path
        return Outcome("redirect", status=301, location=f"https://{request.host_name}{path}", server=server.ref)
    services = list({vs.order: vs for _s, vs in entries if vs is not None}.values())
    return _route_http(services, domain, server, request)


def _virtual_hosts(topology: Topology, servers: list[Server]) -> tuple[DomainTable[tuple[Server, Any]], set[str]]:
    hosts: dict[str, list[tuple[Server, VirtualService | None]]] = {}
    redirects: set[str] = set()
    for server in servers:
        bindings = topology.bindings(server)
        for binding in bindings:
            hosts.setdefault(binding.domain, []).append((server, binding.vs))
            if server.https_redirect:
                redirects.add(binding.domain)
        if server.https_redirect and not bindings:
            for host in server.host_names():
                hosts.setdefault(host, []).append((server, None))
                redirects.add(host)
    return DomainTable((d, e) for d, found in hosts.items() for e in found), redirects


def _route_http(services: list[VirtualService], domain: str, server: Server, request: Request) -> Outcome:
    if len(services) > 1:
        names = ", ".join(vs.ref for vs in services)
        what = f"VirtualServices {names} all route {domain} on {server.gateway}; Istio orders them by creation time"
        return Outcome("ambiguous", reason=what, server=server.ref)
    vs = services[0]
    for index, route in enumerate(vs.spec.get("http") or []):
        label = f"{vs.ref} http[{index}]"
        try:
            entry = _matching_entry(route, request, server, vs)
            if entry is None:
                continue
            ref = RouteRef(vs.ref, "http", index, str(route.get("name") or ""))
            return replace(_action(route, entry, request, ref, vs), server=server.ref)
        except CannotEvaluate as exc:
            return Outcome("cannot", reason=f"{label}.{exc.field}", route=RouteRef(vs.ref, "http", index))
    return Outcome("status", status=404, reason=f"no route of {vs.ref} matches", server=server.ref)


def _matching_entry(route: Any, request: Request, server: Server, vs: VirtualService) -> dict[str, Any] | None:
    entries = route.get("match") or [{}]
    for entry in entries:
        if http_entry_matches(entry or {}, request, request.port, server.gateway, vs.namespace):
            return dict(entry or {})
    return None


def _action(
    route: dict[str, Any], entry: dict[str, Any], request: Request, ref: RouteRef, vs: VirtualService
) -> Outcome:
    unknown = set(route) - _INERT
    if unknown:
        raise CannotEvaluate(sorted(unknown)[0])
    if "delegate" in route:
        raise CannotEvaluate("delegate")
    fault = route.get("fault") or {}
    if "abort" in fault:
        raise CannotEvaluate("fault.abort")
    rewrite = _rewrite(route["rewrite"], entry, request) if route.get("rewrite") else {}
    if "redirect" in route:
        status, location = _redirect(route["redirect"], request)
        return Outcome("redirect", status=status, location=location, route=ref)
    if "directResponse" in route:
        answer = (route["directResponse"] or {}).get("status")
        if not isinstance(answer, int):
            raise CannotEvaluate("directResponse.status")
        return Outcome("status", status=answer, route=ref)
    if "route" not in route:
        raise CannotEvaluate("route (none of route, redirect, directResponse)")
    return Outcome("route", destinations=destinations(route["route"], vs), route=ref, rewrite=rewrite)


def destinations(entries: Any, vs: VirtualService) -> tuple[Destination, ...]:
    """Weighted destinations; a lone destination without a weight takes all traffic."""
    out = []
    for entry in entries or []:
        target = entry.get("destination") or {}
        port = (target.get("port") or {}).get("number")
        default = 100 if len(entries) == 1 else 0
        out.append(
            Destination(
                str(target.get("host", "")),
                port if isinstance(port, int) else None,
                int(entry.get("weight", default)),
                vs.namespace,
                target.get("subset"),
            )
        )
    return tuple(out)


def _redirect(redirect: dict[str, Any], request: Request) -> tuple[int, str]:
    unknown = set(redirect) - {"uri", "authority", "scheme", "redirectCode", "port", "derivePort"}
    if unknown:
        raise CannotEvaluate(f"redirect.{sorted(unknown)[0]}")
    scheme = str(redirect.get("scheme", request.scheme))
    host = str(redirect.get("authority", request.host_name))
    port: int | None = None
    if "port" in redirect:
        port = int(redirect["port"])
    elif redirect.get("derivePort") == "FROM_REQUEST_PORT":
        port = request.port
    elif redirect.get("derivePort") is None and "authority" not in redirect and request.host != request.host_name:
        port = int(request.host.rsplit(":", 1)[1])  # a port the client put in Host stays, unless redirected away
    if port is not None and port != DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    path, _, query = request.path.partition("?")
    if "uri" in redirect:
        target = str(redirect["uri"])
        # a query in the redirect's uri replaces the request's; otherwise Envoy keeps the request's
        path = target if "?" in target or not query else f"{target}?{query}"
    elif query:
        path = f"{path}?{query}"
    return int(redirect.get("redirectCode", 301)), f"{scheme}://{host}{path}"


def _rewrite(rewrite: dict[str, Any], entry: dict[str, Any], request: Request) -> dict[str, str]:
    import re

    from gwpipe.routes.matching import compiled

    unknown = set(rewrite) - {"uri", "authority", "uriRegexRewrite"}
    if unknown:
        raise CannotEvaluate(f"rewrite.{sorted(unknown)[0]}")
    out: dict[str, str] = {}
    path, _params = split_path(request.path)
    query = request.path.partition("?")[2]
    uri_match = entry.get("uri") or {}
    if "uri" in rewrite:
        # a prefix match has its prefix replaced; any other match has the whole path replaced
        if "prefix" in uri_match:
            new = str(rewrite["uri"]) + path[len(str(uri_match["prefix"])) :]
        else:
            new = str(rewrite["uri"])
        out["path"] = new + (f"?{query}" if query else "")
    elif "uriRegexRewrite" in rewrite:
        spec = rewrite["uriRegexRewrite"] or {}
        pattern = compiled(str(spec.get("match", "")), "rewrite.uriRegexRewrite.match")
        replacement = re.sub(r"\\(\d)", r"\\g<\1>", str(spec.get("rewrite", "")))
        out["path"] = pattern.sub(replacement, path) + (f"?{query}" if query else "")
    if "authority" in rewrite:
        out["authority"] = str(rewrite["authority"])
    return out


def _layer4(topology: Topology, servers: list[Server], request: Request, section: str) -> Outcome:
    """TCP and TLS routes: the first matching route of each bound VirtualService; two VirtualServices are ambiguous."""
    found: list[Outcome] = []
    sni = request.server_name
    for server in servers:
        for vs in topology.bound_services(server):
            for index, route in enumerate(vs.spec.get(section) or []):
                ref = RouteRef(vs.ref, section, index)
                try:
                    if l4_route_matches(route, request.port, server.gateway, vs.namespace, sni, section == "tls"):
                        found.append(
                            Outcome(
                                "route", destinations=destinations(route.get("route"), vs), route=ref, server=server.ref
                            )
                        )
                        break
                except CannotEvaluate as exc:
                    return Outcome("cannot", reason=f"{ref}.{exc.field}", route=ref)
    if not found:
        what = f"no {section} route for SNI {sni}" if section == "tls" else f"no tcp route on port {request.port}"
        return Outcome("fail", reason=what, server=servers[0].ref)
    if len({o.route.vs for o in found if o.route}) > 1:
        names = ", ".join(sorted({o.route.vs for o in found if o.route}))
        return Outcome("ambiguous", reason=f"VirtualServices {names} all have a matching {section} route")
    return found[0]
