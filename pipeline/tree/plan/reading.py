"""Read the objects of the files a plan compares: the render's own parse where it has one, else one fast pass.

`read_objects` gives exactly what `gwpipe.render.readback.load_object` gives file by file, through
`gwpipe.render.readback.read_many`; the texts it declines are read alone with libyaml's loader.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gwpipe import fast
from gwpipe.render.readback import READ_ALONE, load_object, one_line, read_many


def read_objects(files: Mapping[str, bytes]) -> dict[str, dict[str, Any] | None]:
    """`load_object` of every file, path by path (None: not one readable YAML mapping)."""
    if not fast.enabled():
        return {path: load_object(data) for path, data in files.items()}
    out: dict[str, dict[str, Any] | None] = {}
    texts: dict[str, str] = {}
    for path, data in files.items():
        try:
            texts[path] = data.decode("utf-8")
        except UnicodeDecodeError:
            out[path] = load_object(data)
    for path, doc in zip(texts, read_many(list(texts.values())), strict=True):
        out[path] = load_object(files[path]) if doc is READ_ALONE else doc if isinstance(doc, dict) else None
    return out


def ref_of(obj: dict[str, Any] | None, fallback: str) -> str:
    """`Kind namespace/name` of a read object, as `gwpipe.render.readback.object_ref` gives it from the bytes."""
    meta = obj.get("metadata") if obj else None
    if not obj or not isinstance(meta, dict) or "kind" not in obj or "name" not in meta:
        return fallback
    namespace = meta.get("namespace")
    return one_line(f"{obj['kind']} {namespace}/{meta['name']}" if namespace else f"{obj['kind']} {meta['name']}")
