"""Read the objects of the files a plan compares: the render's own parse where it has one, else one fast pass.

`read_objects` gives exactly what `gwpipe.render.readback.load_object` gives file by file: texts
that read the same inside a YAML stream go through the event walk of `gwpipe.spec.fastyaml` as one
stream; the others, or all when the walk declines, are read alone with libyaml's loader.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from gwpipe import fast
from gwpipe.render.readback import load_object, one_line
from gwpipe.spec.fastyaml import load_documents

# what could make a text read differently inside a stream than alone: a document marker or directive,
# or a line break `^` does not see (YAML 1.1 also breaks lines at CR, NEL, LS and PS), or a BOM
_NOT_STREAMABLE = re.compile(r"^(?:---|\.\.\.)(?:[ \t\n]|$)|^%|[\r\x85\u2028\u2029\ufeff]", re.MULTILINE)


def read_objects(files: Mapping[str, bytes]) -> dict[str, dict[str, Any] | None]:
    """`load_object` of every file, path by path (None: not one readable YAML mapping)."""
    if not fast.enabled():
        return {path: load_object(data) for path, data in files.items()}
    out: dict[str, dict[str, Any] | None] = {}
    texts: dict[str, str] = {}
    for path, data in files.items():
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = ""
        if text.endswith("\n") and not _NOT_STREAMABLE.search(text):
            texts[path] = text
        else:
            out[path] = load_object(data)
    docs = load_documents("".join(f"---\n{t}" for t in texts.values())) if texts else []
    if docs is None or len(docs) != len(texts):
        out.update((path, load_object(files[path])) for path in texts)
    else:
        out.update((path, doc if isinstance(doc, dict) else None) for path, doc in zip(texts, docs, strict=True))
    return out


def ref_of(obj: dict[str, Any] | None, fallback: str) -> str:
    """`Kind namespace/name` of a read object, as `gwpipe.render.readback.object_ref` gives it from the bytes."""
    meta = obj.get("metadata") if obj else None
    if not obj or not isinstance(meta, dict) or "kind" not in obj or "name" not in meta:
        return fallback
    namespace = meta.get("namespace")
    return one_line(f"{obj['kind']} {namespace}/{meta['name']}" if namespace else f"{obj['kind']} {meta['name']}")
