"""Generated probes: one request per route (its first match made concrete), and shadowed routes as findings."""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import Any

from gwpipe.model import Finding
from gwpipe.routes.cases import Request
from gwpipe.routes.config import HTTP_PROTOCOLS, Server, Topology, VirtualService
from gwpipe.routes.evaluate import evaluate
from gwpipe.routes.outcome import Outcome, RouteRef

SHADOWED = "GWP0101"
_ALWAYS_TRUE_URI: tuple[dict[str, str], ...] = ({"prefix": "/"}, {"prefix": ""}, {})


@dataclass(frozen=True)
class Probe:
    route: RouteRef
    request: Request | None
    outcome: Outcome | None
    note: str = ""

    @property
    def reaches_own_route(self) -> bool:
        return self.outcome is not None and self.outcome.route == self.route

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"route": str(self.route), "reached": self.reaches_own_route}
        if self.request is not None:
            out["request"] = self.request.as_dict()
        if self.outcome is not None:
            out["actual"] = self.outcome.as_dict()
        if self.note:
            out["note"] = self.note
        return out


def example_of(pattern: str) -> str | None:
    """A short string the regex fully matches, built from its parse tree (None when it cannot be built)."""
    try:
        tree = importlib.import_module("re._parser").parse(pattern)
        text = _build(tree)
    except (re.error, ValueError, KeyError, TypeError, IndexError):
        return None
    return text if text is not None and re.fullmatch(pattern, text) else None


def _build(items: Any) -> str | None:
    out = []
    for op, arg in items:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(arg))
        elif name == "ANY":
            out.append("x")
        elif name == "NOT_LITERAL":
            out.append("x" if arg != ord("x") else "y")
        elif name == "IN":
            out.append(_in(arg))
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, _high, sub = arg
            part = _build(sub)
            if part is None:
                return None
            out.append(part * low)
        elif name == "SUBPATTERN":
            part = _build(arg[-1])
            if part is None:
                return None
            out.append(part)
        elif name == "BRANCH":
            part = _build(arg[1][0])
            if part is None:
                return None
            out.append(part)
        elif name == "AT":
            continue
        else:
            return None
    return "".join(out)


def _in(items: Any) -> str:
    op, arg = items[0]
    name = str(op)
    if name == "NEGATE":
        return "~"
    if name == "LITERAL":
        return chr(arg)
    if name == "RANGE":
        return chr(arg[0])
    if name == "CATEGORY":
        return {"CATEGORY_DIGIT": "0", "CATEGORY_SPACE": " "}.get(str(arg), "a")
    raise ValueError(name)


def _value(rule: Any) -> str | None:
    """A value a StringMatch accepts."""
    if not isinstance(rule, dict) or not rule:
        return "probe"
    if "exact" in rule:
        return str(rule["exact"])
    if "prefix" in rule:
        return str(rule["prefix"])
    if "regex" in rule:
        return example_of(str(rule["regex"]))
    return None


def _concrete_host(domain: str) -> str:
    if domain == "*":
        return "probe.example.com"
    return "probe" + domain[1:] if domain.startswith("*") else domain


def _http_probe(server: Server, domain: str, entry: dict[str, Any]) -> tuple[Request | None, str]:
    scheme = "http" if server.protocol in HTTP_PROTOCOLS else "https"
    host = _concrete_host(domain)
    path, method = "/", "GET"
    if "uri" in entry:
        value = _value(entry["uri"])
        if value is None:
            return None, "cannot derive a path from match.uri"
        path = value if value.startswith("/") else "/" + value
    if "method" in entry:
        method = _value(entry["method"]) or ""
    if "authority" in entry:
        host = _value(entry["authority"]) or ""
    headers: dict[str, str] = {}
    for name, rule in (entry.get("headers") or {}).items():
        value = _value(rule)
        if value is None:
            return None, f"cannot derive a value for header {name}"
        headers[str(name).lower()] = value
    query = []
    for name, rule in (entry.get("queryParams") or {}).items():
        value = _value(rule)
        if value is None:
            return None, f"cannot derive a value for query parameter {name}"
        query.append(f"{name}={value}")
    if query:
        path += ("&" if "?" in path else "?") + "&".join(query)
    if not host or not method:
        return None, "cannot derive the authority or method"
    return Request(scheme, host, server.port, path, method, headers, gateway=server.gateway), ""


def _servers_of(topology: Topology, vs: VirtualService) -> list[tuple[Server, str]]:
    """(server, domain) for every server the VirtualService is bound to, redirecting servers last."""
    pairs: list[tuple[Server, str]] = []
    for server in topology.servers:
        if server.gateway in vs.gateways:
            pairs.extend((server, b.domain) for b in topology.bindings(server) if b.vs is vs)
    return sorted(pairs, key=lambda p: p[0].https_redirect)


