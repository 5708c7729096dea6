"""Read every rendered document back and hold it to its request: one mapping, the planned identity, provenance."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from gwpipe import fast
from gwpipe.errors import Problem, RenderError
from gwpipe.model import ResourceRequest
from gwpipe.render.content import verify_content
from gwpipe.render.environment import MAX_OBJECT_BYTES, too_large
from gwpipe.render.readback import READ_ALONE, Loader, read_many


def parse_back_all(
    requests: Sequence[ResourceRequest], texts: list[str], sources: Mapping[str, str] | None = None
) -> list[tuple[str, dict[str, Any]]]:
    """`_parse_back` of every text, most of them read by `read_many` (the same values, faster).

    `sources` maps a request's template name to the file that rendered it, which a dropped value names.
    """
    if not fast.enabled():
        return [_parse_back(request, text, sources) for request, text in zip(requests, texts, strict=True)]
    out = []
    for request, text, doc in zip(requests, texts, read_many(texts), strict=True):
        if doc is READ_ALONE or doc is None:
            out.append(_parse_back(request, text, sources))  # read alone: any error gets its exact words
        else:
            _check_size(request, text)
            out.append((text, _held_to_plan(request, [doc], sources)))
    return out


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
