"""Read rendered objects back from bytes: the fast safe loader, many texts at once, `Kind namespace/name`."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import yaml

from gwpipe.spec.blockread import read_block
from gwpipe.spec.fastyaml import load_documents

# libyaml's parser when PyYAML was built with it (~10x faster), else the pure-Python one
Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# a text that `read_many` leaves to the caller, who reads it alone with `Loader`
READ_ALONE: Any = object()

# what could make a text read differently inside a stream than alone: a document marker or directive,
# or a line break `^` does not see (YAML 1.1 also breaks lines at CR, NEL, LS and PS), or a BOM
_NOT_STREAMABLE = re.compile(r"^(?:---|\.\.\.)(?:[ \t\n]|$)|^%|[\r\x85\u2028\u2029\ufeff]", re.MULTILINE)


def read_many(texts: list[str]) -> list[Any]:
    """Each text's one document as `yaml.load(text, Loader)` gives it, or READ_ALONE.

    Texts in the block shape templates write are read line by line (`blockread`); the others that
    hold no document marker are read together as one YAML stream by the event walk; what both
    decline (more or fewer than one document, anchors, an error to word) is READ_ALONE.
    """
    out = [read_block(text) for text in texts]
    streamed = [i for i, value in enumerate(out) if value is None and texts[i].endswith("\n")]
    streamed = [i for i in streamed if not _NOT_STREAMABLE.search(texts[i])]
    docs = load_documents("".join(f"---\n{texts[i]}" for i in streamed)) if streamed else []
    if docs is not None and len(docs) == len(streamed):
        for i, doc in zip(streamed, docs, strict=True):
            out[i] = doc
    return [READ_ALONE if value is None else value for value in out]


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
