"""Hold a parsed-back object to its request's content: every value a plugin planned must reach the output."""

from __future__ import annotations

import functools
import re
from typing import Any

from gwpipe.errors import Problem, RenderError
from gwpipe.model import ResourceRequest

# keys gwpipe writes itself over whatever a plugin put in `values` (see render.objects)
GWPIPE_LABELS = frozenset({"app.kubernetes.io/managed-by"})
GWPIPE_ANNOTATIONS = frozenset({"gwpipe.dev/environment", "gwpipe.dev/plugins", "gwpipe.dev/source"})

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_ABSENT = object()

Segment = str | int


def verify_content(request: ResourceRequest, obj: dict[str, Any], where: str) -> None:
    """Refuse `obj` when a planned leaf of a content value, a label or an annotation is not in it."""
    values = request.values
    for key, path in request.content.items():
        planned = values.get(key)
        if planned is None:
            continue
        got = _at(obj, path)
        # the usual case: the template wrote exactly the plan, and one C-level comparison proves it
        if got == planned:
            continue
        miss = _first_miss(planned, got)
        if miss is not None:
            raise _dropped(request, where, path, key, miss)
    for key, owned in (("labels", GWPIPE_LABELS), ("annotations", GWPIPE_ANNOTATIONS)):
        planned = values.get(key)
        if planned:
            got = _at(obj, f"metadata.{key}")
            mine = {k: v for k, v in planned.items() if k not in owned}
            miss = _first_miss(mine, got)
            if miss is not None:
                raise _dropped(request, where, f"metadata.{key}", key, miss)


def _at(obj: Any, path: str) -> Any:
    for part in _parts(path):
        if not isinstance(obj, dict) or part not in obj:
            return _ABSENT
        obj = obj[part]
    return obj


@functools.cache
def _parts(path: str) -> tuple[str, ...]:
    # a handful of distinct content paths, asked for every object rendered
    return tuple(path.split("."))


def _first_miss(planned: Any, got: Any) -> list[Segment] | None:
    """The path below which `got` lacks or differs from a leaf of `planned`; None when it holds them all.

    Extra keys and items in `got` are fine (a template may add defaults); an empty planned mapping or
    list has no leaves, and a planned None means "absent".
    """
    if planned is None:
        return None
    if isinstance(planned, dict):
        if not isinstance(got, dict):
            return [] if planned else None
        for key, value in planned.items():
            below = _first_miss(value, got.get(key, _ABSENT))
            if below is not None:
                return [key, *below]
        return None
    if isinstance(planned, list | tuple):
        if not isinstance(got, list):
            return [] if planned else None
        for index, value in enumerate(planned):
            below = _first_miss(value, got[index] if index < len(got) else _ABSENT)
            if below is not None:
                return [index, *below]
        return None
    # bool is an int in Python: 1 must not stand in for true
    return None if got == planned and type(got) is type(planned) else []


def _dotted(segments: list[Segment]) -> str:
    out = []
    for part in segments:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif _PLAIN_KEY.fullmatch(part):
            out.append(f".{part}")
        else:
            out.append(f"[{part!r}]")
    return "".join(out)


def _dropped(request: ResourceRequest, where: str, path: str, key: str, miss: list[Segment]) -> RenderError:
    field = path + _dotted(miss)
    return RenderError(
        Problem(where, f"{request.ref}: {field} set by {blame(request, key + _dotted(miss))} did not reach the output")
    )


def blame(request: ResourceRequest, value_path: str) -> str:
    """`plugin 'x'` for the plugin that set `value_path`: the one that named it (or a path above or
    below it) in `touch`, else the request's only plugin, else every plugin that changed the request."""
    for path, plugin in sorted(request.setters.items(), key=lambda item: -len(item[0])):
        if _related(path, value_path):
            return f"plugin {plugin!r}"
    if not request.contributors:
        return f"plugin {request.plugin!r}"
    return "one of the plugins " + ", ".join(repr(p) for p in request.plugins)


def _related(a: str, b: str) -> bool:
    """One value path is the other or lies below it."""
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    return long == short or (long.startswith(short) and long[len(short)] in ".[")
