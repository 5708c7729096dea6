"""HTTP route destinations (R16, also for TCP and TLS routes) and route options (headers, CORS, fault, retries…)."""

from __future__ import annotations

import re
from typing import Any

from gwpipe.checks.analysis.context import Reporter
from gwpipe.checks.analysis.hosts import domain_problem, is_dns_label
from gwpipe.checks.analysis.manifests import Manifest, Path_
from gwpipe.checks.analysis.rules.common import (
    duration_ns,
    duration_problem,
    header_name_ok,
    number,
    percent_problem,
    regex_problem,
    string_match_problem,
)

CORS_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "CONNECT", "OPTIONS", "TRACE", "*"}


GRPC_CODES = {
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
}


RETRY_POLICIES = {
    "5xx",
    "gateway-error",
    "reset",
    "reset-before-request",
    "connect-failure",
    "envoy-ratelimited",
    "retriable-4xx",
    "refused-stream",
    "retriable-status-codes",
    "retriable-headers",
    "cancelled",
    "deadline-exceeded",
    "internal",
    "resource-exhausted",
    "unavailable",
    "http3-post-connect-failure",
}


MIRROR_KEYS = frozenset({"mirror", "mirrors", "mirrorPercentage", "mirrorPercent"})


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


_FORMATTER = re.compile(r"%[A-Z_]+(\([^)]*\))?(:\d+)?%")


def check_destination(ctx: Reporter, m: Manifest, entry: Any, path: Path_, rule: str = "R16") -> None:
    if not isinstance(entry, dict):
        ctx.rule(m, rule, "route destination must not be null", path)
        return
    dest = entry.get("destination")
    if not isinstance(dest, dict):
        ctx.rule(m, rule, "destination is required", path)
        return
    host = dest.get("host")
    if not isinstance(host, str) or not host:
        ctx.rule(m, rule, "destination host is required", (*path, "destination"))
    elif host == "*":
        ctx.rule(m, rule, "destination host '*' is not allowed; name a service", (*path, "destination", "host"))
    else:
        problem = domain_problem(host)
        if problem:
            ctx.rule(m, rule, f"destination {problem}", (*path, "destination", "host"))
    subset = dest.get("subset")
    if subset is not None and not (isinstance(subset, str) and is_dns_label(subset)):
        ctx.rule(m, rule, f"subset {subset!r} must be a DNS-1123 label", (*path, "destination", "subset"))
    port = dest.get("port")
    if port is not None:
        # a port selector without a number is number 0 to Istio's protobuf, which no port may be
        num = port.get("number", 0) if isinstance(port, dict) else port
        if not (isinstance(num, int) and not isinstance(num, bool) and 1 <= num <= 65535):
            ctx.rule(m, rule, f"destination port {num!r} must be in the range 1..65535", (*path, "destination", "port"))
    weight = entry.get("weight")
    if weight is not None and (number(weight) is None or weight < 0):
        ctx.rule(m, rule, f"weight {weight!r} must not be negative", (*path, "weight"))


def check_destinations(ctx: Reporter, m: Manifest, route: Any, path: Path_, what: str, rule: str) -> None:
    if not isinstance(route, list) or not route:
        ctx.rule(m, rule, f"{what} route is required", path)
        return
    for k, entry in enumerate(route):
        check_destination(ctx, m, entry, (*path, k))
    if len(route) > 1 and all((e.get("weight") or 0) == 0 for e in route if isinstance(e, dict)):
        ctx.rule(m, "R16", "total destination weight = 0", path)


def headers_ops(ctx: Reporter, m: Manifest, headers: Any, path: Path_) -> None:
    if not isinstance(headers, dict):
        return
    for direction in ("request", "response"):
        ops = headers.get(direction)
        if not isinstance(ops, dict):
            continue
        for op in ("set", "add", "remove"):
            values = ops.get(op)
            names = list(values) if isinstance(values, dict | list) else []
            where = (*path, direction, op)
            for name in names:
                name = str(name)
                lowered = name.lower()
                allowed_special = direction == "request" and op != "remove" and lowered in (":authority", "host")
                if (
                    not name
                    or (lowered.startswith(":") and not allowed_special)
                    or (lowered == "host" and not allowed_special)
                ):
                    ctx.rule(m, "R6", f"invalid header name {name!r} in headers.{direction}.{op}", where)
            if isinstance(values, dict):
                for name, value in values.items():
                    text = str(value)
                    if _CONTROL.search(text) or "%" in _FORMATTER.sub("", text.replace("%%", "")):
                        ctx.rule(m, "R6", f"invalid header value for {name!r}", (*where, str(name)))


