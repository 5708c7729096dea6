"""Built-in Kubernetes kinds: strict OpenAPI schemas from the kubernetes-validate package, per target version."""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import re
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import jsonschema_rs

from gwpipe.checks.schema.convert import FORMATS
from gwpipe.errors import Problem, UsageError

VERSION_ENV = "GWPIPE_KUBERNETES_VERSION"
DEFAULT_VERSION = "1.33"
_PREFIX = "#/$defs/"
_OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_REF = re.compile(r'"\$ref":\s*"#/\$defs/([^"]+)"')
_DROP = ("description",)


@dataclass
class CoreSchemas:
    """The definitions of one Kubernetes version, indexed by (group, version, kind); validators compiled on demand."""

    version: str
    defs: dict[str, Any]
    by_gvk: dict[tuple[str, str, str], str]
    groups: set[str]
    validators: dict[tuple[str, str, str], Any] = field(default_factory=dict)

    def is_builtin(self, group: str) -> bool:
        return group in self.groups

    def validator(self, group: str, version: str, kind: str) -> Any | None:
        """A strict validator for the built-in kind, or None when this Kubernetes version does not serve it."""
        key = (group, version, kind)
        if key not in self.validators:
            name = self.by_gvk.get(key)
            self.validators[key] = (
                None
                if name is None
                else jsonschema_rs.Draft202012Validator(self.bundle(name), formats=FORMATS, validate_formats=True)
            )
        return self.validators[key]

    def bundle(self, name: str) -> dict[str, Any]:
        """A self-contained schema for the definition `name`: a $ref plus every definition it reaches."""
        return {"$ref": f"{_PREFIX}{name}", "$defs": self.reachable(name)}

    def reachable(self, name: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        pending = [name]
        while pending:
            current = pending.pop()
            if current in out or current not in self.defs:
                continue
            out[current] = self.defs[current]
            pending.extend(_REF.findall(json.dumps(self.defs[current])))
        return out

    def object_meta(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """(schema, $defs) of ObjectMeta, for the metadata of custom resources."""
        return {"$ref": f"{_PREFIX}{_OBJECT_META}"}, self.reachable(_OBJECT_META)


_LOADED: dict[str, CoreSchemas] = {}


@functools.cache
def _schema_folder() -> Traversable:
    # found without importing kubernetes_validate, whose import (jsonschema) costs more than loading a schema
    found = importlib.util.find_spec("kubernetes_validate")
    if found is not None and found.submodule_search_locations:
        return Path(next(iter(found.submodule_search_locations)), "kubernetes-json-schema")
    return resources.files("kubernetes_validate").joinpath("kubernetes-json-schema")


@functools.cache
def _available() -> list[tuple[int, int]]:
    folder = _schema_folder()
    found = {_minor(p.name[1:]) for p in folder.iterdir() if p.name.endswith("-local-strict")}
    return sorted(v for v in found if v is not None)


def _minor(text: str) -> tuple[int, int] | None:
    match = re.match(r"^v?(\d+)\.(\d+)", text)
    return (int(match.group(1)), int(match.group(2))) if match else None


def target_version() -> str:
    """The Kubernetes minor version to validate built-in kinds for: GWPIPE_KUBERNETES_VERSION or the default."""
    return os.environ.get(VERSION_ENV, "").strip() or DEFAULT_VERSION


def could_be_builtin(group: str) -> bool:
    """False for an API group no Kubernetes version serves built in (all are dotless or end in .k8s.io)."""
    return "." not in group or group.endswith(".k8s.io")


def core_schemas(version: str | None = None) -> CoreSchemas:
    """The schemas of the newest bundled Kubernetes version not newer than `version`; loaded once per process."""
    chosen = core_version(version)
    if chosen not in _LOADED:
        _LOADED[chosen] = _load(chosen)
    return _LOADED[chosen]


def core_version(version: str | None = None) -> str:
    """The bundled Kubernetes version `core_schemas` would load (an error when none is usable), without loading it."""
    wanted_text = version or target_version()
    wanted = _minor(wanted_text)
    available = _available()
    usable = [v for v in available if wanted is not None and v <= wanted]
    if not usable:
        allowed = f"{available[0][0]}.{available[0][1]} or newer" if available else "none bundled"
        raise UsageError(
            Problem(VERSION_ENV, f"unsupported kubernetes version, got {wanted_text!r}; allowed: {allowed}")
        )
    return f"{usable[-1][0]}.{usable[-1][1]}"


def _load(version: str) -> CoreSchemas:
    folder = _schema_folder()
    match = next(p for p in folder.iterdir() if p.name.startswith(f"v{version}.") and p.name.endswith("-local-strict"))
    raw = json.loads(match.joinpath("_definitions.json").read_text(encoding="utf-8"))
    defs = {name: _strip(d) for name, d in raw["$defs"].items()}
    by_gvk: dict[tuple[str, str, str], str] = {}
    for name, d in raw["$defs"].items():
        for gvk in d.get("x-kubernetes-group-version-kind") or []:
            by_gvk.setdefault((gvk["group"], gvk["version"], gvk["kind"]), name)
    groups = {g for g, _v, _k in by_gvk}
    return CoreSchemas(version, defs, by_gvk, groups)


def _strip(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _strip(v) for k, v in node.items() if not (k in _DROP and isinstance(v, str))}
    if isinstance(node, list):
        return [_strip(v) for v in node]
    return node


def clear_cache() -> None:
    _LOADED.clear()
