"""A JSON Schema twin of the cerberus spec schema, run by jsonschema-rs, that can only prove a spec valid."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import jsonschema_rs

from gwpipe.checks.secrets import SECRET_HINT, find_secrets

_SECRET_FORMAT = "gwpipe-no-secret"
_NUMBER_KEYWORD = "gwpipeNumber"
_FREE = {"$ref": "#/$defs/free"}
# any string: find_secrets judges it only when the cheap hint matches
_NO_SECRET = {"if": {"pattern": SECRET_HINT}, "then": {"format": _SECRET_FORMAT}}
# per cerberus type that has a length: the JSON type and its minimum/maximum length keywords
_SIZED = {
    "string": ("string", "minLength", "maxLength"),
    "list": ("array", "minItems", "maxItems"),
    "dict": ("object", "minProperties", "maxProperties"),
}
# cerberus type -> JSON types; date and datetime values cannot reach jsonschema-rs (conversion refuses them)
_TYPES: dict[str, tuple[str, ...]] = {
    "string": ("string",),
    "integer": ("integer",),
    "number": ("number",),
    "boolean": ("boolean",),
    "dict": ("object",),
    "list": ("array",),
    "date": (),
    "datetime": (),
}
_VALUE_RULES = frozenset(
    {
        "type",
        "nullable",
        "empty",
        "required",
        "meta",
        "regex",
        "allowed",
        "min",
        "max",
        "minlength",
        "maxlength",
        "schema",
        "keysrules",
        "valuesrules",
        "allow_unknown",
    }
)
# rules that look at sibling fields: translated only for the fields of a `schema` mapping
_SIBLING_RULES = frozenset({"excludes", "dependencies"})
_SAFE_BOUND = 2**53  # larger bounds might compare differently once converted to a JSON float


class Unsupported(Exception):
    """The cerberus schema uses a rule, or a form of one, that the translation does not reproduce exactly."""


class FastValidator:
    """Proves a document valid under a cerberus schema, and free of key material, without cerberus."""

    def __init__(self, cerberus_schema: dict[str, Any]) -> None:
        """Raise Unsupported unless every rule of `cerberus_schema` has an exact translation."""
        translator = _Translator()
        self.json_schema = translator.document(cerberus_schema)
        self._patterns = translator.patterns
        self._validator: jsonschema_rs.Validator | None = None

    def proves_valid(self, document: dict[str, Any]) -> bool:
        """True only when cerberus accepts `document` and no string in it holds key material.

        False means "ask cerberus": the document is invalid, or holds values jsonschema-rs cannot take
        (dates, sets, non-string keys, ...). The document is plain YAML data as yamlload builds it: an
        Enum member as a key would look like its value here and like its name to cerberus.
        """
        if self._validator is None:
            self._validator = self._build()
        try:
            return bool(self._validator.is_valid(document))
        except Exception:  # noqa: BLE001 - a value jsonschema-rs cannot convert: cerberus decides
            return False

    def _build(self) -> jsonschema_rs.Validator:
        formats: dict[str, Callable[[str], bool]] = {_SECRET_FORMAT: _no_secret}
        for name, pattern in self._patterns.items():
            formats[name] = _fullmatch(pattern)
        return jsonschema_rs.Draft202012Validator(
            self.json_schema,
            formats=formats,
            validate_formats=True,
            ignore_unknown_formats=False,
            keywords={_NUMBER_KEYWORD: _Number},
        )


def _no_secret(text: str) -> bool:
    return not find_secrets(text)


def _fullmatch(pattern: str) -> Callable[[str], bool]:
    # cerberus' regex rule as _Validator runs it: Python's re.fullmatch; results cached, values repeat a lot
    match = re.compile(pattern).fullmatch
    seen: dict[str, bool] = {}

    def check(text: str) -> bool:
        ok = seen.get(text)
        if ok is None:
            ok = seen[text] = match(text) is not None
        return ok

    return check


class _Number:
    """`gwpipeNumber`: JSON integers include 1.0 and JSON numbers include Decimal; cerberus' do not."""

    def __init__(self, parent_schema: dict[str, Any], value: str, schema_path: list[str | int]) -> None:
        self.allowed: tuple[type, ...] = (int,) if value == "integer" else (int, float)

    def validate(self, instance: Any) -> None:
        if isinstance(instance, str | list | dict | bool) or instance is None:
            return  # other keywords judge these
        if not isinstance(instance, self.allowed):
            raise ValueError(f"not a Python {'/'.join(t.__name__ for t in self.allowed)}")


