"""Validate a spec against the core schema plus every plugin's fragment: a fast JSON Schema twin, else cerberus."""

from __future__ import annotations

import contextlib
import copy
from typing import TYPE_CHECKING, Any

import pluggy

from gwpipe import fast
from gwpipe.checks.secrets import find_secrets
from gwpipe.errors import PluginError, Problem, SpecError
from gwpipe.hooks.calls import owner
from gwpipe.spec.fastvalidate import FastValidator, Unsupported
from gwpipe.spec.load import Spec
from gwpipe.spec.yamlload import format_path

if TYPE_CHECKING:
    from gwpipe.spec.cerberusrules import SpecValidator

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
# what already exists in the cluster: gateway pods, Services, credential Secrets (read by gwpipe.checks.analysis)
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
    # route behaviour tests for `gwpipe test`; gwpipe.routes.cases checks each case with located errors
    "tests": {"type": "list", "schema": {"type": "dict"}},
    # settings of the check stage; sub-keys are owned by gwpipe.checks.schema and gwpipe.checks.analysis
    "checks": {
        "type": "dict",
        "schema": {
            # owned by gwpipe.checks.schema.crdsources: CRD files or folders inside the spec root, pinned URLs, cluster:[context]
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
            # owned by gwpipe.checks.builtin.istioctl: the user's own istioctl over the rendered tree
            "istioctl": {"type": "string", "allowed": ["auto", "off", "required"]},
            "suppress": {"type": "list", "schema": _SUPPRESS},
        },
    },
}
CORE_OWNER = "core"
# top-level keys the loader consumes before validation: no plugin may claim them
RESERVED = {"extends": "a spec's base", "vars": "spec variables"}


class SpecSchema:
    """The merged schema, who owns each field, its fast twin, and cerberus validators built when first needed."""

    def __init__(self, schema: dict[str, Any], owners: dict[str, str]) -> None:
        self.schema = schema
        self.owners = owners
        self._validator: SpecValidator | None = None
        self._split: dict[str, tuple[SpecValidator, SpecValidator]] = {}
        self.fast: FastValidator | None = None
        if fast.enabled():
            with contextlib.suppress(Unsupported):  # a rule the twin cannot reproduce: cerberus judges every spec
                self.fast = FastValidator(schema)
        if self.fast is None:
            self._validator = self.validator  # cerberus checks the schema now (one the twin translates, it accepts)

    @property
    def validator(self) -> SpecValidator:
        # cerberus checks the schema when a validator is built (~0.05 s for the built-in one); a schema the twin
        # translated is one cerberus accepts, so that cost is paid only when a spec fails the fast check
        if self._validator is None:
            from gwpipe.spec.cerberusrules import SpecValidator, checked

            self._validator = checked(lambda: SpecValidator(self.schema))
        return self._validator

    def keys_of(self, plugin: str) -> list[str]:
        return sorted(k for k, owner in self.owners.items() if owner == plugin)

    def split(self, key: str) -> tuple[SpecValidator, SpecValidator]:
        """Validators for the document without `key`'s entry rules, and for `key`'s entries alone."""
        if key not in self._split:
            from gwpipe.spec.cerberusrules import SpecValidator, checked

            rule = self.schema[key]
            outer_rule = {k: v for k, v in rule.items() if k not in ("keysrules", "valuesrules")}
            entry_rule = {k: rule[k] for k in ("type", "keysrules", "valuesrules") if k in rule}
            self._split[key] = checked(
                lambda: (SpecValidator({**self.schema, key: outer_rule}), SpecValidator({key: entry_rule}))
            )
        return self._split[key]


def build_schema(pm: pluggy.PluginManager) -> SpecSchema:
    """Merge the core schema with each plugin's `gwpipe_spec_schema` fragments."""
    # deep copies: fragments are merged into nested tables, which must not leak into module-level dicts
    schema: dict[str, Any] = copy.deepcopy(CORE_SCHEMA)
    owners = dict.fromkeys(CORE_SCHEMA, CORE_OWNER)
    pending: list[tuple[str, str, dict[str, Any]]] = []
    for fragment in pm.hook.gwpipe_spec_schema():
        plugin = owner(fragment)
        pending.extend((plugin, loc, copy.deepcopy(rules)) for loc, rules in fragment.items())
    # top-level fragments first, so nested locations can name keys another plugin declares
    pending.sort(key=lambda item: item[1].count(".") + (0 if item[1] == "" else 1))
    for plugin, location, rules in pending:
        target = _locate(schema, location, plugin)
        for key, rule in rules.items():
            dotted = f"{location}.{key}" if location else key
            if dotted in RESERVED:
                raise PluginError(
                    Problem(
                        f"plugin {plugin!r}: gwpipe_spec_schema", f"field {dotted!r} is reserved for {RESERVED[dotted]}"
                    )
                )
            if key in target:
                raise PluginError(
                    Problem(
                        f"plugin {plugin!r}: gwpipe_spec_schema",
                        f"field {dotted!r} is already owned by plugin {owners[dotted]!r}",
                    )
                )
            target[key] = rule
            owners[dotted] = plugin
    return SpecSchema(schema, owners)


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
    problems: list[Problem] = []
    # a spec the fast twin proves valid is one where cerberus finds nothing, in a fraction of the time
    if not (schema.fast is not None and schema.fast.proves_valid(spec.data)):
        from gwpipe.spec.cerberusrules import schema_problems

        problems = _secret_problems(spec, spec.data, ()) + schema_problems(spec, schema)
    if not problems:
        for found in pm.hook.gwpipe_validate_spec(spec=spec):
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
