"""Host coverage by certificate names: TLS wildcards are single-label, unlike Istio's host matching."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gwpipe.certs.coverage import bare_host, covers, uncovered

LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
DOMAIN = st.lists(LABEL, min_size=2, max_size=4).map(".".join)


@pytest.mark.parametrize(
    ("name", "host", "expected"),
    [
        ("a.example.com", "a.example.com", True),
        ("A.Example.COM", "a.example.com", True),
        ("*.example.com", "a.example.com", True),
        ("*.example.com", "a.b.example.com", False),  # Istio's *.example.com would match this host
        ("*.example.com", "example.com", False),
        ("*.example.com", "*.example.com", True),
        ("a.example.com", "*.example.com", False),
        ("*.b.example.com", "*.example.com", False),
        ("*.example.com", "*", False),
        ("*", "a.example.com", False),
        ("a.example.com", "shop/a.example.com", True),
        ("a.example.com", "./a.example.com", True),
    ],
)
def test_covers(name: str, host: str, expected: bool) -> None:
    assert covers(name, host) is expected


@given(DOMAIN, LABEL)
def test_wildcard_covers_exactly_one_more_label(domain: str, label: str) -> None:
    assert covers(f"*.{domain}", f"{label}.{domain}")
    assert not covers(f"*.{domain}", f"{label}.{label}.{domain}")
    assert not covers(f"*.{domain}", domain)


@given(DOMAIN, DOMAIN)
def test_an_exact_name_covers_only_itself(name: str, host: str) -> None:
    assert covers(name, host) is (name == host)


def test_uncovered_is_sorted_and_unique() -> None:
    hosts = ["b.example.com", "x.y.example.com", "ns/b.example.com", "a.example.com"]
    assert uncovered(["*.example.com"], hosts) == ["x.y.example.com"]
    assert uncovered([], hosts) == ["a.example.com", "b.example.com", "x.y.example.com"]
    assert bare_host("ns/A.example.com.") == "a.example.com"
