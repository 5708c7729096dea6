"""Loaded CRDs indexed by group and kind, each served version compiled once into a strict validator and rule plan."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import jsonschema_rs

from gwpipe.checks.schema import builtin
from gwpipe.checks.schema.cel import Rule, RuleError, RuleSet, compile_rule
from gwpipe.checks.schema.convert import FORMATS, structural_to_jsonschema
from gwpipe.checks.schema.corekinds import CoreSchemas
from gwpipe.checks.schema.crdsources import Source, load_documents


@dataclass
class Node:
    """The rules and list-map keys of one schema node, plus the children that lead to more of them."""

    rules: RuleSet | None = None
    map_keys: tuple[str, ...] | None = None
    props: dict[str, Node] = field(default_factory=dict)
    items: Node | None = None
    values: Node | None = None


@dataclass
class CompiledVersion:
    """One served version: its structural schema, a jsonschema-rs validator and the rule plan."""

    schema: dict[str, Any]
    jsonschema: dict[str, Any]
    validator: Any
    plan: Node | None
    has_defaults: bool
    skipped: list[str]


@dataclass
class Crd:
    """One CustomResourceDefinition: `versions` maps a version name to its entry in spec.versions."""

    name: str
    group: str
    kind: str
    versions: dict[str, dict[str, Any]]
    origin: str


_COMPILED: dict[tuple[int, str], tuple[dict[str, Any], CompiledVersion]] = {}
# keyed by the sources; the ids of the documents read tell when a file changed under the same path
_CATALOGS: dict[tuple[Any, ...], tuple[tuple[int, ...], Catalog]] = {}
_BUILTIN: dict[tuple[str, str], Crd] = {}


class Catalog:
    """Every CRD of the configured sources, then the built-in catalog; the first source that defines a CRD name wins.

    `istio_version` None: no built-in catalog (only what the sources define).
    """

    def __init__(self, sources: list[Source], istio_version: str | None = None) -> None:
        self.by_kind: dict[tuple[str, str], Crd] = {}
        self.groups: set[str] = set()
        self.istio_version = istio_version
        self.builtin = builtin.entries(istio_version) if istio_version is not None else {}
        self.groups.update(group for group, _kind in self.builtin)
        seen: set[str] = set()
        for source in sources:
            for doc in load_documents(source):
                crd = _crd(doc, source.where)
                if crd is None or crd.name in seen:
                    continue
                seen.add(crd.name)
                self.by_kind.setdefault((crd.group, crd.kind), crd)
                self.groups.add(crd.group)

    def lookup(self, group: str, kind: str) -> Crd | None:
        found = self.by_kind.get((group, kind))
        if found is not None:
            return found
        entry = self.builtin.get((group, kind))
        return builtin_crd(entry) if entry is not None else None


def builtin_crd(entry: builtin.Entry) -> Crd:
    """The Crd of a catalog entry; Istio versions with the same schema share its dict, so it compiles once."""
    key = (entry.blob, entry.source)
    found = _BUILTIN.get(key)
    if found is None:
        found = _crd(builtin.document(entry.blob), builtin.origin(entry))
        assert found is not None
        _BUILTIN[key] = found
    return found


def catalog(sources: list[Source], istio_version: str | None = None) -> Catalog:
    """The catalog of `sources` (then the built-in one), built once per process for the same inputs."""
    key = (istio_version, *((s.kind, s.ref) for s in sources))
    docs_key = tuple(id(d) for s in sources for d in load_documents(s))
    cached = _CATALOGS.get(key)
    if cached is None or cached[0] != docs_key:
        cached = (docs_key, Catalog(sources, istio_version))
        _CATALOGS[key] = cached
    return cached[1]


def _crd(doc: dict[str, Any], origin: str) -> Crd | None:
    spec = doc.get("spec")
    if not isinstance(spec, dict):
        return None
    names = spec.get("names") or {}
    versions = {str(v.get("name")): v for v in spec.get("versions") or [] if isinstance(v, dict)}
    name = str((doc.get("metadata") or {}).get("name") or f"{names.get('plural')}.{spec.get('group')}")
    return Crd(name, str(spec.get("group", "")), str(names.get("kind", "")), versions, origin)


def compiled(crd: Crd, version: str, core: CoreSchemas | None) -> CompiledVersion:
    """The compiled validator and rule plan of `crd` at `version`; metadata is checked as ObjectMeta of `core`."""
    entry = crd.versions[version]
    schema = ((entry.get("schema") or {}).get("openAPIV3Schema")) or {
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": True,
    }
    key = (id(schema), core.version if core else "")
    hit = _COMPILED.get(key)
    if hit is not None and hit[0] is schema:
        return hit[1]
    converted = structural_to_jsonschema(schema, root=True)
    _metadata_as_object_meta(converted, schema, core)
    validator = jsonschema_rs.Draft4Validator(converted, formats=FORMATS, validate_formats=True)
    skipped: list[str] = []
    plan = _plan(schema, skipped)
    result = CompiledVersion(schema, converted, validator, plan, _has_defaults(schema), skipped)
    _COMPILED[key] = (schema, result)
    return result


def _metadata_as_object_meta(converted: dict[str, Any], schema: dict[str, Any], core: CoreSchemas | None) -> None:
    # the apiserver checks a custom resource's metadata as ObjectMeta; the CRD may only narrow name rules
    own = (schema.get("properties") or {}).get("metadata")
    parts = [structural_to_jsonschema(own, structural=False)] if isinstance(own, dict) else []
    if core is not None:
        meta, defs = core.object_meta()
        parts.insert(0, meta)
        converted["$defs"] = defs
    else:
        parts.insert(0, {"type": "object"})
    converted["properties"]["metadata"] = {"allOf": parts}


def _plan(schema: dict[str, Any], skipped: list[str]) -> Node | None:
    node = Node()
    rules: list[Rule] = []
    for spec in schema.get("x-kubernetes-validations") or []:
        try:
            rule = compile_rule(spec, schema)
        except RuleError as exc:
            skipped.append(str(exc))
            continue
        if not rule.transition:
            rules.append(rule)
    node.rules = RuleSet.of(rules) if rules else None
    if schema.get("x-kubernetes-list-type") == "map":
        node.map_keys = tuple(schema.get("x-kubernetes-list-map-keys") or ())
    for name, sub in (schema.get("properties") or {}).items():
        child = _plan(sub, skipped) if isinstance(sub, dict) else None
        if child is not None:
            node.props[name] = child
    if isinstance(schema.get("items"), dict):
        node.items = _plan(schema["items"], skipped)
    if isinstance(schema.get("additionalProperties"), dict):
        node.values = _plan(schema["additionalProperties"], skipped)
    if node.rules or node.map_keys or node.props or node.items or node.values:
        return node
    return None


def _has_defaults(schema: Any) -> bool:
    if not isinstance(schema, dict):
        return False
    if "default" in schema:
        return True
    children = list((schema.get("properties") or {}).values())
    children += [schema[k] for k in ("items", "additionalProperties") if isinstance(schema.get(k), dict)]
    return any(_has_defaults(c) for c in children)


def clear_cache() -> None:
    """Forget compiled versions and catalogs (tests)."""
    _COMPILED.clear()
    _CATALOGS.clear()
    _BUILTIN.clear()
