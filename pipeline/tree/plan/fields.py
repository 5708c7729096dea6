"""The field-path fallback: every changed leaf of an object (`spec.gateways`, `metadata.labels.app`) not shown otherwise."""

from __future__ import annotations

import re
from typing import Any

from gwpipe.tree.plan.facts import COVERED, text

_INDEX = re.compile(r"\[\d+\]")


def leaves(value: Any, prefix: str) -> list[tuple[str, str]]:
    """(dotted path, one-line value) of every leaf; a list of scalars is one leaf, as are empty collections."""
    if isinstance(value, dict) and value:
        return [item for key in sorted(value, key=str) for item in leaves(value[key], f"{prefix}.{key}")]
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        return [item for index, v in enumerate(value) for item in leaves(v, f"{prefix}[{index}]")]
    return [(prefix, text(value))]


def covered(kind: str, path: str) -> bool:
    """Whether the facts of `kind` already show every change at `path`."""
    pattern = _INDEX.sub("[*]", path)
    return any(pattern == c or pattern.startswith((f"{c}.", f"{c}[")) for c in COVERED.get(kind, ()))


def field_changes(
    old: dict[str, Any], new: dict[str, Any], everything: bool = False
) -> list[tuple[str, str | None, str | None]]:
    """(path, before, after) of every leaf that differs, None for a side without it; `everything`: covered ones too."""
    kind = str(new.get("kind", old.get("kind", "")))
    before = {p: v for p, v in _top_leaves(old) if everything or not covered(kind, p)}
    after = {p: v for p, v in _top_leaves(new) if everything or not covered(kind, p)}
    return [
        (path, before.get(path), after.get(path))
        for path in sorted(set(before) | set(after))
        if before.get(path) != after.get(path)
    ]


def _top_leaves(obj: dict[str, Any]) -> list[tuple[str, str]]:
    return [item for key in sorted(obj, key=str) for item in leaves(obj[key], str(key))]