class _Translator:
    def __init__(self) -> None:
        self.patterns: dict[str, str] = {}  # format name -> Python regex
        self._names: dict[str, str] = {}

    def document(self, schema: dict[str, Any]) -> dict[str, Any]:
        free = {**_NO_SECRET, "propertyNames": _NO_SECRET, "additionalProperties": _FREE, "items": _FREE}
        root = _merged([{"type": "object"}, *self.mapping(schema, allow_unknown=False)])
        return {"$defs": {"free": free}, **root}

    def mapping(self, fields: Any, allow_unknown: bool) -> list[dict[str, Any]]:
        """Checks of a mapping validated by a cerberus `schema` rule (or the whole document)."""
        if not isinstance(fields, dict):
            raise Unsupported("a schema that is not a mapping of fields")
        properties: dict[str, Any] = {}
        required: list[str] = []
        dependent_required: dict[str, list[str]] = {}
        dependent_schemas: dict[str, Any] = {}
        for name, rules in fields.items():
            if not isinstance(name, str) or not isinstance(rules, dict):
                raise Unsupported(f"field {name!r}")
            properties[name] = self.value(rules, allow_unknown, siblings=True)
            if _flag(rules, "required"):
                required.append(name)
            if "excludes" in rules:
                if _flag(rules, "required"):
                    raise Unsupported("excludes on a required field")
                others = _names(rules["excludes"])
                dependent_schemas[name] = {"not": {"anyOf": [{"required": [other]} for other in others]}}
            if "dependencies" in rules:
                others = _names(rules["dependencies"])
                if any("." in other or other.startswith("^") for other in others):
                    raise Unsupported("dependencies on a nested field")
                dependent_required[name] = others
        checks: dict[str, Any] = {"properties": properties, "additionalProperties": _FREE if allow_unknown else False}
        if allow_unknown or any(find_secrets(name) for name in fields):
            checks["propertyNames"] = _NO_SECRET  # otherwise every key is one of the names above
        if required:
            checks["required"] = required
        if dependent_required:
            checks["dependentRequired"] = dependent_required
        if dependent_schemas:
            checks["dependentSchemas"] = dependent_schemas
        return [checks]

    def value(self, rules: Any, allow_unknown: bool, siblings: bool = False) -> dict[str, Any]:
        """Checks of one value under a cerberus rules set."""
        if not isinstance(rules, dict):
            raise Unsupported("a rules set that is not a mapping")
        known = _VALUE_RULES | _SIBLING_RULES if siblings else _VALUE_RULES
        for rule, argument in rules.items():
            if rule not in known or argument is None:
                raise Unsupported(f"rule {rule!r}" if argument is not None else f"rule {rule!r} set to null")
        _flag(rules, "required")  # meaningful only in a mapping, but cerberus insists on a boolean everywhere
        meta = rules.get("meta", {})
        if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
            # cerberus reads a list item's rules as a field table too, and may choke on a strange meta
            raise Unsupported("meta that is not a table of texts")
        # a field's own allow_unknown governs only its `schema` mapping; list items and keys/values rules inherit
        own_unknown = _flag(rules, "allow_unknown", allow_unknown)
        types = _types(rules.get("type"))
        may = set(types) if types is not None else {"string", "dict", "list"}
        checks: list[dict[str, Any]] = [_NO_SECRET] if "string" in may else []
        if types is None:
            checks.append({"not": {"type": "null"}})
        else:
            json_types = sorted({t for name in types for t in _TYPES[name]})
            checks.append(
                {"type": json_types[0] if len(json_types) == 1 else json_types} if json_types else {"not": {}}
            )
            if "number" in types or "integer" in types:
                checks.append({_NUMBER_KEYWORD: "number" if "number" in types else "integer"})
        shape = {"dict", "list"} & set(types or ())
        if "schema" in rules:
            if shape == {"dict"}:
                checks.extend(self.mapping(rules["schema"], own_unknown))
            elif shape == {"list"}:
                checks.append({"items": self.value(rules["schema"], allow_unknown)})
            else:
                raise Unsupported("schema without exactly one of the types dict and list")
        if "keysrules" in rules:
            checks.append({"propertyNames": self.value(rules["keysrules"], allow_unknown)})
        if "valuesrules" in rules:
            checks.append({"additionalProperties": self.value(rules["valuesrules"], allow_unknown)})
        # whatever no rule describes may still hold key material
        if "dict" in may and ("schema" not in rules or shape != {"dict"}):
            checks.append({"propertyNames": _NO_SECRET})
            if "valuesrules" not in rules:
                checks.append({"additionalProperties": _FREE})
        if "list" in may and ("schema" not in rules or shape != {"list"}):
            checks.append({"items": _FREE})
        for bound, keyword in (("min", "minimum"), ("max", "maximum")):
            if bound in rules:
                if types is None or not set(types) <= {"integer", "number", "string", "dict", "list"}:
                    raise Unsupported(f"{bound} on a field that may hold a boolean or date")
                checks.append({keyword: _number(rules[bound])})
        sized = [_SIZED[name] for name in ("string", "list", "dict") if name in may]
        guarded = self.guarded(rules, sized, shape)
        if "empty" in rules:
            if _flag(rules, "empty", True):
                if guarded and sized:
                    empty = [{"type": kind, longest: 0} for kind, _, longest in sized]
                    checks.append({"if": empty[0] if len(empty) == 1 else {"anyOf": empty}, "else": _merged(guarded)})
                else:
                    checks.extend(guarded)
            else:
                checks.extend([{shortest: 1 for _, shortest, _ in sized}, *guarded])
        else:
            checks.extend(guarded)
        node = _merged(checks)
        if _flag(rules, "nullable"):
            node = {"anyOf": [{"type": "null"}, node]}
        return node

    def guarded(
        self, rules: dict[str, Any], sized: list[tuple[str, str, str]], shape: set[str]
    ) -> list[dict[str, Any]]:
        """The checks cerberus skips for an empty value when the field has an `empty` rule."""
        checks: list[dict[str, Any]] = []
        if "regex" in rules:
            pattern = rules["regex"]
            if not isinstance(pattern, str):
                raise Unsupported("a regex that is not a string")
            try:
                re.compile(pattern)
            except re.error:
                raise Unsupported("a regex Python cannot compile") from None
            checks.append({"format": self.pattern_format(pattern)})
        if "allowed" in rules:
            allowed = rules["allowed"]
            if not isinstance(allowed, list | tuple) or not all(isinstance(a, str) for a in allowed):
                raise Unsupported("allowed values that are not strings")
            values = list(allowed)
            if shape or "type" not in rules:
                # cerberus checks each item of a list, and each key of a mapping
                each = [
                    {"type": "array", "items": {"enum": values}},
                    {"type": "object", "propertyNames": {"enum": values}},
                ]
                checks.append({"anyOf": [{"enum": values}, *each]})
            else:
                checks.append({"enum": values})
        for rule, index in (("minlength", 1), ("maxlength", 2)):
            if rule in rules:
                size = rules[rule]
                if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                    raise Unsupported(f"{rule} that is not a count")
                if sized:
                    checks.append({keywords[index]: size for keywords in sized})
        return checks

    def pattern_format(self, pattern: str) -> str:
        if pattern not in self._names:
            name = f"gwpipe-regex-{len(self._names)}"
            self._names[pattern] = name
            self.patterns[name] = pattern
        return self._names[pattern]


