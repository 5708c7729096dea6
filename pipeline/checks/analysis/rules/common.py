"""Value checks shared by the admission rules: durations, string matches, header names, label maps."""

from __future__ import annotations

import functools
import re
from fractions import Fraction
from typing import Any

_DURATION = re.compile(r"^(?:(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))+$")
_UNIT_NS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
PSEUDO_HEADERS = {":method", ":scheme", ":authority", ":path", ":status"}
_LABEL_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
# constructs Python's re accepts but RE2 (Envoy's engine) refuses
_NOT_RE2 = re.compile(r"\(\?[=!]|\(\?<[=!]|\\[1-9]|\(\?P=")


def duration_ns(value: Any) -> int | None:
    """A Go-style duration ("1.5s", "1m30s", "250ms") in nanoseconds, or None when invalid."""
    return _text_duration_ns(value) if isinstance(value, str) else None


@functools.lru_cache(maxsize=4096)
def _text_duration_ns(text: str) -> int | None:
    # a set repeats a handful of timeouts across all its routes
    if not _DURATION.match(text):
        return None
    # exact arithmetic: "0.0015s" must come out as 1500000ns, not a float a hair off, for the precision rule
    return int(sum(Fraction(n) * _UNIT_NS[u] for n, u in _PART.findall(text)))


def duration_problem(value: Any) -> str | None:
    """`ValidateDuration`: at least 1ms, and a whole number of milliseconds (Envoy's precision)."""
    ns = duration_ns(value)
    if ns is None:
        return f"invalid duration {value!r}"
    if ns < 1_000_000:
        return f"duration {value!r} must be at least 1ms"
    if ns % 1_000_000:
        return f"duration {value!r}: only durations to ms precision are supported"
    return None


def regex_problem(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return "regex must not be empty"
    if len(value) > 1024:
        return "regex is longer than 1024 characters"
    if _NOT_RE2.search(value):
        return f"regex {value!r} uses a construct RE2 does not support"
    try:
        re.compile(value)
    except re.error as exc:
        return f"regex {value!r} does not compile: {exc}"
    return None


def string_match_problem(match: Any, allow_empty_prefix: bool = False, allow_star_regex: bool = False) -> str | None:
    """Why a StringMatch ({exact|prefix|regex}) is invalid, or None."""
    if not isinstance(match, dict):
        return "string match must be a mapping with exact, prefix or regex"
    if ("exact" in match) + ("prefix" in match) + ("regex" in match) > 1:
        kinds = [k for k in ("exact", "prefix", "regex") if k in match]
        return f"only one of exact, prefix, regex may be set, got {', '.join(kinds)}"
    if "prefix" in match and not match["prefix"] and not allow_empty_prefix:
        return "prefix match must not be empty"
    if "regex" in match and not (allow_star_regex and match["regex"] == "*"):
        return regex_problem(match["regex"])
    return None


def is_jwt_claim(name: str) -> bool:
    lowered = name.lower()
    return lowered.startswith(("@request.auth.claims.", "@request.auth.claims["))


def header_name_ok(name: str) -> bool:
    return bool(TOKEN.match(name)) or name in PSEUDO_HEADERS or is_jwt_claim(name)


def label_problem(labels: Any) -> str | None:
    if labels is None:
        return None
    if not isinstance(labels, dict):
        return "labels must be a mapping"
    for k, v in labels.items():
        if not isinstance(k, str) or not _LABEL_KEY.match(k) or len(k.rsplit("/", 1)[-1]) > 63:
            return f"invalid label key {k!r}"
        if not isinstance(v, str) or not _LABEL_VALUE.match(v) or len(v) > 63:
            return f"invalid label value {v!r}"
    return None


def number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def percent_problem(value: Any) -> str | None:
    """Istio percentages: a mapping {value: 0..100}."""
    if value is None:
        return None
    raw = value.get("value") if isinstance(value, dict) else None
    n = number(raw) if raw is not None else 0.0
    if n is None or not 0 <= n <= 100:
        return f"percentage must be in range 0..100, got {raw!r}"
    return None
