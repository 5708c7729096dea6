"""Render resource requests with jinja2, parse every document back and hold it to the plan."""

from __future__ import annotations

import json
import os
import re
import signal
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jinja2
import jinja2.sandbox
import markupsafe
import yaml
from gwpipe.errors import Problem, RenderError
from gwpipe.model import RenderedObject, ResourceRequest
from gwpipe.parallel import fork_map
from gwpipe.render.readback import Loader
from gwpipe.spec.fastyaml import load_documents
from gwpipe.spec.load import Spec

BUILTIN_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
MAX_OBJECT_BYTES = 1024 * 1024
# wall-clock budget for rendering one object with user-supplied (sandboxed) templates
USER_TEMPLATE_SECONDS = 5.0
# characters YAML reads as line breaks or refuses outright; JSON leaves them raw, so escape them
_YAML_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]")
MANAGED_BY = {"app.kubernetes.io/managed-by": "gwpipe"}


class NoSymlinkLoader(jinja2.FileSystemLoader):
    """A FileSystemLoader that refuses templates reached through a symlink (it would leave the folder)."""

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Any]:
        for root in self.searchpath:
            current = Path(root)
            for part in template.split("/"):
                current = current / part
                if current.is_symlink():
                    raise RenderError(Problem(f"template {template}", f"refusing to follow symlink {current}"))
        return super().get_source(environment, template)


def builtin_template_dir() -> Path:
    """The bundled templates: `gwpipe/templates` installed, `templates/` in a source checkout."""
    if BUILTIN_TEMPLATES.is_dir():
        return BUILTIN_TEMPLATES
    return Path(__file__).resolve().parent.parent.parent / "templates"


