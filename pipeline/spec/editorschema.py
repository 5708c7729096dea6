"""`gwpipe schema`: the merged cerberus spec schema (core and active plugins) as a JSON Schema for editors.

A spec file may be an overlay of a base (`extends`): it may leave required fields to the base and set
any field to null (which deletes the inherited value), so the editor schema requires nothing and
accepts null everywhere. Any value may be a variable reference: a string holding `${` passes a
string rule, and a string that is exactly one `${name}` passes a number or boolean rule.
"""

from __future__ import annotations

import json
from typing import Any

from gwpipe.spec.variables import NAME_RE

DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = "https://gwpipe.dev/schema/spec.json"
_REFERENCE = {"type": "string", "pattern": r"\$\{"}
_WHOLE_REFERENCE = {"type": "string", "pattern": r"^\$\{" + NAME_RE.pattern + r"\}$"}
_SCALAR_TYPES = {"integer": "integer", "number": "number", "boolean": "boolean"}
_JSON_TYPES = {
    "string": "string",
    "integer": "integer",
    "number": "number",
    "boolean": "boolean",
    "dict": "object",
    "list": "array",
    # YAML reads unquoted dates as dates; in JSON terms they are strings
    "date": "string",
    "datetime": "string",
}


def editor_schema(cerberus_schema: dict[str, Any]) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a spec file under `cerberus_schema`, plus `extends` and `vars`."""
    properties = {name: _nullable(_value(rules)) for name, rules in sorted(cerberus_schema.items())}
    properties["extends"] = {
        "type": "string",
        "minLength": 1,
        "description": "a base spec, relative to this file; this file's keys override the base's",
    }
    properties["vars"] = {
        "type": "object",
        "description": "variables, referenced as ${name} in keys and values; --var NAME=VALUE overrides them",
        "propertyNames": {"pattern": f"^{NAME_RE.pattern}$"},
        "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
    }
    return {
        "$schema": DIALECT,
        "$id": SCHEMA_ID,
        "title": "gwpipe environment spec",
        "type": "object",
        "properties": dict(sorted(properties.items())),
        "additionalProperties": False,
    }


def dumps(schema: dict[str, Any]) -> str:
    """Deterministic text: sorted keys, two-space indent, a final newline."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _nullable(node: dict[str, Any]) -> dict[str, Any]:
    """`node`, or null; said in `node`'s own keywords where possible, so editors keep its precise messages."""
    if "anyOf" in node:
        return {**node, "anyOf": [*node["anyOf"], {"type": "null"}]}
    if "type" not in node:
        return node
    types = [node["type"]] if isinstance(node["type"], str) else list(node["type"])
    nullable = {**node, "type": sorted({*types, "null"})}
    if "enum" in node:
        nullable["enum"] = [*node["enum"], None]
    return nullable


def _value(rules: dict[str, Any]) -> dict[str, Any]:
    """One value under cerberus `rules`; rules without a JSON Schema equivalent are left out (looser, never stricter)."""
    declared = rules.get("type")
    types = [declared] if isinstance(declared, str) else list(declared or [])
    node: dict[str, Any] = {}
    if types:
        json_types = sorted({_JSON_TYPES[t] for t in types if t in _JSON_TYPES})
        if json_types:
            node["type"] = json_types[0] if len(json_types) == 1 else json_types
    description = (rules.get("meta") or {}).get("description")
    if isinstance(description, str):
        node["description"] = description
    if isinstance(rules.get("regex"), str):
        node["pattern"] = f"^(?:{rules['regex']})$"
    is_list, is_dict = "list" in types, "dict" in types
    if "allowed" in rules:
        allowed = list(rules["allowed"])
        if is_list:
            node["items"] = {"enum": allowed}
        elif is_dict:
            node["propertyNames"] = {"enum": allowed}
        else:
            node["enum"] = allowed
    for rule, keyword in (("min", "minimum"), ("max", "maximum")):
        if rule in rules:
            node[keyword] = rules[rule]
    for rule, index in (("minlength", 0), ("maxlength", 1)):
        if rule in rules:
            keywords = (
                ("minItems", "maxItems")
                if is_list
                else ("minProperties", "maxProperties")
                if is_dict
                else ("minLength", "maxLength")
            )
            node[keywords[index]] = rules[rule]
    if rules.get("empty") is False and not (is_list or is_dict):
        node.setdefault("minLength", 1)
    schema = rules.get("schema")
    if isinstance(schema, dict) and is_dict:
        node["properties"] = {k: _nullable(_value(v)) for k, v in sorted(schema.items()) if isinstance(v, dict)}
        node["additionalProperties"] = bool(rules.get("allow_unknown", False))
    elif isinstance(schema, dict) and is_list:
        node["items"] = _value(schema)
    if isinstance(rules.get("keysrules"), dict):
        node["propertyNames"] = _value(rules["keysrules"])
    if isinstance(rules.get("valuesrules"), dict):
        node["additionalProperties"] = _nullable(_value(rules["valuesrules"]))
    return _with_references(node, types)


def _with_references(node: dict[str, Any], types: list[str]) -> dict[str, Any]:
    """`node`, or a variable reference in its place."""
    if not types or "string" in types:
        constrained = {"pattern", "enum", "maxLength", "minLength"} & node.keys()
        return {"anyOf": [node, _REFERENCE]} if constrained else node
    if set(types) & _SCALAR_TYPES.keys():
        return {"anyOf": [node, _WHOLE_REFERENCE]}
    return node
