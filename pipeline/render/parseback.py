"""Read every rendered document back and hold it to its request: one mapping, the planned identity, provenance."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from gwpipe import fast
from gwpipe.errors import Problem, RenderError
from gwpipe.model import ResourceRequest
from gwpipe.render.content import verify_content
from gwpipe.render.environment import MAX_OBJECT_BYTES, too_large
from gwpipe.render.readback import Loader
from gwpipe.spec.fastyaml import load_documents


def parse_back_all(
    requests: Sequence[ResourceRequest], texts: list[str], sources: Mapping[str, str] | None = None
) -> list[tuple[str, dict[str, Any]]]:
    """`_parse_back` of every text, most of them read together as one YAML stream (the same values, faster).

    `sources` maps a request's template name to the file that rendered it, which a dropped value names.
    """
    if not fast.enabled():
        return [_parse_back(request, text, sources) for request, text in zip(requests, texts, strict=True)]
    together = _read_together(texts)
    out = []
    for request, text, doc in zip(requests, texts, together, strict=True):
        if doc is _APART or doc is None:
            out.append(_parse_back(request, text, sources))  # read alone: any error gets its exact words
        else:
            _check_size(request, text)
            out.append((text, _held_to_plan(request, [doc], sources)))
    return out


_APART = object()


# a line that starts or ends a document, a directive, or a line break `^` cannot see (YAML 1.1 also
# breaks lines at CR, NEL, LS and PS): a text holding one is not read within a stream
_DOCUMENT_BOUNDARY = re.compile(r"^(?:---|\.\.\.)(?:[ \t\n]|$)|^%|[\r\x85\u2028\u2029\ufeff]", re.MULTILINE)


def _read_together(texts: list[str]) -> list[Any]:
    """Each text's one document, read from a single stream, or _APART for texts that must be read alone.

    A text without document markers or directives is exactly one document of a stream when preceded
    by `---`, and reads the same there as alone; the others, or all of them when the fast reader
    declines the stream, are left to `_parse_back`.
    """
    alone: list[Any] = [_APART] * len(texts)
    members = [i for i, t in enumerate(texts) if t.endswith("\n") and not _DOCUMENT_BOUNDARY.search(t)]
    if not members:
        return alone
    docs = load_documents("".join(f"---\n{texts[i]}" for i in members))
    if docs is None or len(docs) != len(members):
        return alone
    for i, doc in zip(members, docs, strict=True):
        alone[i] = doc
    return alone


def _check_size(request: ResourceRequest, text: str) -> None:
    if len(text.encode()) > MAX_OBJECT_BYTES:
        raise RenderError(Problem(f"template {request.template}", too_large(request.ref)))


def _parse_back(
    request: ResourceRequest, text: str, sources: Mapping[str, str] | None = None
) -> tuple[str, dict[str, Any]]:
    where = f"template {request.template}"
    _check_size(request, text)
    try:
        docs = [d for d in yaml.load_all(text, Loader=Loader) if d is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise RenderError(
            Problem(f"{where} (output{line})", f"{request.ref} is not valid YAML: {getattr(exc, 'problem', exc)}")
        ) from None
    return text, _held_to_plan(request, docs, sources)


def _held_to_plan(
    request: ResourceRequest, docs: list[Any], sources: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The one document of a request, which must be the mapping the plan asked for, with provenance and
    every value its plugins planned."""
    where = f"template {request.template}"
    if len(docs) != 1:
        raise RenderError(Problem(where, f"rendered {len(docs)} documents for {request.ref}; expected exactly 1"))
    obj = docs[0]
    if not isinstance(obj, dict):
        raise RenderError(Problem(where, f"rendered a {type(obj).__name__} for {request.ref}; expected a mapping"))
    metadata: dict[str, Any] = obj["metadata"] if isinstance(obj.get("metadata"), dict) else {}
    got = (obj.get("apiVersion"), obj.get("kind"), metadata.get("name"), metadata.get("namespace"))
    want = (request.api_version, request.kind, request.name, request.namespace)
    if got != want:
        raise RenderError(
            Problem(where, f"rendered apiVersion/kind/name/namespace {got} but the plan asked for {want}")
        )
    annotations = metadata.get("annotations") or {}
    if not isinstance(annotations, dict) or "gwpipe.dev/source" not in annotations:
        raise RenderError(Problem(where, f"{request.ref} lacks the provenance annotations; render meta.annotations"))
    verify_content(request, obj, (sources or {}).get(request.template) or where)
    return obj
