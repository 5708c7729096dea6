"""jsonschema-rs errors as gwpipe messages: `(field path, what is wrong)` in the project's grammar."""

from __future__ import annotations

import difflib
from typing import Any

Path_ = tuple[str | int, ...]
_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}


def json_type(value: Any) -> str:
    return "null" if value is None else _JSON_TYPES.get(type(value), type(value).__name__)


MAX_SHOWN = 80


def _show(value: Any) -> str:
    """A value for a message, shortened: a long value may be key material and never needs quoting whole."""
    text = "null" if value is None else repr(value)
    return text if len(text) <= MAX_SHOWN else f"{text[: MAX_SHOWN - 3]}..."


def translate(error: Any, schema: dict[str, Any]) -> list[tuple[Path_, str]]:
    """One or more (path, message) pairs for a jsonschema-rs ValidationError against `schema`."""
    path: Path_ = tuple(error.instance_path)
    kind = type(error.kind).__name__
    detail = error.kind.as_dict() if hasattr(error.kind, "as_dict") else {}
    value = error.instance
    if kind == "AdditionalProperties":
        allowed = sorted(_node(schema, error.schema_path[:-1]).get("properties") or {})
        out = []
        for name in detail.get("unexpected") or []:
            guess = difflib.get_close_matches(str(name), allowed, n=1)
            hint = f"; did you mean {guess[0]!r}?" if guess else ""
            out.append(((*path, name), f"unknown field{hint}"))
        return out
    if kind == "Required":
        return [((*path, detail.get("property", "?")), "required field missing")]
    return [(path, _message(kind, detail, value, error, schema))]


def _message(kind: str, detail: dict[str, Any], value: Any, error: Any, schema: dict[str, Any]) -> str:
    limit = detail.get("limit")
    simple = {
        "Maximum": f"must be <= {limit}, got {_show(value)}",
        "ExclusiveMaximum": f"must be < {limit}, got {_show(value)}",
        "Minimum": f"must be >= {limit}, got {_show(value)}",
        "ExclusiveMinimum": f"must be > {limit}, got {_show(value)}",
        "MaxLength": f"must be at most {limit} characters long, got {_show(value)}",
        "MinLength": f"must be at least {limit} characters long, got {_show(value)}",
        "MaxItems": f"has more than {limit} item(s)",
        "MinItems": f"needs at least {limit} item(s)",
        "MaxProperties": f"has more than {limit} entries",
        "MinProperties": f"needs at least {limit} entries",
        "UniqueItems": "has duplicate items",
        "Not": "has a value the schema forbids",
    }
    if kind in simple:
        return simple[kind]
    if kind == "Enum":
        return f"unsupported value, got {_show(value)}; allowed: {', '.join(o if isinstance(o, str) else _show(o) for o in detail.get('options') or [])}"
    if kind == "Type":
        wanted = " or ".join(str(t) for t in detail.get("types") or [])
        return f"expected {wanted}, got {json_type(value)}"
    if kind == "Pattern":
        return f"invalid value, got {_show(value)}; expected the pattern {detail.get('pattern')}"
    if kind == "Format":
        return f"invalid value, got {_show(value)}; expected format {detail.get('format')}"
    if kind == "MultipleOf":
        return f"must be a multiple of {detail.get('multiple_of')}, got {_show(value)}"
    if kind in ("OneOfMultipleValid", "OneOfNotValid", "AnyOf"):
        names = _required_names(_node(schema, error.schema_path))
        listed = ", ".join(names)
        if kind == "OneOfMultipleValid":
            return f"only one of {listed} may be set" if names else "matches more than one allowed shape"
        return f"must match one of the allowed shapes ({listed})" if names else "matches none of the allowed shapes"
    return str(error.message)


def _node(schema: dict[str, Any], schema_path: list[Any]) -> Any:
    node: Any = schema
    for part in schema_path:
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and part < len(node)
        ):
            node = node[part]
        else:
            return {}
    return node if isinstance(node, dict | list) else {}


def _required_names(branches: Any) -> list[str]:
    found: list[str] = []

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            found.extend(n for n in node.get("required") or [] if n not in found)
            for key in ("oneOf", "anyOf", "allOf", "not"):
                visit(node.get(key))
        elif isinstance(node, list):
            for item in node:
                visit(item)

    visit(branches)
    return found
