"""The jinja2 environment: strict, sandboxed for user templates, with a YAML-safe `tojson` and the metadata block."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jinja2
import jinja2.sandbox
import markupsafe

from gwpipe import fast
from gwpipe.errors import Problem, RenderError

# one object: the Kubernetes API server refuses objects not much larger (etcd's request limit, 1.5 MiB)
MAX_OBJECT_BYTES = 1024 * 1024
OBJECT_SPLIT_ADVICE = (
    "split what it lists over several objects, e.g. a Gateway's servers: give some hosts another `gateways` "
    "entry with the same selector and name it in their `gateway` key; see docs/speed.md, Large fleets"
)


def too_large(ref: str) -> str:
    """The error for an object over MAX_OBJECT_BYTES, saying how to split it."""
    return f"{ref} is larger than {MAX_OBJECT_BYTES} bytes, about the most Kubernetes stores; {OBJECT_SPLIT_ADVICE}"


BUILTIN_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


# characters YAML reads as line breaks or refuses outright; JSON leaves them raw, so escape them
_YAML_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]")


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


def other_keys(mapping: dict[str, Any], *modelled: str) -> list[tuple[str, Any]]:
    """The keys of `mapping` a template does not model, sorted, with their values.

    Built-in templates emit these with `tojson` after the keys they lay out, so a plugin can add
    any Istio field to a structure it edits and see it in the output.
    """
    for key in mapping:
        if key not in modelled:
            return [(key, mapping[key]) for key in sorted(mapping.keys() - modelled)]
    # the usual case, and rendered once per route, destination and server: no set built
    return []


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
    if fast.enabled():  # jinja2's own `tojson` reads the two policies above: the same bytes, at more cost per call
        env.filters["tojson"] = tojson
    env.globals["metadata_yaml"] = metadata_yaml
    # a filter, not a global: jinja calls filters directly, globals through Context.call (slower)
    env.filters["other_keys"] = other_keys
    # lipsum draws random text: output must not depend on anything but the spec
    env.globals.pop("lipsum", None)
    return env