def _flag(rules: dict[str, Any], rule: str, default: bool = False) -> bool:
    value = rules.get(rule, default)
    if not isinstance(value, bool):
        raise Unsupported(f"{rule} that is not a boolean")
    return value


def _types(declared: Any) -> tuple[str, ...] | None:
    if declared is None:
        return None
    types = (declared,) if isinstance(declared, str) else declared
    if not isinstance(types, list | tuple) or not types or not all(t in _TYPES for t in types):
        raise Unsupported(f"type {declared!r}")
    return tuple(types)


def _names(declared: Any) -> list[str]:
    names = [declared] if isinstance(declared, str) else declared
    if not isinstance(names, list | tuple) or not names or not all(isinstance(n, str) for n in names):
        raise Unsupported(f"field names {declared!r}")
    return list(names)


def _number(bound: Any) -> int | float:
    if isinstance(bound, bool) or not isinstance(bound, int | float) or not abs(bound) <= _SAFE_BOUND:
        raise Unsupported(f"bound {bound!r}")
    return bound


def _merged(checks: list[dict[str, Any]]) -> dict[str, Any]:
    """One schema requiring every check: checks are merged while their keywords differ (fewer nodes to walk)."""
    node: dict[str, Any] = {}
    rest: list[dict[str, Any]] = []
    for check in checks:
        if node.keys().isdisjoint(check):
            node.update(check)
        else:
            rest.append(check)
    if rest:
        node["allOf"] = rest
    return node