class BoundedSandbox(jinja2.sandbox.ImmutableSandboxedEnvironment):
    """The sandbox for user templates, also refusing `*` and `**` results too large to render."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if (
                    isinstance(seq, str | list | tuple)
                    and isinstance(times, int)
                    and len(seq) * times > MAX_OBJECT_BYTES
                ):
                    raise jinja2.exceptions.SecurityError(f"'*' would build more than {MAX_OBJECT_BYTES} items")
        if operator == "**" and isinstance(right, int) and isinstance(left, int) and abs(left) > 1 and right > 1024:
            raise jinja2.exceptions.SecurityError("'**' exponent larger than 1024 refused")
        return super().call_binop(context, operator, left, right)


class TemplateTimeout(Exception):
    """A user template ran longer than USER_TEMPLATE_SECONDS."""


def _undefined_in_json(value: Any) -> Any:
    """`tojson` of an undefined variable must fail as undefined (naming it), not as a TypeError."""
    if isinstance(value, jinja2.Undefined):
        value._fail_with_undefined_error()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def yaml_safe_json(value: Any, **kwargs: Any) -> str:
    """JSON that a YAML parser reads back to the same value: YAML line breaks and non-printables escaped."""
    return _escape_yaml_unsafe(json.dumps(value, **kwargs))


def _escape_yaml_unsafe(text: str) -> str:
    return _YAML_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False, default=_undefined_in_json)
# a string with none of these comes out of `tojson` as itself in double quotes: the common case, taken
# without the encoder (the set is everything JSON, YAML or jinja's HTML-safe escaping would rewrite)
_NEEDS_ESCAPE = re.compile("[\"\\\\<>&'\x00-\x1f" + _YAML_UNSAFE.pattern[1:])


def tojson(value: Any, indent: int | None = None) -> markupsafe.Markup:
    """jinja2's `tojson` filter with gwpipe's YAML-safe dumps, and the same output, without its per-call overhead."""
    kind = type(value)
    if indent is None:
        if kind is str and not _NEEDS_ESCAPE.search(value):
            return _markup(f'"{value}"')
        if kind is int:
            return _markup(int.__repr__(value))
        text = _JSON.encode(value)
    else:
        text = json.dumps(value, indent=indent, sort_keys=True, ensure_ascii=False, default=_undefined_in_json)
    text = _escape_yaml_unsafe(text)
    return _markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").replace("'", "\\u0027"))


def _markup(text: str) -> markupsafe.Markup:
    # the text is already safe; Markup's own constructor would look for __html__ on every call
    return str.__new__(markupsafe.Markup, text)


def _ignoring_case(item: tuple[Any, Any]) -> Any:
    key = item[0]
    return key.lower() if isinstance(key, str) else key


def metadata_yaml(meta: dict[str, Any]) -> str:
    """The `metadata:` block every template starts with: name, namespace, sorted labels and annotations."""
    lines = ["metadata:", f"  name: {tojson(meta['name'])}"]
    if meta.get("namespace"):
        lines.append(f"  namespace: {tojson(meta['namespace'])}")
    for field in ("labels", "annotations"):
        lines.append(f"  {field}:")
        # sorted as jinja's dictsort sorts: case-insensitively, ties in insertion order
        for key, value in sorted(meta[field].items(), key=_ignoring_case):
            lines.append(f"    {tojson(key)}: {tojson(value)}")
    return "\n".join(lines) + "\n"


def make_environment(overrides: list[Path], folders: dict[str, str]) -> jinja2.Environment:
    """One environment per run: strict undefined, user folders first, sandboxed when users supply templates."""
    loaders: list[jinja2.BaseLoader] = [NoSymlinkLoader([str(p) for p in overrides])] if overrides else []
    if folders:
        loaders.append(jinja2.PrefixLoader({k: NoSymlinkLoader(v) for k, v in folders.items()}))
    loaders.append(NoSymlinkLoader(str(builtin_template_dir())))
    options: dict[str, Any] = {
        "loader": jinja2.ChoiceLoader(loaders),
        "undefined": jinja2.StrictUndefined,
        "keep_trailing_newline": True,
        "autoescape": False,
        "trim_blocks": True,
        "lstrip_blocks": True,
        # templates do not change during a run: no stat() per `{% from %}` import
        "auto_reload": False,
    }
    env: jinja2.Environment = BoundedSandbox(**options) if overrides else jinja2.Environment(**options)
    env.policies["json.dumps_function"] = yaml_safe_json
    env.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False, "default": _undefined_in_json}
    env.filters["tojson"] = tojson
    env.globals["metadata_yaml"] = metadata_yaml
    # lipsum draws random text: output must not depend on anything but the spec
    env.globals.pop("lipsum", None)
    return env


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


def object_path(request: ResourceRequest) -> str:
    """One file per object, with a stable name: `<namespace>/<kind>-<name>.yaml`."""
    folder = request.namespace or "_cluster"
    return f"{folder}/{request.kind.lower()}-{request.name}.yaml"


def render_requests(spec: Spec, requests: list[ResourceRequest], env: jinja2.Environment) -> list[RenderedObject]:
    """Render each request, parse it back, and refuse any document that does not match its request."""
    ordered = sorted(requests, key=lambda r: (r.kind, r.namespace or "", r.name))
    # compile every template up front: a forked worker then inherits them instead of compiling again
    templates = {r.template: _load(env, r) for r in ordered if r.template}

    def render_chunk(chunk: Sequence[ResourceRequest]) -> list[tuple[str, dict[str, Any]]]:
        texts: list[str] = []
        for request in chunk:
            try:
                texts.append(_render_one(spec, templates[request.template], request))
            except RenderError:
                # objects are judged in order: an earlier object's bad output is the error to report
                _parse_back_all(chunk[: len(texts)], texts)
                raise
        return _parse_back_all(chunk, texts)

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
            raise RenderError(
                Problem(f"template {request.template}", f"{request.ref} is larger than {MAX_OBJECT_BYTES} bytes")
            )
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


def _parse_back_all(requests: Sequence[ResourceRequest], texts: list[str]) -> list[tuple[str, dict[str, Any]]]:
    """`_parse_back` of every text, most of them read together as one YAML stream (the same values, faster)."""
    together = _read_together(texts)
    out = []
    for request, text, doc in zip(requests, texts, together, strict=True):
        if doc is _APART or doc is None:
            out.append(_parse_back(request, text))  # read alone, which also gives any error its exact words
        else:
            _check_size(request, text)
            out.append((text, _held_to_plan(request, [doc])))
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
        raise RenderError(
            Problem(f"template {request.template}", f"{request.ref} is larger than {MAX_OBJECT_BYTES} bytes")
        )


def _parse_back(request: ResourceRequest, text: str) -> tuple[str, dict[str, Any]]:
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
    return text, _held_to_plan(request, docs)


def _held_to_plan(request: ResourceRequest, docs: list[Any]) -> dict[str, Any]:
    """The one document of a request, which must be the mapping the plan asked for, with provenance."""
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
    return obj
