"""Validate a spec against the core schema plus every plugin's fragment: a fast JSON Schema twin, else cerberus."""

from __future__ import annotations

import copy
import datetime
import difflib
import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import cerberus
import pluggy
from cerberus import errors as cerr

from .errors import PluginError, Problem, SpecError
from .fastvalidate import FastValidator, Unsupported
from .manager import call_each, results_of_type
from .parallel import fork_map
from .secrets import find_secrets
from .spec import Spec
from .yamlload import format_path

T = TypeVar("T")

_DNS_LABEL = {"type": "string", "regex": r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", "maxlength": 63}
_STRING_MAP = {"type": "dict", "keysrules": {"type": "string"}, "valuesrules": {"type": "string"}}
_STRINGS = {"type": "list", "schema": {"type": "string", "empty": False}}
_SERVICE_PORT = {
    "name": {"type": "string"},
    "port": {"type": "integer", "required": True, "min": 1, "max": 65535},
    "targetPort": {"type": ["integer", "string"]},
    "nodePort": {"type": "integer"},
    "protocol": {"type": "string", "allowed": ["TCP", "UDP", "SCTP"]},
}
# what already exists in the cluster: gateway pods, Services, credential Secrets (read by pipeline/analysis)
_INVENTORY_ENTRY = {
    "kind": {"type": "string", "required": True, "allowed": ["Pod", "Service", "Secret", "Workload"]},
    "namespace": {**_DNS_LABEL, "required": True, "meta": {"description": "a DNS-1123 label"}},
    "name": {**_DNS_LABEL, "required": True, "regex": r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", "maxlength": 253},
    "labels": _STRING_MAP,
    "selector": _STRING_MAP,
    "ports": {"type": "list", "schema": {"type": "dict", "schema": _SERVICE_PORT}},
    "exportTo": _STRINGS,
    "keys": _STRINGS,
    "notBefore": {"type": ["string", "date", "datetime"]},
    "notAfter": {"type": ["string", "date", "datetime"]},
}
# `CODE=Kind namespace/name` (globs allowed), as `istioctl analyze --suppress`
_SUPPRESS = {
    "type": "string",
    "regex": r"([A-Z]{3}[0-9*?]{4}|\*)=\S.*",
    "meta": {"description": "CODE=Kind namespace/name, e.g. IST0101=Gateway istio-system/*"},
}

CORE_SCHEMA: dict[str, Any] = {
    "istio": {
        "type": "dict",
        "schema": {
            "version": {
                "type": "string",
                "regex": r"1\.[0-9]{1,2}",
                "meta": {"description": 'a minor version such as "1.24"'},
            },
            "namespace": {"type": "string", "regex": r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", "maxlength": 63},
        },
    },
    "namespace": {
        "type": "string",
        "regex": r"[a-z0-9]([-a-z0-9]*[a-z0-9])?",
        "maxlength": 63,
        "meta": {"description": "a DNS-1123 label"},
    },
    "templates": {"type": "string", "empty": False},
    # settings of the check stage; sub-keys are owned by pipeline/schemacheck.py and pipeline/analysis
    "checks": {
        "type": "dict",
        "schema": {
            # owned by pipeline/crdsources.py: CRD files or folders inside the spec root, pinned URLs, cluster:[context]
            "crds": {
                "type": "list",
                "schema": {
                    "type": "string",
                    "empty": False,
                    "regex": r"\S(.*\S)?",
                    "meta": {
                        "description": "a CRD file or folder, a pinned http(s) URL or cluster:[context], unpadded"
                    },
                },
            },
            "inventory": {"type": "list", "schema": {"type": "dict", "schema": _INVENTORY_ENTRY}},
            "suppress": {"type": "list", "schema": _SUPPRESS},
        },
    },
}
CORE_OWNER = "core"
MIN_PARALLEL = 400
MAX_SHOWN = 80  # characters of a value an error message quotes


class _Validator(cerberus.Validator):  # type: ignore[misc]
    # YAML booleans must not pass as integers (Python's bool is an int)
    types_mapping = cerberus.Validator.types_mapping.copy()
    types_mapping["integer"] = cerberus.TypeDefinition("integer", (int,), (bool,))
    types_mapping["number"] = cerberus.TypeDefinition("number", (int, float), (bool,))

    def _validate_regex(self, pattern: str, field: str, value: Any) -> None:
        """{'type': 'string'}"""
        # cerberus appends `$` and uses match(), and `$` also matches before a final newline: "shop\n" passed
        if isinstance(value, str) and not re.fullmatch(pattern, value):
            self._error(field, cerr.REGEX_MISMATCH)


class SpecSchema:
    """The merged schema, who owns each field, its fast twin, and cerberus validators built when first needed."""

    def __init__(self, schema: dict[str, Any], owners: dict[str, str]) -> None:
        self.schema = schema
        self.owners = owners
        self._validator: _Validator | None = None
        self._split: dict[str, tuple[_Validator, _Validator]] = {}
        try:
            self.fast: FastValidator | None = FastValidator(schema)
        except Unsupported:
            # a rule the twin cannot reproduce: cerberus judges every spec, and checks the schema now
            self.fast = None
            self._validator = _Validator(schema)

    @property
    def validator(self) -> _Validator:
        # cerberus checks the schema when a validator is built (~0.05 s for the built-in one); a schema the twin
        # translated is one cerberus accepts, so that cost is paid only when a spec fails the fast check
        if self._validator is None:
            self._validator = _checked(lambda: _Validator(self.schema))
        return self._validator

    def keys_of(self, plugin: str) -> list[str]:
        return sorted(k for k, owner in self.owners.items() if owner == plugin)

    def split(self, key: str) -> tuple[_Validator, _Validator]:
        """Validators for the document without `key`'s entry rules, and for `key`'s entries alone."""
        if key not in self._split:
            rule = self.schema[key]
            outer_rule = {k: v for k, v in rule.items() if k not in ("keysrules", "valuesrules")}
            entry_rule = {k: rule[k] for k in ("type", "keysrules", "valuesrules") if k in rule}
            self._split[key] = _checked(
                lambda: (_Validator({**self.schema, key: outer_rule}), _Validator({key: entry_rule}))
            )
        return self._split[key]


def _checked(build: Callable[[], T]) -> T:
    """`build()`, with cerberus' complaint about the merged schema said as a plugin error."""
    try:
        return build()
    except cerberus.schema.SchemaError as exc:
        raise PluginError(Problem("gwpipe_spec_schema", f"invalid cerberus schema: {exc}")) from None


def build_schema(pm: pluggy.PluginManager) -> SpecSchema:
    """Merge the core schema with each plugin's `gwpipe_spec_schema` fragments."""
    # deep copies: fragments are merged into nested tables, which must not leak into module-level dicts
    schema: dict[str, Any] = copy.deepcopy(CORE_SCHEMA)
    owners = dict.fromkeys(CORE_SCHEMA, CORE_OWNER)
    pending: list[tuple[str, str, dict[str, Any]]] = []
    for plugin, fragment in call_each(pm, "gwpipe_spec_schema"):
        if not isinstance(fragment, dict):
            raise PluginError(Problem(f"plugin {plugin!r}: gwpipe_spec_schema", "must return a dict"))
        pending.extend((plugin, loc, copy.deepcopy(rules)) for loc, rules in fragment.items())
    # top-level fragments first, so nested locations can name keys another plugin declares
    pending.sort(key=lambda item: item[1].count(".") + (0 if item[1] == "" else 1))
    for plugin, location, rules in pending:
        target = _locate(schema, location, plugin)
        for key, rule in rules.items():
            dotted = f"{location}.{key}" if location else key
            if key in target:
                raise PluginError(
                    Problem(
                        f"plugin {plugin!r}: gwpipe_spec_schema",
                        f"field {dotted!r} is already owned by plugin {owners[dotted]!r}",
                    )
                )
            target[key] = rule
            owners[dotted] = plugin
    return _checked(lambda: SpecSchema(schema, owners))


def _locate(schema: dict[str, Any], location: str, plugin: str) -> dict[str, Any]:
    """The field table at `location`: "" the top level, "a.*" each value of mapping a, "a.b" nested."""
    rule: Any = {"type": "dict", "schema": schema}
    for part in location.split(".") if location else []:
        if isinstance(rule, dict) and rule.get("type") == "list":
            rule = rule.get("schema")
        if not isinstance(rule, dict):
            break
        rule = rule.get("valuesrules") if part == "*" else (rule.get("schema") or {}).get(part)
    if isinstance(rule, dict) and rule.get("type") == "list":
        rule = rule.get("schema")
    if not isinstance(rule, dict) or rule.get("type") != "dict" or not isinstance(rule.get("schema", {}), dict):
        raise PluginError(
            Problem(f"plugin {plugin!r}: gwpipe_spec_schema", f"location {location!r} is not a declared mapping")
        )
    table: dict[str, Any] = rule.setdefault("schema", {})
    return table


def validate_spec(spec: Spec, schema: SpecSchema, pm: pluggy.PluginManager) -> None:
    """Raise one SpecError listing every schema and plugin problem of `spec`, or return."""
    if schema.fast is not None and schema.fast.proves_valid(spec.data):
        problems: list[Problem] = []  # what the checks below would find, in a fraction of the time
    else:
        problems = _secret_problems(spec, spec.data, ()) + _schema_problems(spec, schema)
    if not problems:
        results = call_each(pm, "gwpipe_validate_spec", spec=spec)
        for _plugin, found in results_of_type(results, "gwpipe_validate_spec", Problem, "Problem"):
            problems.extend(found)
    if problems:
        problems.sort(key=lambda p: _sort_key(p.where))
        raise SpecError(*_dedupe(problems))


def _secret_problems(spec: Spec, value: Any, path: tuple[Any, ...]) -> list[Problem]:
    """Key material anywhere in a spec, named by field and never shown: specs are committed and logged."""
    if isinstance(value, str):
        kinds = find_secrets(value)
        if kinds:
            what = f"contains a {kinds[0]} (value redacted, {len(value.encode())} bytes)"
            hint = "keys never go in a spec: reference a Secret with credentialName, or let cert-manager issue it"
            return [spec.problem(path, what, hint)]
        return []
    if isinstance(value, dict):
        problems = []
        for key, item in value.items():
            kinds = find_secrets(key)
            if kinds:
                # the key itself is the secret: locate it without printing it
                loc = spec.location((*path, key))
                head = f"{loc.file}:{loc.line}:{loc.column}" if loc else spec.file
                dotted = format_path(path)
                where = f"{head}: {dotted}.<redacted key>" if dotted else f"{head}: <redacted key>"
                what = f"a mapping key contains a {kinds[0]} (redacted, {len(key.encode())} bytes)"
                problems.append(Problem(where, what, "keys never go in a spec"))
            else:
                problems.extend(_secret_problems(spec, item, (*path, key)))
        return problems
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _secret_problems(spec, v, (*path, i))]
    return []


def _shown(value: Any) -> str:
    """A value as an error message may quote it: secret-looking values redacted, long ones cut."""
    text = repr(value)
    if find_secrets(text):
        return f"<redacted, {len(text.encode())} bytes>"
    return text if len(text) <= MAX_SHOWN else f"{text[: MAX_SHOWN - 3]}..."


def _schema_problems(spec: Spec, schema: SpecSchema) -> list[Problem]:
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
    spec: Spec, full_schema: dict[str, Any], validator: _Validator, document: dict[str, Any]
) -> list[Problem]:
    if validator.validate(document, normalize=False):
        return []
    return _translate(spec, full_schema, validator._errors)


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen: set[str] = set()
    out = []
    for p in problems:
        if str(p) not in seen:
            seen.add(str(p))
            out.append(p)
    return out


def _sort_key(where: str) -> tuple[str, int, int, str]:
    parts = where.split(":")
    nums = [int(p) for p in parts[1:3] if p.strip().isdigit()]
    return (parts[0], nums[0] if nums else 0, nums[1] if len(nums) > 1 else 0, where)


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
    problems = []
    for error in _leaves(errors):
        path = tuple(error.document_path)
        problems.append(spec.problem(path, _message(spec, schema, error, path)))
    return problems


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
