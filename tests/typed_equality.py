"""Equality with types all the way down, for tests that compare two readers of the same YAML."""

from __future__ import annotations

from typing import Any


def same(a: Any, b: Any) -> bool:
    """Equal, with types: True must not pass for 1, nor 1.0 for 1; NaN equals NaN; keys in the same order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) and type(k) is type(k2) for k, k2 in zip(a, b, strict=True))
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b or (a != a and b != b))