def probes(topology: Topology) -> list[Probe]:
    """One probe per route of every VirtualService bound to a Gateway."""
    out: list[Probe] = []
    for vs in topology.virtual_services:
        bound = _servers_of(topology, vs)
        for section in ("http", "tcp", "tls"):
            for index, route in enumerate(vs.spec.get(section) or []):
                ref = RouteRef(vs.ref, section, index, str(route.get("name") or ""))
                out.append(_probe(topology, vs, section, route, ref, bound))
    return out


def _probe(
    topology: Topology, vs: VirtualService, section: str, route: Any, ref: RouteRef, bound: list[tuple[Server, str]]
) -> Probe:
    entry = dict((route.get("match") or [{}])[0] or {})
    wanted_port = entry.get("port")
    fitting = [(s, d) for s, d in bound if wanted_port in (None, s.port)]
    if section == "http":
        fitting = [(s, d) for s, d in fitting if s.protocol in HTTP_PROTOCOLS or s.protocol == "HTTPS"]
    elif section == "tls":
        fitting = [(s, d) for s, d in fitting if s.passthrough]
    else:
        fitting = [(s, d) for s, d in fitting if s.protocol not in HTTP_PROTOCOLS and s.protocol != "HTTPS"]
    if not fitting:
        return Probe(ref, None, None, "bound to no server that could carry it")
    server, domain = fitting[0]
    if section == "http":
        request, note = _http_probe(server, domain, entry)
    elif section == "tls":
        sni = next(iter(entry.get("sniHosts") or []), None)
        request = Request("tls", "", server.port, sni=_concrete_host(str(sni)), gateway=server.gateway) if sni else None
        note = "" if sni else "no sniHosts"
    else:
        scheme = "tls" if server.protocol == "TLS" else "tcp"
        request, note = Request(scheme, _concrete_host(domain), server.port, gateway=server.gateway), ""
    if request is None:
        return Probe(ref, None, None, note)
    return Probe(ref, request, evaluate(topology, request))


def implied(outer: Any, inner: Any, field: str, inner_case_free: bool = False, outer_case_free: bool = False) -> bool:
    """Whether every value the `inner` StringMatch accepts is accepted by `outer` (None: no condition)."""
    if outer is None or (field == "uri" and outer in _ALWAYS_TRUE_URI):
        return True
    if inner is None or not isinstance(outer, dict) or not isinstance(inner, dict):
        return False
    if not outer:
        return True
    if inner_case_free and not outer_case_free:
        return False

    def fold(text: Any) -> str:
        return str(text).lower() if outer_case_free else str(text)

    if "exact" in inner:
        value = fold(inner["exact"])
        if "exact" in outer:
            return value == fold(outer["exact"])
        if "prefix" in outer:
            return value.startswith(fold(outer["prefix"]))
        return "regex" in outer and not outer_case_free and re.fullmatch(str(outer["regex"]), value) is not None
    if "prefix" in inner and "prefix" in outer:
        return fold(inner["prefix"]).startswith(fold(outer["prefix"]))
    return "regex" in inner and inner == outer


def subsumes(outer: dict[str, Any], inner: dict[str, Any]) -> bool:
    """Whether every request the `inner` match entry takes is taken by `outer` (conservative: False if unsure)."""
    known = {"uri", "method", "authority", "scheme", "headers", "port", "ignoreUriCase", "name", "statPrefix"}
    if set(outer) - known:
        return False
    case_free = (bool(inner.get("ignoreUriCase")), bool(outer.get("ignoreUriCase")))
    if not implied(outer.get("uri"), inner.get("uri"), "uri", *case_free):
        return False
    for field in ("method", "authority", "scheme"):
        if not implied(outer.get(field), inner.get(field), field):
            return False
    if "port" in outer and outer["port"] != inner.get("port"):
        return False
    inner_headers = {str(k).lower(): v for k, v in (inner.get("headers") or {}).items()}
    for name, rule in (outer.get("headers") or {}).items():
        if not implied(rule, inner_headers.get(str(name).lower()), "headers"):
            return False
    return True


def shadowed(topology: Topology) -> list[Finding]:
    """HTTP routes no request can reach: each of their match entries is taken by an earlier route's entry."""
    findings = []
    for vs in topology.virtual_services:
        if not vs.gateways:
            continue
        routes = [r for r in vs.spec.get("http") or [] if isinstance(r, dict)]
        for index, route in enumerate(routes):
            entries = [e or {} for e in route.get("match") or [{}]]
            for earlier in range(index):
                before = [e or {} for e in routes[earlier].get("match") or [{}]]
                if all(any(subsumes(b, e) for b in before) for e in entries):
                    what = (
                        f"http[{index}] is shadowed by http[{earlier}]: every request it matches, "
                        f"http[{earlier}] matches first"
                    )
                    findings.append(Finding(SHADOWED, "Warning", "VirtualService", vs.namespace, vs.name, what))
                    break
    return findings