def _sets_authority(headers: Any) -> bool:
    req = headers.get("request") if isinstance(headers, dict) else None
    if not isinstance(req, dict):
        return False
    return any(
        str(k).lower() in (":authority", "host")
        for op in ("set", "add")
        if isinstance(req.get(op), dict)
        for k in req[op]
    )


def check_route_options(ctx: Reporter, m: Manifest, route: dict[str, Any], path: Path_) -> None:
    """The checks of an HTTP route's less common settings (each one's key is in `_OPTIONAL_KEYS`)."""
    if route.get("mirror") is not None and route.get("mirrors") is not None:
        ctx.rule(m, "R2", "mirror and mirrors cannot both be set", path)
    if "headers" in route:
        headers_ops(ctx, m, route["headers"], (*path, "headers"))
    rewrite = route.get("rewrite")
    if isinstance(rewrite, dict) and rewrite.get("authority") and _sets_authority(route.get("headers")):
        ctx.rule(m, "R7", "authority is rewritten in both rewrite.authority and a header operation", path)
    if "corsPolicy" in route:
        _check_cors(ctx, m, route["corsPolicy"], (*path, "corsPolicy"))
    if "fault" in route:
        _check_fault(ctx, m, route["fault"], (*path, "fault"))
    if not MIRROR_KEYS.isdisjoint(route):
        _check_mirrors(ctx, m, route, path)
    if "redirect" in route:
        _check_redirect(ctx, m, route, path)
    direct = route.get("directResponse")
    if direct is not None:
        _check_direct(ctx, m, direct, (*path, "directResponse"))
    if "retries" in route:
        _check_retries(ctx, m, route["retries"], (*path, "retries"))
    if rewrite is not None:
        _check_rewrite(ctx, m, rewrite, (*path, "rewrite"))


def _check_cors(ctx: Reporter, m: Manifest, cors: Any, path: Path_) -> None:
    if not isinstance(cors, dict):
        return
    for k, origin in enumerate(cors.get("allowOrigins") or []):
        problem = string_match_problem(origin)
        if problem or (isinstance(origin, dict) and not any(origin.get(x) for x in ("exact", "prefix", "regex"))):
            ctx.rule(m, "R8", f"allowOrigins[{k}]: {problem or 'must not be empty'}", (*path, "allowOrigins", k))
    for method in cors.get("allowMethods") or []:
        if method not in CORS_METHODS:
            ctx.rule(m, "R8", f"invalid HTTP method {method!r} in allowMethods", (*path, "allowMethods"))
    for key in ("allowHeaders", "exposeHeaders"):
        for name in cors.get(key) or []:
            if name != "*" and not header_name_ok(str(name)):
                ctx.rule(m, "R8", f"invalid header name {name!r} in {key}", (*path, key))
    if cors.get("maxAge") is not None:
        problem = duration_problem(cors["maxAge"])
        ns = duration_ns(cors["maxAge"])
        if problem:
            ctx.rule(m, "R8", f"maxAge: {problem}", (*path, "maxAge"))
        elif ns is not None and ns % 10**9:
            ctx.rule(m, "R8", f"maxAge {cors['maxAge']!r} must be a whole number of seconds", (*path, "maxAge"))


