"""Kubernetes structural schemas as strict JSON Schema (draft 4), and the apiserver's null pruning and defaulting."""

from __future__ import annotations

import base64
import binascii
import copy
from typing import Any

# keywords that only describe, or that the rule plan handles in Python
_DROPPED = frozenset(
    {
        "description",
        "example",
        "externalDocs",
        "title",
        "default",
        "format",
        "nullable",
        "x-kubernetes-validations",
        "x-kubernetes-list-map-keys",
        "x-kubernetes-list-type",
        "x-kubernetes-map-type",
        "x-kubernetes-preserve-unknown-fields",
        "x-kubernetes-embedded-resource",
        "x-kubernetes-int-or-string",
    }
)
_VALUE_LISTS = ("allOf", "anyOf", "oneOf")
# formats the apiserver checks and jsonschema-rs checks the same way; int32, int64, double are not checked by either
_CHECKED_FORMATS = frozenset({"date-time", "ipv4", "ipv6", "uuid", "byte", "date"})
EMBEDDED = {"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"}}


def _is_base64(value: str) -> bool:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


FORMATS: dict[str, Any] = {"byte": _is_base64}


def structural_to_jsonschema(node: dict[str, Any], root: bool = False, structural: bool = True) -> dict[str, Any]:
    """Convert one schema node: unknown fields refused unless preserved, nullable and int-or-string as type lists."""
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED:
            continue
        if key == "properties":
            out[key] = {k: structural_to_jsonschema(v, structural=structural) for k, v in value.items()}
        elif key in ("items", "additionalProperties", "not") and isinstance(value, dict):
            out[key] = structural_to_jsonschema(value, structural=structural and key != "not")
        elif key in _VALUE_LISTS:
            out[key] = [structural_to_jsonschema(v, structural=False) for v in value]
        else:
            out[key] = value
    if node.get("format") in _CHECKED_FORMATS:
        out["format"] = node["format"]
    if node.get("x-kubernetes-int-or-string"):
        out["type"] = ["integer", "string"]
    if node.get("x-kubernetes-list-type") == "set":
        out["uniqueItems"] = True
    if node.get("x-kubernetes-embedded-resource"):
        out["properties"] = {**EMBEDDED, **out.get("properties", {})}
    if root:
        out["properties"] = {**EMBEDDED, **out.get("properties", {})}
    if node.get("nullable") and "type" in out:
        types = out["type"] if isinstance(out["type"], list) else [out["type"]]
        out["type"] = [*types, "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    is_object = node.get("type") == "object" or "properties" in node
    if (
        structural
        and is_object
        and not node.get("x-kubernetes-preserve-unknown-fields")
        and "additionalProperties" not in node
    ):
        out["additionalProperties"] = False
    return out


def normalize(value: Any, node: dict[str, Any]) -> Any:
    """The object as the apiserver stores it: nulls of non-nullable fields pruned, then schema defaults applied."""
    if isinstance(value, dict):
        props = node.get("properties")
        if props is not None:
            out = {}
            for key, item in value.items():
                sub = props.get(key)
                if item is None and isinstance(sub, dict) and not sub.get("nullable"):
                    continue
                out[key] = normalize(item, sub) if isinstance(sub, dict) else item
            for key, sub in props.items():
                if key not in out and isinstance(sub, dict) and "default" in sub:
                    out[key] = normalize(copy.deepcopy(sub["default"]), sub)
            return out
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            return {k: normalize(v, extra) for k, v in value.items() if v is not None or extra.get("nullable")}
        return value
    if isinstance(value, list) and isinstance(node.get("items"), dict):
        return [normalize(v, node["items"]) for v in value]
    return value
