"""Render resource requests with jinja2, one object per request, bounded in size and time."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jinja2
import jinja2.sandbox

from gwpipe.errors import Problem, RenderError
from gwpipe.model import RenderedObject, ResourceRequest
from gwpipe.parallel import fork_map
from gwpipe.render.environment import MAX_OBJECT_BYTES, builtin_template_dir, too_large
from gwpipe.render.parseback import parse_back_all
from gwpipe.spec.load import Spec
from gwpipe.tree.layout import object_path

# wall-clock budget for rendering one object with user-supplied (sandboxed) templates
USER_TEMPLATE_SECONDS = 5.0


MANAGED_BY = {"app.kubernetes.io/managed-by": "gwpipe"}


class TemplateTimeout(Exception):
    """A user template ran longer than USER_TEMPLATE_SECONDS."""


def provenance(spec: Spec, request: ResourceRequest) -> dict[str, str]:
    """The annotations that trace an object back to its spec file and plugins."""
    return {
        "gwpipe.dev/environment": spec.name,
        "gwpipe.dev/plugins": ",".join(request.plugins),
        "gwpipe.dev/source": spec.derived("gwpipe.source_name", source_name),
    }


def source_name(spec: Spec) -> str:
    """The spec's path relative to the folder above its root: stable across machines and checkouts."""
    base = spec.root.parent
    try:
        return Path(os.path.abspath(spec.file)).relative_to(base).as_posix()
    except ValueError:
        return Path(spec.file).name


def render_requests(spec: Spec, requests: list[ResourceRequest], env: jinja2.Environment) -> list[RenderedObject]:
    """Render each request, parse it back, and refuse any document that does not match its request."""
    ordered = sorted(requests, key=lambda r: (r.kind, r.namespace or "", r.name))
    # compile every template up front: a forked worker then inherits them instead of compiling again
    templates = {r.template: _load(env, r) for r in ordered if r.template}
    sources = {name: _short_template(t.filename or name) for name, t in templates.items()}

    def render_chunk(chunk: Sequence[ResourceRequest]) -> list[tuple[str, dict[str, Any]]]:
        texts: list[str] = []
        for request in chunk:
            try:
                texts.append(_render_one(spec, templates[request.template], request))
            except RenderError:
                # objects are judged in order: an earlier object's bad output is the error to report
                parse_back_all(chunk[: len(texts)], texts, sources)
                raise
        return parse_back_all(chunk, texts, sources)

    pairs = fork_map(render_chunk, ordered)
    return [
        RenderedObject(request=request, text=text, obj=obj, path=object_path(request))
        for request, (text, obj) in zip(ordered, pairs, strict=True)
    ]


def _render_one(spec: Spec, template: jinja2.Template, request: ResourceRequest) -> str:
    meta = {
        "name": request.name,
        "namespace": request.namespace,
        # plugins may add labels/annotations through values; gwpipe's own keys always win
        "labels": {**request.values.get("labels", {}), **MANAGED_BY},
        "annotations": {**request.values.get("annotations", {}), **provenance(spec, request)},
    }
    limit = template_seconds() if template.environment.sandboxed else None
    try:
        with _deadline(limit):
            return _bounded_render(template, request, meta)
    except RenderError:
        raise
    except TemplateTimeout as exc:
        where = _template_where(exc, request.template)
        raise RenderError(Problem(where, f"rendering {request.ref} took longer than {limit} s; refused")) from None
    except jinja2.TemplateSyntaxError as exc:
        where = f"{_short_template(exc.filename or exc.name or request.template)}:{exc.lineno}"
        raise RenderError(Problem(where, f"template syntax error: {exc.message}")) from None
    except jinja2.TemplateError as exc:
        raise RenderError(Problem(_template_where(exc, request.template), _describe(exc))) from None
    except Exception as exc:  # noqa: BLE001 - a template bug must name the template, not crash
        raise RenderError(Problem(_template_where(exc, request.template), f"{type(exc).__name__}: {exc}")) from None


def template_seconds() -> float:
    """The wall-clock limit for one object rendered by user templates: GWPIPE_TEMPLATE_SECONDS or 5 s."""
    raw = os.environ.get("GWPIPE_TEMPLATE_SECONDS", str(USER_TEMPLATE_SECONDS))
    try:
        seconds = float(raw)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise RenderError(Problem("GWPIPE_TEMPLATE_SECONDS", f"expected a positive number of seconds, got {raw!r}"))
    return seconds


def _bounded_render(template: jinja2.Template, request: ResourceRequest, meta: dict[str, Any]) -> str:
    """Render chunk by chunk and stop as soon as the object is larger than MAX_OBJECT_BYTES."""
    parts: list[str] = []
    size = 0
    for chunk in template.generate(request.values, meta=meta, api_version=request.api_version):
        size += len(chunk)
        if size > MAX_OBJECT_BYTES:
            raise RenderError(Problem(f"template {request.template}", too_large(request.ref)))
        parts.append(chunk)
    return "".join(parts)


@contextmanager
def _deadline(seconds: float | None) -> Iterator[None]:
    """Raise TemplateTimeout after `seconds` of wall-clock time (main thread only, where signals arrive)."""
    if seconds is None or threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise TemplateTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _load(env: jinja2.Environment, request: ResourceRequest) -> jinja2.Template:
    try:
        return env.get_template(request.template)
    except jinja2.TemplateNotFound as exc:
        raise RenderError(Problem(f"plugin {request.plugin!r}", f"template {exc.name!r} not found")) from None
    except jinja2.TemplateSyntaxError as exc:
        where = f"{_short_template(exc.filename or exc.name or request.template)}:{exc.lineno}"
        raise RenderError(Problem(where, f"template syntax error: {exc.message}")) from None


def _describe(exc: Exception) -> str:
    if isinstance(exc, jinja2.UndefinedError):
        return f"undefined variable: {exc.message}"
    if isinstance(exc, jinja2.exceptions.SecurityError):
        return f"unsafe template operation refused: {exc}"
    return f"{type(exc).__name__}: {exc}"


def _template_where(exc: BaseException, fallback: str) -> str:
    """`file:line` of the innermost template frame of a render-time exception."""
    where = f"template {fallback}"
    tb = exc.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name.endswith(".j2"):
            where = f"{_short_template(name)}:{tb.tb_lineno}"
        tb = tb.tb_next
    return where


def _short_template(filename: str) -> str:
    path = Path(filename)
    builtin = builtin_template_dir()
    try:
        return "templates/" + path.resolve().relative_to(builtin).as_posix()
    except ValueError:
        return os.path.relpath(path) if not os.path.relpath(path).startswith("..") else str(path)
