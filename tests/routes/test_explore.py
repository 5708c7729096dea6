"""Probe derivation and the shadowed-route proof: regex examples and match-entry subsumption."""

from __future__ import annotations

import re

import pytest

from gwpipe.routes.config import Topology
from gwpipe.routes.explore import example_of, probes, shadowed, subsumes

from .helpers import gateway, server, to, vs


@pytest.mark.parametrize("pattern", ["/v[0-9]+/users", "/(api|web)/.*", "/a\\d{2}x?", "/[^/]+/items", "^/exact$"])
def test_regex_examples_fully_match(pattern: str) -> None:
    example = example_of(pattern)
    assert example is not None
    assert re.fullmatch(pattern, example)


def test_regex_without_example_is_none() -> None:
    assert example_of("(?=x)y") is None


@pytest.mark.parametrize(
    ("outer", "inner", "expected"),
    [
        ({}, {"uri": {"exact": "/a"}}, True),
        ({"uri": {"prefix": "/api"}}, {"uri": {"prefix": "/api/v2"}}, True),
        ({"uri": {"prefix": "/api/v2"}}, {"uri": {"prefix": "/api"}}, False),
        ({"uri": {"prefix": "/a"}}, {"uri": {"exact": "/ab"}}, True),
        ({"uri": {"regex": "/a.*"}}, {"uri": {"exact": "/ab"}}, True),
        ({"uri": {"prefix": "/a"}, "method": {"exact": "GET"}}, {"uri": {"prefix": "/a"}}, False),
        ({"uri": {"prefix": "/A"}, "ignoreUriCase": True}, {"uri": {"prefix": "/ab"}}, True),
        ({"uri": {"prefix": "/a"}}, {"uri": {"prefix": "/ab"}, "ignoreUriCase": True}, False),
        ({"headers": {"X-K": {"prefix": "v"}}}, {"headers": {"x-k": {"exact": "v1"}}}, True),
        ({"headers": {"x-k": {}}}, {"uri": {"prefix": "/"}}, False),
        ({"sourceLabels": {"a": "b"}}, {}, False),
    ],
)
def test_subsumption(outer: dict[str, object], inner: dict[str, object], expected: bool) -> None:
    assert subsumes(outer, inner) is expected


def test_catch_all_first_shadows_everything_after_it() -> None:
    routes = [{"route": [to("all")]}, {"match": [{"uri": {"prefix": "/x"}}], "route": [to("x")]}]
    topology = Topology(
        [gateway("gw", [server(80, "HTTP", ["*"])]), vs("app", ["a.example.com"], ["istio-system/gw"], http=routes)]
    )
    assert [f.message for f in shadowed(topology)] == [
        "http[1] is shadowed by http[0]: every request it matches, http[0] matches first"
    ]
    found = probes(topology)
    assert [(str(p.route), p.reaches_own_route) for p in found] == [
        ("shop/app http[0]", True),
        ("shop/app http[1]", False),
    ]


def test_an_entry_reachable_through_another_entry_is_not_shadowed() -> None:
    routes = [
        {"match": [{"uri": {"prefix": "/x"}}], "route": [to("x")]},
        {"match": [{"uri": {"prefix": "/x/y"}}, {"uri": {"prefix": "/z"}}], "route": [to("xz")]},
    ]
    topology = Topology(
        [gateway("gw", [server(80, "HTTP", ["*"])]), vs("app", ["a.example.com"], ["istio-system/gw"], http=routes)]
    )
    assert shadowed(topology) == []
