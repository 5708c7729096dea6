"""Read rendered objects back from bytes: the fast safe loader, their `Kind namespace/name`, one-line text."""

from __future__ import annotations

import unicodedata
from typing import Any

import yaml

# libyaml's parser when PyYAML was built with it (~10x faster), else the pure-Python one
Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def one_line(text: str) -> str:
    """`text` with control and format characters escaped: a value read back from a repository (or a
    hand-edited file) cannot start a new line, a commit trailer or a terminal sequence."""
    if text.isprintable():  # no Cc/Cf/Zl/Zp in it: the common case, without a per-character loop
        return text
    return "".join(
        ch.encode("unicode_escape").decode("ascii") if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch
        for ch in text
    )


def load_object(data: bytes) -> dict[str, Any] | None:
    """The mapping in `data`, or None when it is not one readable YAML mapping."""
    try:
        obj = yaml.load(data, Loader=Loader)
    except yaml.YAMLError:
        return None
    return obj if isinstance(obj, dict) else None


def object_ref(data: bytes, fallback: str) -> str:
    """`Kind namespace/name` (or `Kind name`) of the object in `data`, on one line; `fallback` when unreadable."""
    obj = load_object(data)
    meta = obj.get("metadata") if obj else None
    if not obj or not isinstance(meta, dict) or "kind" not in obj or "name" not in meta:
        return fallback
    namespace = meta.get("namespace")
    return one_line(f"{obj['kind']} {namespace}/{meta['name']}" if namespace else f"{obj['kind']} {meta['name']}")