def _check_fault(ctx: Reporter, m: Manifest, fault: Any, path: Path_) -> None:
    if fault is None:
        return
    if not isinstance(fault, dict) or not (fault.get("abort") or fault.get("delay")):
        ctx.rule(m, "R9", "fault needs abort and/or delay", path)
        return
    for key in ("abort", "delay"):
        part = fault.get(key)
        if not isinstance(part, dict):
            continue
        pct = part.get("percentage")
        raw = pct.get("value") if isinstance(pct, dict) else None
        n = number(raw) if raw is not None else 0.0
        if n is None or not (n == 0 or 0.0001 <= n <= 100):
            ctx.rule(
                m, "R9", f"{key} percentage must be 0 or in range 0.0001..100, got {raw!r}", (*path, key, "percentage")
            )
    abort = fault.get("abort")
    if isinstance(abort, dict):
        status = abort.get("httpStatus")
        if status is not None and not (isinstance(status, int) and 200 <= status <= 600):
            ctx.rule(m, "R9", f"httpStatus must be in range 200-599, got {status!r}", (*path, "abort", "httpStatus"))
        if abort.get("grpcStatus") is not None and abort["grpcStatus"] not in GRPC_CODES:
            ctx.rule(m, "R9", f"unknown grpcStatus {abort['grpcStatus']!r}", (*path, "abort", "grpcStatus"))
        if abort.get("http2Error") is not None:
            ctx.rule(m, "R9", "http2Error is not supported", (*path, "abort", "http2Error"))
        if all(abort.get(k) is None for k in ("httpStatus", "grpcStatus", "http2Error")):
            ctx.rule(m, "R9", "abort has no error type", (*path, "abort"), warning=True)
    delay = fault.get("delay")
    if isinstance(delay, dict):
        for key in ("fixedDelay", "exponentialDelay"):
            if delay.get(key) is not None:
                problem = duration_problem(delay[key])
                if problem:
                    ctx.rule(m, "R9", f"{key}: {problem}", (*path, "delay", key))
        if delay.get("exponentialDelay") is not None:
            ctx.rule(m, "R9", "exponentialDelay is not supported", (*path, "delay", "exponentialDelay"))


def _check_mirrors(ctx: Reporter, m: Manifest, route: dict[str, Any], path: Path_) -> None:
    if route.get("mirror") is not None:
        check_destination(ctx, m, {"destination": route["mirror"]}, (*path, "mirror"), "R10")
    for k, mirror in enumerate(route.get("mirrors") or []):
        if not isinstance(mirror, dict) or not isinstance(mirror.get("destination"), dict):
            ctx.rule(m, "R10", "mirror destination is required", (*path, "mirrors", k))
            continue
        check_destination(ctx, m, mirror, (*path, "mirrors", k), "R10")
        problem = percent_problem(mirror.get("percentage"))
        if problem:
            ctx.rule(m, "R10", f"mirror {problem}", (*path, "mirrors", k, "percentage"))
    problem = percent_problem(route.get("mirrorPercentage"))
    if problem:
        ctx.rule(m, "R10", f"mirrorPercentage: {problem}", (*path, "mirrorPercentage"))
    if route.get("mirrorPercent") is not None:
        ctx.rule(m, "R10", "mirrorPercent is deprecated; use mirrorPercentage", (*path, "mirrorPercent"), warning=True)
        if (number(route["mirrorPercent"]) or 0) > 100:
            ctx.rule(m, "R10", "mirrorPercent must be at most 100", (*path, "mirrorPercent"))


def _check_redirect(ctx: Reporter, m: Manifest, route: dict[str, Any], path: Path_) -> None:
    redirect = route.get("redirect")
    if not isinstance(redirect, dict):
        return
    where = (*path, "redirect")
    if redirect.get("uri") and redirect.get("prefixRewrite"):
        ctx.rule(m, "R11", "redirect cannot set both uri and prefixRewrite", where)
    if redirect.get("prefixRewrite"):
        # only URI matches are constrained: a match on headers alone leaves the path whole, so any prefix fits
        for match in route.get("match") or []:
            uri = match.get("uri") if isinstance(match, dict) else None
            if uri is not None and not (isinstance(uri, dict) and "prefix" in uri):
                ctx.rule(m, "R11", "prefixRewrite requires every URI match to be a prefix match", where)
                break
    # strings count when non-empty (proto3 scalars); port and derivePort are a oneof, set even when 0
    named = any(redirect.get(k) for k in ("uri", "prefixRewrite", "authority", "scheme"))
    if not named and redirect.get("port") is None and redirect.get("derivePort") is None:
        ctx.rule(m, "R11", "redirect must set at least one of uri, prefixRewrite, authority, port, scheme", where)
    code = redirect.get("redirectCode")
    # redirectCode 0 is the unset value (301 at runtime)
    if code is not None and code != 0 and not (isinstance(code, int) and 300 <= code <= 399):
        ctx.rule(m, "R11", f"redirectCode must be in range 300..399, got {code!r}", (*where, "redirectCode"))
    scheme = redirect.get("scheme")
    if scheme is not None and scheme not in ("http", "https"):
        ctx.rule(m, "R11", f"redirect scheme must be http or https, got {scheme!r}", (*where, "scheme"))
    port = redirect.get("port")
    if port not in (None, 0) and not (isinstance(port, int) and not isinstance(port, bool) and 1 <= port <= 65535):
        ctx.rule(m, "R11", f"redirect port must be in range 1..65535, got {port!r}", (*where, "port"))


