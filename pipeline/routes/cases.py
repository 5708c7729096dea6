"""Route test cases: the `cases:` file format and the spec's `tests:` list, validated with located errors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gwpipe.errors import Problem, UsageError

Where = Callable[..., str]  # path parts below the case list -> `file:line:col: dotted.field`

SCHEMES = ("http", "https", "tcp", "tls")
DEFAULT_PORTS = {"http": 80, "https": 443}
EXPECT_KINDS = ("destination", "weights", "redirect", "status", "connection")
_REQUEST_KEYS = {"scheme", "host", "port", "path", "method", "headers", "sni", "gateway"}


@dataclass(frozen=True)
class Request:
    """One request as a client sends it to the ingress."""

    scheme: str
    host: str = ""
    port: int = 0
    path: str = "/"
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    sni: str | None = None
    gateway: str | None = None  # `namespace/name`: pins the request to one Gateway's workload

    @property
    def host_name(self) -> str:
        """The Host header without a port."""
        name = self.host
        if name.startswith("["):
            return name.split("]", 1)[0] + "]"
        return name.rsplit(":", 1)[0] if name.count(":") == 1 else name

    @property
    def server_name(self) -> str | None:
        """The SNI the client sends: given, or the host for TLS schemes."""
        if self.sni is not None:
            return self.sni or None
        return self.host_name or None if self.scheme in ("https", "tls") else None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"scheme": self.scheme, "host": self.host, "port": self.port}
        if self.scheme in ("http", "https"):
            out.update(path=self.path, method=self.method)
            if self.headers:
                out["headers"] = dict(self.headers)
        if self.sni is not None:
            out["sni"] = self.sni
        if self.gateway:
            out["gateway"] = self.gateway
        return out


@dataclass(frozen=True)
class Case:
    name: str
    request: Request
    expect: dict[str, Any]
    where: str = ""


def parse_cases(items: Any, where: Where) -> tuple[list[Case], list[Problem]]:
    """Cases from a list of mappings; `where(*path)` locates each field for error lines."""
    if not isinstance(items, list):
        return [], [_problem(where(), "expected a list of cases")]
    cases: list[Case] = []
    problems: list[Problem] = []
    names: set[str] = set()
    for index, item in enumerate(items):
        before = len(problems)
        case = _case(item, index, where, problems)
        if case is not None and len(problems) == before:
            if case.name in names:
                problems.append(_problem(where(index, "name"), f"duplicate case name {case.name!r}"))
            names.add(case.name)
            cases.append(case)
    return cases, problems


def _problem(located: str, what: str) -> Problem:
    head, _, dotted = located.partition(": ")
    return Problem(f"{head}: {dotted}" if dotted else head, what)


def _case(item: Any, index: int, where: Where, problems: list[Problem]) -> Case | None:
    if not isinstance(item, dict):
        problems.append(_problem(where(index), "expected a mapping with name, request and expect"))
        return None
    for key in sorted(set(item) - {"name", "request", "expect", "description"}):
        problems.append(_problem(where(index, key), "unknown field"))
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append(_problem(where(index, "name"), "required: a non-empty string"))
        name = f"case {index + 1}"
    request = _request(item.get("request"), lambda *p: where(index, "request", *p), problems)
    expect = _expect(item.get("expect"), lambda *p: where(index, "expect", *p), problems)
    if request is None or expect is None:
        return None
    return Case(name, request, expect, where(index).split(": ", 1)[0])


def _request(raw: Any, where: Where, problems: list[Problem]) -> Request | None:
    if not isinstance(raw, dict):
        problems.append(_problem(where(), "required: a mapping with scheme and host"))
        return None
    for key in sorted(set(raw) - _REQUEST_KEYS, key=str):
        problems.append(_problem(where(key), "unknown field"))
    scheme = raw.get("scheme")
    if scheme not in SCHEMES:
        problems.append(_problem(where("scheme"), f"expected one of {', '.join(SCHEMES)}, got {scheme!r}"))
        return None
    host = raw.get("host", "")
    if not isinstance(host, str) or (not host and scheme in ("http", "https")):
        problems.append(_problem(where("host"), "required: a host name"))
        return None
    port = raw.get("port", DEFAULT_PORTS.get(scheme))
    if port is None:
        problems.append(_problem(where("port"), f"required for scheme {scheme}"))
        return None
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        problems.append(_problem(where("port"), f"expected a port number 1-65535, got {port!r}"))
        return None
    path = raw.get("path", "/")
    if not isinstance(path, str) or not path.startswith("/"):
        problems.append(_problem(where("path"), f"expected a path starting with '/', got {path!r}"))
        return None
    method = raw.get("method", "GET")
    if not isinstance(method, str) or not method:
        problems.append(_problem(where("method"), "expected an HTTP method"))
        return None
    headers = raw.get("headers", {})
    if not isinstance(headers, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
        problems.append(_problem(where("headers"), "expected a mapping of header names to string values"))
        return None
    sni = raw.get("sni")
    if sni is not None and not isinstance(sni, str):
        problems.append(_problem(where("sni"), "expected a server name"))
        return None
    gateway = raw.get("gateway")
    if gateway is not None and (not isinstance(gateway, str) or gateway.count("/") != 1):
        problems.append(_problem(where("gateway"), "expected namespace/name of a Gateway"))
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    return Request(scheme, host, port, path, method, lowered, sni, gateway)


def _expect(raw: Any, where: Where, problems: list[Problem]) -> dict[str, Any] | None:
    if not isinstance(raw, dict) or len([k for k in raw if k in EXPECT_KINDS]) != 1:
        problems.append(_problem(where(), f"required: exactly one of {', '.join(EXPECT_KINDS)}"))
        return None
    for key in sorted(set(raw) - set(EXPECT_KINDS), key=str):
        problems.append(_problem(where(key), "unknown field"))
    kind = next(k for k in raw if k in EXPECT_KINDS)
    value = raw[kind]
    what = None
    if kind == "destination":
        what = _destination_problem(value, weighted=False)
    elif kind == "weights":
        if not isinstance(value, list) or not value:
            what = "expected a non-empty list of {host, port, weight}"
        else:
            for i, entry in enumerate(value):
                entry_problem = _destination_problem(entry, weighted=True)
                if entry_problem:
                    problems.append(_problem(where(kind, i), entry_problem))
                    return None
    elif kind == "redirect":
        if not isinstance(value, dict) or not value or set(value) - {"status", "location"}:
            what = "expected a mapping with status and/or location"
        elif "status" in value and not _is_int(value["status"]):
            what = "status must be an integer"
        elif "location" in value and not isinstance(value["location"], str):
            what = "location must be a string"
    elif kind == "status":
        if not _is_int(value) or not 100 <= value <= 599:
            what = f"expected an HTTP status 100-599, got {value!r}"
    elif value != "fail":
        what = f"the only expected connection outcome is 'fail', got {value!r}"
    if what:
        problems.append(_problem(where(kind), what))
        return None
    return {kind: value}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _destination_problem(value: Any, weighted: bool) -> str | None:
    keys = {"host", "port", "weight"} if weighted else {"host", "port"}
    if not isinstance(value, dict) or not isinstance(value.get("host"), str) or not value["host"]:
        return "expected a mapping with host" + (", port and weight" if weighted else " and optional port")
    if set(value) - keys:
        return f"unknown field {sorted(set(value) - keys)[0]!r}"
    if "port" in value and (not _is_int(value["port"]) or not 1 <= value["port"] <= 65535):
        return f"port must be a number 1-65535, got {value['port']!r}"
    if weighted and (not _is_int(value.get("weight")) or not 0 <= value["weight"] <= 100):
        return f"weight must be a number 0-100, got {value.get('weight')!r}"
    return None


def load_cases_file(path: str) -> list[Case]:
    """The cases of a `cases:` file; any problem is a UsageError listing every located field."""
    from gwpipe.errors import SpecError
    from gwpipe.spec.yamlload import format_path, load_yaml_file

    try:
        loaded = load_yaml_file(path, path)
    except SpecError as exc:
        raise UsageError(*exc.problems) from None

    def where(*sub: str | int) -> str:
        full = ("cases", *sub)
        for end in range(len(full), 0, -1):
            loc = loaded.locations.get(full[:end])
            if loc is not None:
                return f"{loc.file}:{loc.line}: {format_path(full)}"
        return f"{path}: {format_path(full)}"

    if set(loaded.data) - {"cases"}:
        first = sorted(set(loaded.data) - {"cases"}, key=str)[0]
        loc = loaded.locations.get((first,))
        raise UsageError(Problem(f"{path}:{loc.line}" if loc else path, f"{first}: unknown field (expected cases)"))
    if "cases" not in loaded.data:
        raise UsageError(Problem(path, "cases: required field missing"))
    cases, problems = parse_cases(loaded.data["cases"], where)
    if problems:
        raise UsageError(*problems)
    return cases


def spec_cases(spec: Any) -> list[Case]:
    """The `tests:` list of a loaded spec (inherited through `extends` like any key)."""
    from gwpipe.errors import SpecError

    raw = spec.get("tests")
    if raw is None:
        return []

    def where(*sub: str | int) -> str:
        loc = spec.location(("tests", *sub))
        from gwpipe.spec.yamlload import format_path

        head = f"{loc.file}:{loc.line}" if loc else spec.file
        return f"{head}: {format_path(('tests', *sub))}"

    cases, problems = parse_cases(raw, where)
    if problems:
        raise SpecError(*problems)
    return cases
