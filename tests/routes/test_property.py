"""Property tests: the evaluator against a small, independent reference model of the same Istio rules."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from .helpers import gateway, go, request, server, to, vs

GW = "istio-system/gw"
SEGMENTS = st.sampled_from(["", "a", "ab", "b", "api", "v1"])
PATHS = st.lists(SEGMENTS, min_size=1, max_size=3).map(lambda parts: "/" + "/".join(parts))
REGEXES = st.sampled_from(["/a.*", "/[ab]+", "/api/v[0-9]", "/(a|b)/.*", ".*1"])
METHODS = st.sampled_from(["GET", "POST"])
HEADER_VALUES = st.sampled_from(["qa", "qa-1", "prod"])


@st.composite
def string_rules(draw: st.DrawFn, values: st.SearchStrategy[str], regexes: st.SearchStrategy[str]) -> dict[str, str]:
    kind = draw(st.sampled_from(["exact", "prefix", "regex"]))
    return {kind: draw(regexes if kind == "regex" else values)}


@st.composite
def entries(draw: st.DrawFn) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    if draw(st.booleans()):
        entry["uri"] = draw(string_rules(PATHS, REGEXES))
        if draw(st.booleans()):
            entry["ignoreUriCase"] = True
    if draw(st.booleans()):
        entry["method"] = {"exact": draw(METHODS)}
    if draw(st.booleans()):
        entry["headers"] = {
            draw(st.sampled_from(["x-env", "X-Env"])): draw(string_rules(HEADER_VALUES, st.just("qa.*")))
        }
    if draw(st.booleans()):
        entry["withoutHeaders"] = {"x-debug": {}}
    return entry


ROUTES = st.lists(st.lists(entries(), max_size=3), min_size=1, max_size=5)
HEADERS = st.fixed_dictionaries({}, optional={"X-ENV": HEADER_VALUES, "x-debug": st.just("1")})


def reference_value(rule: dict[str, str], value: str | None, fold: bool = False) -> bool:
    if value is None:
        return False
    ((kind, text),) = rule.items()
    if kind == "regex":
        return re.match(f"(?:{text})\\Z", value) is not None
    have, want = (value.casefold(), text.casefold()) if fold else (value, text)
    return have == want if kind == "exact" else have[: len(want)] == want


def reference_entry(entry: dict[str, Any], path: str, method: str, headers: dict[str, str]) -> bool:
    lowered = {k.casefold(): v for k, v in headers.items()}
    checks = []
    if "uri" in entry:
        kind = next(iter(entry["uri"]))
        checks.append(
            reference_value(
                entry["uri"], path.split("?")[0], fold=entry.get("ignoreUriCase", False) and kind != "regex"
            )
        )
    if "method" in entry:
        checks.append(reference_value(entry["method"], method))
    for name, rule in entry.get("headers", {}).items():
        checks.append(reference_value(rule, lowered.get(name.casefold())))
    for name in entry.get("withoutHeaders", {}):
        checks.append(name.casefold() not in lowered)
    return all(checks)


def reference_route(matches: list[list[dict[str, Any]]], path: str, method: str, headers: dict[str, str]) -> int | None:
    for index, entries_of_route in enumerate(matches):
        if not entries_of_route or any(reference_entry(e, path, method, headers) for e in entries_of_route):
            return index
    return None


@settings(max_examples=600, deadline=None)
@given(ROUTES, st.data(), st.booleans(), st.sampled_from(["", "?x=1"]), METHODS, HEADERS)
def test_route_choice_matches_reference(
    matches: list[list[dict[str, Any]]],
    data: st.DataObject,
    shout: bool,
    query: str,
    method: str,
    headers: dict[str, str],
) -> None:
    # the routes' own exact and prefix paths, and their case variants, reach the edges of each rule
    own = [v for m in matches for e in m for k, v in e.get("uri", {}).items() if k != "regex"]
    path = data.draw(st.one_of(PATHS, st.sampled_from(own)) if own else PATHS)
    path = path.upper() if shout else path
    routes = [({"match": m} if m else {}) | {"route": [to(f"r{i}")]} for i, m in enumerate(matches)]
    objects = [gateway("gw", [server(80, "HTTP", ["*"])]), vs("app", ["a.example.com"], [GW], http=routes)]
    outcome = go(objects, request(path=path + query, method=method, headers=headers))
    expected = reference_route(matches, path, method, headers)
    if expected is None:
        assert (outcome.kind, outcome.status) == ("status", 404)
    else:
        assert outcome.kind == "route"
        assert outcome.route is not None
        assert outcome.route.index == expected


HOST_NAMES = st.sampled_from(["a.x.com", "b.x.com", "*.x.com", "*.com", "*", "a.y.com", "*.y.com", "*x.com"])


def reference_host(hosts: list[str], name: str) -> str | None:
    if name in hosts:
        return name
    wild = [
        h for h in hosts if h.startswith("*") and len(name) > len(h) - 1 and name[len(name) - len(h) + 1 :] == h[1:]
    ]
    return max(wild, key=len) if wild else None


@settings(max_examples=300, deadline=None)
@given(
    st.lists(HOST_NAMES, min_size=1, max_size=5, unique=True),
    st.sampled_from(["a.x.com", "c.x.com", "a.y.com", "zx.com", "q.org"]),
)
def test_virtual_host_choice_matches_reference(hosts: list[str], name: str) -> None:
    objects: list[dict[str, Any]] = [gateway("gw", [server(80, "HTTP", ["*"])])]
    objects += [vs(f"vs{i}", [h], [GW], http=[{"route": [to(h)]}]) for i, h in enumerate(hosts)]
    outcome = go(objects, request(host=name))
    expected = reference_host(hosts, name)
    if expected is None:
        assert outcome.status == 404
    else:
        assert [d.host for d in outcome.destinations] == [expected]