def _check_direct(ctx: Reporter, m: Manifest, direct: Any, path: Path_) -> None:
    if not isinstance(direct, dict):
        return
    status = direct.get("status")
    if not (isinstance(status, int) and not isinstance(status, bool) and 200 <= status <= 600):
        ctx.rule(m, "R12", f"directResponse status must be in range 200..599, got {status!r}", (*path, "status"))
    body = direct.get("body")
    text = ""
    if isinstance(body, dict):
        text = str(body.get("string") or body.get("bytes") or "")
    size = len(text.encode())
    if size > 1024 * 1024:
        ctx.rule(m, "R12", "directResponse body is larger than 1 MiB", (*path, "body"))
    elif size > 100 * 1024:
        ctx.rule(m, "R12", "directResponse body is larger than 100 KiB", (*path, "body"), warning=True)


def _check_retries(ctx: Reporter, m: Manifest, retries: Any, path: Path_) -> None:
    if not isinstance(retries, dict):
        return
    # an absent attempts is 0 to Istio's protobuf: retries disabled, so no other retry setting may be given
    attempts = retries.get("attempts", 0)
    if not (isinstance(attempts, int) and attempts >= 0):
        ctx.rule(m, "R13", f"attempts must not be negative, got {attempts!r}", (*path, "attempts"))
    if attempts == 0:
        extra = [
            k
            for k in ("perTryTimeout", "retryOn", "retryRemoteLocalities")
            if retries.get(k) is not None and retries.get(k) != ""
        ]
        if extra:
            what = "attempts 0" if "attempts" in retries else "no attempts (0, retries disabled)"
            ctx.rule(m, "R13", f"{what} cannot be combined with {', '.join(extra)}", path)
    for key in ("perTryTimeout", "backoff"):
        if retries.get(key) is not None:
            problem = duration_problem(retries[key])
            if problem:
                ctx.rule(m, "R13", f"{key}: {problem}", (*path, key))
    retry_on = retries.get("retryOn")
    if isinstance(retry_on, str):
        for policy in retry_on.split(","):
            policy = policy.strip()
            if policy and policy not in RETRY_POLICIES and not (policy.isdigit() and 100 <= int(policy) <= 599):
                ctx.rule(m, "R13", f"unknown retryOn policy {policy!r}", (*path, "retryOn"))


def _check_rewrite(ctx: Reporter, m: Manifest, rewrite: Any, path: Path_) -> None:
    if not isinstance(rewrite, dict):
        return
    regex = rewrite.get("uriRegexRewrite")
    if rewrite.get("uri") and regex:
        ctx.rule(m, "R14", "rewrite cannot set both uri and uriRegexRewrite", path)
    # an empty string is an unset string to Istio's protobuf, so `uri: ""` rewrites nothing
    if not (rewrite.get("uri") or regex is not None or rewrite.get("authority")):
        ctx.rule(m, "R14", "rewrite must set at least one of uri, uriRegexRewrite, authority", path)
    if isinstance(regex, dict):
        if not regex.get("match") or not regex.get("rewrite"):
            ctx.rule(m, "R14", "uriRegexRewrite needs both match and rewrite", (*path, "uriRegexRewrite"))
        else:
            problem = regex_problem(regex["match"])
            if problem:
                ctx.rule(m, "R14", f"uriRegexRewrite: {problem}", (*path, "uriRegexRewrite", "match"))
