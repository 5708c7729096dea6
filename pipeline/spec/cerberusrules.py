"""The cerberus side of spec validation: gwpipe's validator, and its errors said as located problems.

Imported only when the fast JSON Schema twin (fastvalidate) cannot prove a spec valid, or when a
plugin's schema uses a rule the twin does not translate.
"""

from __future__ import annotations

import datetime
import difflib
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import cerberus
from cerberus import errors as cerr

from gwpipe.checks.secrets import find_secrets
from gwpipe.errors import PluginError, Problem
from gwpipe.parallel import fork_map
from gwpipe.spec.load import Spec

if TYPE_CHECKING:
    from gwpipe.spec.validate import SpecSchema

T = TypeVar("T")
MIN_PARALLEL = 400
MAX_SHOWN = 80  # characters of a value an error message quotes


class SpecValidator(cerberus.Validator):  # type: ignore[misc]
    # YAML booleans must not pass as integers (Python's bool is an int)
    types_mapping = cerberus.Validator.types_mapping.copy()
    types_mapping["integer"] = cerberus.TypeDefinition("integer", (int,), (bool,))
    types_mapping["number"] = cerberus.TypeDefinition("number", (int, float), (bool,))

    def _validate_regex(self, pattern: str, field: str, value: Any) -> None:
        """{'type': 'string'}"""
        # cerberus appends `$` and uses match(), and `$` also matches before a final newline: "shop\n" passed
        if isinstance(value, str) and not re.fullmatch(pattern, value):
            self._error(field, cerr.REGEX_MISMATCH)


def checked(build: Callable[[], T]) -> T:
    """`build()`, with cerberus' complaint about the merged schema said as a plugin error."""
    try:
        return build()
    except cerberus.schema.SchemaError as exc:
        raise PluginError(Problem("gwpipe_spec_schema", f"invalid cerberus schema: {exc}")) from None


