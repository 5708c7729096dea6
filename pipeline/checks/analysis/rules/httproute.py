"""VirtualService HTTP route rules: matches, header matches, timeouts, and the options checked in routeoptions."""

from __future__ import annotations

from typing import Any

from gwpipe.checks.analysis.context import Reporter
from gwpipe.checks.analysis.hosts import is_dns_label
from gwpipe.checks.analysis.manifests import Manifest, Path_
from gwpipe.checks.analysis.rules.common import (
    duration_problem,
    header_name_ok,
    is_jwt_claim,
    label_problem,
    string_match_problem,
)
from gwpipe.checks.analysis.rules.routeoptions import MIRROR_KEYS, check_destinations, check_route_options, headers_ops

# a route with none of these keys needs none of the checks in _check_options
_OPTIONAL_KEYS = MIRROR_KEYS | {"headers", "rewrite", "corsPolicy", "fault", "redirect", "directResponse", "retries"}


def _check_match(ctx: Reporter, m: Manifest, match: Any, path: Path_, gateway_bound: bool) -> None:
    if not isinstance(match, dict):
        ctx.rule(m, "R4", "match must not be null", path)
        return
    if "headers" in match or "withoutHeaders" in match:
        _check_header_matches(ctx, m, match, path, gateway_bound)
    for key in ("uri", "scheme", "method", "authority"):
        if key in match:
            problem = string_match_problem(match[key], allow_empty_prefix=key == "uri")
            if problem:
                ctx.rule(m, "R4", f"{key}: {problem}", (*path, key))
    if len(match) == 1 and "uri" in match:
        return  # the usual match: nothing else to check
    params = match.get("queryParams")
    for name, value in params.items() if isinstance(params, dict) else []:
        problem = string_match_problem(value, allow_empty_prefix=True)
        if problem:
            ctx.rule(m, "R4", f"queryParams[{name}]: {problem}", (*path, "queryParams", str(name)))
    port = match.get("port")
    if port not in (None, 0) and not (isinstance(port, int) and not isinstance(port, bool) and 1 <= port <= 65535):
        ctx.rule(m, "R5", f"match port {port!r} must be in the range 1..65535", (*path, "port"))
    problem = label_problem(match.get("sourceLabels"))
    if problem:
        ctx.rule(m, "R5", f"sourceLabels: {problem}", (*path, "sourceLabels"))
    ns = match.get("sourceNamespace")
    if ns is not None and not (isinstance(ns, str) and is_dns_label(ns)):
        ctx.rule(m, "R5", f"sourceNamespace {ns!r} must be a DNS-1123 label", (*path, "sourceNamespace"))


def _check_header_matches(ctx: Reporter, m: Manifest, match: dict[str, Any], path: Path_, gateway_bound: bool) -> None:
    for key in ("headers", "withoutHeaders"):
        headers = match.get(key)
        for name, value in headers.items() if isinstance(headers, dict) else []:
            name = str(name)
            if value is None:
                ctx.rule(m, "R4", f"header match {name!r} must not be null", (*path, key, name))
                continue
            if not header_name_ok(name):
                ctx.rule(m, "R4", f"invalid header name {name!r}", (*path, key, name))
            if is_jwt_claim(name) and not gateway_bound:
                ctx.rule(
                    m,
                    "V3",
                    f"JWT claim based routing ({name}) is only supported for gateway, not mesh",
                    (*path, key, name),
                )
            problem = string_match_problem(value, allow_empty_prefix=False, allow_star_regex=key == "withoutHeaders")
            if problem:
                ctx.rule(m, "R4", f"{key}[{name}]: {problem}", (*path, key, name))


def _present(route: dict[str, Any], key: str) -> bool:
    return bool(route.get(key)) if key == "route" else route.get(key) is not None


def check_http_route(
    ctx: Reporter, m: Manifest, route: Any, path: Path_, gateway_bound: bool, delegate_vs: bool
) -> None:
    if not isinstance(route, dict):
        ctx.rule(m, "V7", "http route must not be null", path)
        return
    redirect, direct = route.get("redirect"), route.get("directResponse")
    if route.get("delegate") is not None:
        if delegate_vs:
            ctx.rule(m, "R3", "a delegate VirtualService must not delegate again", (*path, "delegate"))
        if redirect is not None or route.get("route"):
            ctx.rule(m, "R3", "a route with delegate must not have redirect or route", path)
    elif redirect is not None:
        # a message set to {} is set (protobuf presence); an empty route list is no route
        clash = [k for k in ("route", "fault", "rewrite", "directResponse") if _present(route, k)]
        if clash:
            ctx.rule(m, "R1", f"redirect cannot be combined with {', '.join(clash)}", path)
    elif direct is not None:
        clash = [k for k in ("route", "fault", "rewrite") if _present(route, k)]
        if clash:
            ctx.rule(m, "R1", f"directResponse cannot be combined with {', '.join(clash)}", path)
    elif not route.get("route"):
        ctx.rule(m, "R1", "HTTP route, redirect or direct_response is required", path)
    else:
        check_destinations(ctx, m, route["route"], (*path, "route"), "HTTP", "R1")
    for j, match in enumerate(route.get("match") or []):
        _check_match(ctx, m, match, (*path, "match", j), gateway_bound)
    for k, entry in enumerate(route.get("route") or []):
        if isinstance(entry, dict) and "headers" in entry:
            headers_ops(ctx, m, entry["headers"], (*path, "route", k, "headers"))
    if route.get("timeout") is not None:
        problem = duration_problem(route["timeout"])
        if problem:
            ctx.rule(m, "R15", f"timeout: {problem}", (*path, "timeout"))
    if not _OPTIONAL_KEYS.isdisjoint(route):
        check_route_options(ctx, m, route, path)
