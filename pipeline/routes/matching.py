"""Istio's match conditions: `match` entries ORed, conditions inside one entry ANDed; StringMatch semantics."""

from __future__ import annotations

import functools
import re
from typing import Any
from urllib.parse import parse_qsl

from gwpipe.checks.analysis.rules.common import regex_problem
from gwpipe.routes.cases import Request

# conditions of an HTTPMatchRequest the evaluator models; `name` and `statPrefix` only label the match
HTTP_CONDITIONS = frozenset(
    {
        "uri",
        "scheme",
        "method",
        "authority",
        "headers",
        "withoutHeaders",
        "port",
        "queryParams",
        "ignoreUriCase",
        "gateways",
        "name",
        "statPrefix",
    }
)
L4_CONDITIONS = frozenset({"port", "gateways", "sniHosts"})


class CannotEvaluate(Exception):
    """A field whose effect the evaluator does not model: the outcome is `cannot evaluate: <field>`."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


@functools.lru_cache(maxsize=4096)
def compiled(pattern: str, field: str) -> re.Pattern[str]:
    """A pattern RE2 would accept, compiled for a full match; anything else cannot be evaluated."""
    if regex_problem(pattern) is not None:
        raise CannotEvaluate(f"{field} (regex {pattern!r} is not RE2)")
    return re.compile(pattern)


def string_matches(rule: Any, value: str | None, field: str, ignore_case: bool = False) -> bool:
    """A StringMatch against a value (None: absent). An empty rule matches any present value."""
    if not isinstance(rule, dict):
        raise CannotEvaluate(field)
    unknown = set(rule) - {"exact", "prefix", "regex"}
    if unknown:
        raise CannotEvaluate(f"{field}.{sorted(unknown)[0]}")
    if value is None:
        return False
    if "exact" in rule:
        expected = str(rule["exact"])
        return value.lower() == expected.lower() if ignore_case else value == expected
    if "prefix" in rule:
        prefix = str(rule["prefix"])
        return value.lower().startswith(prefix.lower()) if ignore_case else value.startswith(prefix)
    if "regex" in rule:
        # Envoy's case_sensitive does not apply to safe_regex: ignoreUriCase leaves a regex case-sensitive
        return compiled(str(rule["regex"]), f"{field}.regex").fullmatch(value) is not None
    return True


def split_path(path: str) -> tuple[str, dict[str, str]]:
    """The path without its query string, and the query parameters (first value wins)."""
    bare, _, query = path.partition("?")
    params: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        params.setdefault(key, value)
    return bare, params


def http_entry_matches(entry: dict[str, Any], request: Request, port: int, gateway: str, namespace: str) -> bool:
    """One HTTPMatchRequest: every condition it sets holds."""
    unknown = set(entry) - HTTP_CONDITIONS
    if unknown:
        raise CannotEvaluate(f"match.{sorted(unknown)[0]}")
    if "gateways" in entry and not _gateway_listed(entry["gateways"], gateway, namespace):
        return False
    path, params = split_path(request.path)
    if "uri" in entry and not string_matches(entry["uri"], path, "uri", bool(entry.get("ignoreUriCase"))):
        return False
    if "scheme" in entry and not string_matches(entry["scheme"], request.scheme, "scheme"):
        return False
    if "method" in entry and not string_matches(entry["method"], request.method, "method"):
        return False
    if "authority" in entry and not string_matches(entry["authority"], request.host, "authority"):
        return False
    if "port" in entry and entry["port"] != port:
        return False
    for name, rule in (entry.get("headers") or {}).items():
        if not string_matches(rule, request.headers.get(str(name).lower()), f"headers.{name}"):
            return False
    for name, rule in (entry.get("withoutHeaders") or {}).items():
        if string_matches(rule, request.headers.get(str(name).lower()), f"withoutHeaders.{name}"):
            return False
    for name, rule in (entry.get("queryParams") or {}).items():
        if not string_matches(rule, params.get(str(name)), f"queryParams.{name}"):
            return False
    return True


def http_route_matches(route: dict[str, Any], request: Request, port: int, gateway: str, namespace: str) -> bool:
    """A route without `match` takes everything; otherwise any one of its entries."""
    entries = route.get("match")
    if not entries:
        return True
    return any(http_entry_matches(e or {}, request, port, gateway, namespace) for e in entries)


def l4_route_matches(
    route: dict[str, Any], port: int, gateway: str, namespace: str, sni: str | None, needs_sni: bool
) -> bool:
    """A TCP or TLS route: `port`, `gateways` and (TLS) `sniHosts` entries; entries ORed."""
    from gwpipe.istio import host_matches

    entries = route.get("match")
    if not entries:
        if needs_sni:
            raise CannotEvaluate("tls.match (required)")
        return True
    for entry in entries:
        entry = entry or {}
        unknown = set(entry) - L4_CONDITIONS
        if unknown:
            raise CannotEvaluate(f"match.{sorted(unknown)[0]}")
        if "port" in entry and entry["port"] != port:
            continue
        if "gateways" in entry and not _gateway_listed(entry["gateways"], gateway, namespace):
            continue
        if needs_sni:
            names = [str(h).lower() for h in entry.get("sniHosts") or []]
            if sni is None or not any(host_matches(sni.lower(), h) for h in names):
                continue
        return True
    return False


def _gateway_listed(refs: Any, gateway: str, namespace: str) -> bool:
    from gwpipe.checks.analysis.hosts import short_or_full

    return any("/".join(short_or_full(namespace, str(ref))) == gateway for ref in refs or [])