def schema_problems(spec: Spec, schema: SpecSchema) -> list[Problem]:
    """Cerberus problems; a large mapping's entries are validated on both cores (same result as serial)."""
    big = [
        key
        for key, value in spec.data.items()
        if isinstance(value, dict) and len(value) >= MIN_PARALLEL and "valuesrules" in schema.schema.get(key, {})
    ]
    if not big:
        return _errors_of(spec, schema.schema, schema.validator, spec.data)
    key = max(big, key=lambda k: len(spec.data[k]))
    outer, entries = schema.split(key)
    problems = _errors_of(spec, schema.schema, outer, spec.data)

    def check_halves(halves: Sequence[dict[str, Any]]) -> list[list[Problem]]:
        return [_errors_of(spec, schema.schema, entries, {key: half}) for half in halves]

    items = list(spec.data[key].items())
    halves = [dict(items[: len(items) // 2]), dict(items[len(items) // 2 :])]
    for found in fork_map(check_halves, halves, min_items=2):
        problems.extend(found)
    return problems


def _errors_of(
    spec: Spec, full_schema: dict[str, Any], validator: SpecValidator, document: dict[str, Any]
) -> list[Problem]:
    if validator.validate(document, normalize=False):
        return []
    return _translate(spec, full_schema, validator._errors)


def _shown(value: Any) -> str:
    """A value as an error message may quote it: secret-looking values redacted, long ones cut."""
    text = repr(value)
    if find_secrets(text):
        return f"<redacted, {len(text.encode())} bytes>"
    return text if len(text) <= MAX_SHOWN else f"{text[: MAX_SHOWN - 3]}..."


def _leaves(errors: list[cerberus.errors.ValidationError]) -> list[cerberus.errors.ValidationError]:
    out = []
    for error in errors:
        if error.is_group_error and error.child_errors:
            out.extend(_leaves(error.child_errors))
        else:
            out.append(error)
    return out


_TYPE_NAMES = {bool: "boolean", int: "integer", float: "number", str: "string", list: "list", dict: "mapping"}


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, datetime.datetime):
        return "timestamp"
    if isinstance(value, datetime.date):
        return "date"
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def _translate(spec: Spec, schema: dict[str, Any], errors: list[Any]) -> list[Problem]:
    leaves = _leaves(errors)
    misplaced = misplaced_keys(schema, [(tuple(e.document_path), e) for e in leaves])
    problems = [spec.problem(path, f"check indentation: `{path[-1]}` belongs under {home}") for path, home in misplaced]
    for error in leaves:
        path = tuple(error.document_path)
        if not any(path[: len(at)] == at for at, _ in misplaced):
            problems.append(spec.problem(path, _message(spec, schema, error, path)))
    return problems


def misplaced_keys(
    schema: dict[str, Any], errors: list[tuple[tuple[Any, ...], Any]]
) -> list[tuple[tuple[Any, ...], str]]:
    """(path, where it belongs) of each key that is unknown where it stands but a field of another block.

    A mis-indented block makes every field under it an error too; one "check indentation" says it all.
    A key that is a near miss of a field allowed where it stands is a typo instead (did you mean ...?).
    """
    bad_keys = {
        path
        for path, error in errors
        if error.code in (cerr.REGEX_MISMATCH.code, cerr.UNALLOWED_VALUE.code) and path and error.value == path[-1]
    }
    homes: dict[str, list[tuple[str, ...]]] | None = None
    found: dict[tuple[Any, ...], str] = {}
    for path, _error in errors:
        for end in range(1, len(path) + 1):
            key, parent = path[end - 1], path[: end - 1]
            if not isinstance(key, str) or any(path[:end][: len(at)] == at for at in found):
                continue
            rules = _rules_at(schema, parent)
            fields = rules.get("schema") if isinstance(rules, dict) and "dict" in _types(rules) else None
            if isinstance(fields, dict):
                if key in fields or difflib.get_close_matches(key, sorted(fields), n=1):
                    continue
            elif path[:end] not in bad_keys:
                continue
            homes = homes if homes is not None else _field_homes(schema)
            best = _closest_homes(homes.get(key, []), parent)
            if best:
                found[path[:end]] = " or ".join(_shown_home(home) for home in best[:3])
                break
    return sorted(found.items(), key=lambda item: _order(item[0]))


def _order(path: tuple[Any, ...]) -> str:
    return "\x00".join(str(part) for part in path)


def _types(rules: dict[str, Any]) -> list[str]:
    declared = rules.get("type")
    return [declared] if isinstance(declared, str) else list(declared or [])


def _rules_at(schema: dict[str, Any], path: tuple[Any, ...]) -> Any:
    """The rules of the value at a document path, or None where the schema says nothing."""
    node: Any = {"type": "dict", "schema": schema}
    for part in path:
        if not isinstance(node, dict):
            return None
        if isinstance(part, int):
            node = node.get("schema") if "list" in _types(node) else None
        elif isinstance(node.get("schema"), dict) and "dict" in _types(node):
            node = node["schema"].get(part)
        else:
            node = node.get("valuesrules")
    return node


def _field_homes(schema: dict[str, Any]) -> dict[str, list[tuple[str, ...]]]:
    """Field name -> each block pattern that declares it: ("hosts", "*") for a field of every host entry."""
    homes: dict[str, list[tuple[str, ...]]] = {}

    def fields_of(table: dict[str, Any], where: tuple[str, ...]) -> None:
        for name, rules in table.items():
            homes.setdefault(name, []).append(where)
            value(rules, (*where, name))

    def value(rules: Any, where: tuple[str, ...]) -> None:
        if not isinstance(rules, dict):
            return
        inner = rules.get("schema")
        if isinstance(inner, dict) and "list" in _types(rules):
            value(inner, (*where, "[]"))
        elif isinstance(inner, dict):
            fields_of(inner, where)
        if isinstance(rules.get("valuesrules"), dict):
            value(rules["valuesrules"], (*where, "*"))

    fields_of(schema, ())
    return homes


def _closest_homes(homes: list[tuple[str, ...]], parent: tuple[Any, ...]) -> list[tuple[str, ...]]:
    """The homes sharing the longest leading blocks with where the key stands."""

    def shared(home: tuple[str, ...]) -> int:
        count = 0
        for pattern, part in zip(home, parent, strict=False):
            if not (
                pattern == part
                or (pattern == "*" and isinstance(part, str))
                or (pattern == "[]" and isinstance(part, int))
            ):
                break
            count += 1
        return count

    if not homes:
        return []
    best = max(shared(home) for home in homes)
    return sorted({home for home in homes if shared(home) == best})


def _shown_home(home: tuple[str, ...]) -> str:
    if not home:
        return "the top level"
    out = ""
    for part in home:
        out += "[]" if part == "[]" else (".<name>" if part == "*" else (f".{part}" if out else part))
    return f"`{out}`"


def _message(spec: Spec, schema: dict[str, Any], error: Any, path: tuple[Any, ...]) -> str:
    code = error.code
    value = error.value
    if code == cerr.UNKNOWN_FIELD.code:
        allowed = _allowed_keys(schema, path[:-1])
        guess = difflib.get_close_matches(str(path[-1]), allowed, n=1)
        hint = f"; did you mean {guess[0]!r}?" if guess else (f"; allowed: {', '.join(allowed)}" if allowed else "")
        return f"unknown field{hint}"
    if code == cerr.REQUIRED_FIELD.code:
        return "required field missing"
    if code in (cerr.EMPTY_NOT_ALLOWED.code, cerr.NOT_NULLABLE.code):
        return "required field empty"
    if code == cerr.BAD_TYPE.code:
        wanted = error.constraint if isinstance(error.constraint, str) else " or ".join(error.constraint)
        wanted = {"dict": "mapping"}.get(wanted, wanted)
        got = _type_name(value)
        loc = spec.locations.get(path)
        note = ""
        # "quote it" only helps where a string is wanted; for an integer field it would be wrong advice
        if (
            wanted == "string"
            and loc is not None
            and loc.raw is not None
            and got in ("boolean", "integer", "number", "date", "timestamp", "null")
        ):
            note = f" (YAML 1.1 read {loc.raw!r} as {got}; quote it)" if loc.raw else ""
        return f"expected {wanted}, got {got}{note}"
    if code == cerr.UNALLOWED_VALUE.code:
        return f"unsupported value, got {_shown(value)}; allowed: {', '.join(map(str, error.constraint))}"
    if code == cerr.REGEX_MISMATCH.code:
        desc = (error.schema_path and _meta(schema, error.schema_path)) or f"the pattern {error.constraint}"
        return f"invalid value, got {_shown(value)}; expected {desc}"
    if code == cerr.MIN_VALUE.code:
        return f"must be at least {error.constraint}, got {_shown(value)}"
    if code == cerr.MAX_VALUE.code:
        return f"must be at most {error.constraint}, got {_shown(value)}"
    if code == cerr.MIN_LENGTH.code:
        return (
            f"needs at least {error.constraint} item(s)"
            if isinstance(value, list | dict)
            else f"must be at least {error.constraint} characters long"
        )
    if code == cerr.MAX_LENGTH.code:
        return (
            f"has more than {error.constraint} item(s)"
            if isinstance(value, list | dict)
            else f"must be at most {error.constraint} characters long"
        )
    if code == cerr.EXCLUDES_FIELD.code:
        return f"cannot be combined with {error.constraint!r}"
    if code in (cerr.DEPENDENCIES_FIELD.code, cerr.DEPENDENCIES_FIELD_VALUE.code):
        return f"requires field {error.constraint!r}"
    message = cerberus.errors.BasicErrorHandler.messages.get(code, "invalid value")
    try:
        return str(
            message.format(constraint=error.constraint, field=path[-1] if path else "", value=_shown(value))
        ).lower()
    except (KeyError, IndexError, ValueError):  # pragma: no cover - defensive
        return "invalid value"


def _meta(schema: dict[str, Any], schema_path: tuple[Any, ...]) -> str | None:
    node: Any = schema
    for part in schema_path[:-1]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return None
    if isinstance(node, dict):
        meta = node.get("meta")
        if isinstance(meta, dict) and isinstance(meta.get("description"), str):
            return str(meta["description"])
    return None


def _allowed_keys(schema: dict[str, Any], path: tuple[Any, ...]) -> list[str]:
    node: Any = {"type": "dict", "schema": schema}
    for part in path:
        if not isinstance(node, dict):
            return []
        if isinstance(part, int):
            node = node.get("schema")
        elif "valuesrules" in node:
            node = node["valuesrules"]
        else:
            node = (node.get("schema") or {}).get(part)
    if isinstance(node, dict) and isinstance(node.get("schema"), dict):
        return sorted(node["schema"])
    return []
