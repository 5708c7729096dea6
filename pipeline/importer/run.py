"""Import: objects in, plugins' claims merged into a spec, the spec rendered in memory and compared field by field."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gwpipe.errors import GwpipeError, Problem, SpecError
from gwpipe.hooks.calls import owner
from gwpipe.importer.compare import EXTRA, differences
from gwpipe.importer.conflicts import conflicts
from gwpipe.importer.model import Conflict, ImportClaim, ImportContext, Lossy, ref_of
from gwpipe.importer.normalise import comparable, strip_server_fields
from gwpipe.spec.load import Spec, display_path
from gwpipe.spec.validate import validate_spec
from gwpipe.spec.yamlload import load_yaml_file

# files gwpipe's tree layout writes itself (kustomize's index of a folder): not objects to import
TREE_ARTEFACT_GROUPS = ("kustomize.config.k8s.io",)
# the order keys are written in, so imported specs read like hand-written ones
# fields no built-in plugin models, and what would model them
FIELD_HINTS = {
    "fault": "no built-in plugin models HTTP fault injection (a hosts.*.routes[].fault key would)",
    "mirror": "no built-in plugin models traffic mirroring (a hosts.*.routes[].mirror key would)",
    "mirrorPercentage": "no built-in plugin models traffic mirroring (a hosts.*.routes[].mirror key would)",
    "corsPolicy": "no built-in plugin models CORS (a hosts.*.routes[].corsPolicy key would)",
    "headers": "no built-in plugin models header manipulation (a hosts.*.routes[].headers key would)",
    "delegate": "no built-in plugin models delegated VirtualServices",
    "exportTo": "no built-in plugin models exportTo (a namespace visibility key would)",
}


@dataclass
class ImportResult:
    """Everything an import found, the spec it wrote (or would write), and the proof."""

    environment: str
    read: list[str]
    expressed: list[str] = field(default_factory=list)
    carried: list[str] = field(default_factory=list)
    lossy: list[Lossy] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    added_fields: list[Lossy] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    spec: dict[str, Any] = field(default_factory=dict)
    text: str = ""
    files: dict[str, bytes] = field(default_factory=dict)
    # why the spec could not be rendered, when conflicts made it unrenderable
    unrendered: list[str] = field(default_factory=list)

    @property
    def exact(self) -> bool:
        return not self.lossy and not self.conflicts

    def as_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "objects_read": len(self.read),
            "objects_expressed": len(self.expressed),
            "objects_carried": len(self.carried),
            "read": self.read,
            "expressed": self.expressed,
            "carried": self.carried,
            "lossy": [{"object": x.ref, "field": x.field, "why": x.why} for x in self.lossy],
            "conflicts": [{"objects": [c.first, c.second], "what": c.what} for c in self.conflicts],
            "added": self.added,
            "added_fields": [{"object": x.ref, "field": x.field} for x in self.added_fields],
            "skipped": self.skipped,
            "unrendered": self.unrendered,
            "spec_lines": len(self.text.splitlines()),
        }


def import_objects(
    pipeline: Any,
    raw: list[dict[str, Any]],
    environment: str,
    out: Path,
    namespace: str = "default",
    carry: bool = False,
    base: Path | None = None,
) -> ImportResult:
    """Claim `raw` through every plugin's gwpipe_import, render the spec and compare; nothing is written here."""
    result = ImportResult(environment, read=[])
    objects = []
    for obj in raw:
        if str(obj.get("apiVersion", "")).rpartition("/")[0] in TREE_ARTEFACT_GROUPS:
            result.skipped.append(f"{obj.get('kind')} (kustomize index; gwpipe writes its own)")
            continue
        objects.append(strip_server_fields(obj, namespace))
    result.read = [ref_of(o) for o in objects]
    result.conflicts = conflicts(objects)
    context = ImportContext(environment=environment, objects=objects, namespace=namespace)
    claims = _claims(pipeline, objects, context)
    claimed = {c.ref for _, c in claims if c.ref}
    if carry:
        context.leftovers = True
        left = [o for o in objects if ref_of(o) not in claimed]
        carried = _claims(pipeline, left, context) if left else []
        result.carried = sorted({c.ref for _, c in carried if c.ref})
        claims += carried
    full: dict[str, Any] = {}
    owners: dict[str, str] = {}
    # (ref, dotted field prefix) -> the plugin that claimed that part of the object
    parts: dict[tuple[str, str], str] = {}
    for plugin, claim in claims:
        merge_into(full, claim.spec)
        if claim.ref and not claim.fields:
            owners.setdefault(claim.ref, plugin)
        for prefix in claim.fields:
            parts.setdefault((claim.ref, prefix), plugin)
    for (ref, _prefix), plugin in parts.items():
        owners.setdefault(ref, plugin)
    full = ordered(full, list(pipeline.schema.schema))
    written = full
    if base is not None:
        base_data = _base_data(base)
        written = {
            "extends": os.path.relpath(os.path.abspath(base), os.path.abspath(out.parent)),
            **overrides(base_data, full),
        }
    result.spec = written
    result.text = dump(written)
    spec = Spec(name=environment, file=display_path(Path(os.path.abspath(out))), data=full, root=out.parent.absolute())
    try:
        validate_spec(spec, pipeline.schema, pipeline.pm)
        bundle = pipeline.prepare(spec)
    except GwpipeError as exc:
        if result.conflicts:  # the conflict is why: report it, naming both objects, not its echo in the spec
            result.unrendered = [str(p) for p in exc.problems]
            return result
        if isinstance(exc, SpecError):
            problems = (Problem(p.where, f"the imported spec is invalid: {p.what}", p.hint) for p in exc.problems)
            raise SpecError(*problems) from None
        raise
    result.files = bundle.files
    rendered = {o.ref: o.obj for o in bundle.objects}
    originals = {ref_of(o): o for o in objects}
    for ref, original in originals.items():
        if ref not in rendered:
            result.lossy.append(Lossy(ref, "(object)", _object_hint(original, owners.get(ref))))
            continue
        diffs = differences(comparable(original), comparable(rendered[ref]))
        for path, what in diffs:
            if what == EXTRA:
                result.added_fields.append(Lossy(ref, path, what))
            else:
                owner_of_field = _part_owner(parts, ref, path) or owners.get(ref)
                result.lossy.append(Lossy(ref, path, _field_hint(path, what, owner_of_field)))
        if not [d for d in diffs if d[1] != EXTRA] and ref not in result.carried:
            result.expressed.append(ref)
    result.added = sorted(ref for ref in rendered if ref not in originals)
    return result


def _claims(pipeline: Any, objects: list[dict[str, Any]], context: ImportContext) -> list[tuple[str, ImportClaim]]:
    out: list[tuple[str, ImportClaim]] = []
    for claims in pipeline.pm.hook.gwpipe_import(objects=objects, context=context):
        out.extend((owner(claims), claim) for claim in claims or [])
    return out


def _part_owner(parts: dict[tuple[str, str], str], ref: str, path: str) -> str | None:
    """The plugin that claimed the longest field prefix of `path` in `ref` (a Gateway's servers: tls, redirect...)."""
    found = [(len(prefix), plugin) for (r, prefix), plugin in parts.items() if r == ref and path.startswith(prefix)]
    return max(found)[1] if found else None


def _object_hint(obj: dict[str, Any], plugin: str | None) -> str:
    kind = obj.get("kind")
    if plugin:
        return f"plugin {plugin!r} claimed it, but the spec does not render it"
    return f"no plugin models kind {kind} ({obj.get('apiVersion')}); carry it unchanged with --passthrough"


def _field_hint(path: str, what: str, plugin: str | None) -> str:
    last = path.rsplit(".", 1)[-1].split("[", 1)[0]
    if last in FIELD_HINTS and what.startswith("not reproduced"):
        return FIELD_HINTS[last]
    who = f"plugin {plugin!r}" if plugin else "no plugin"
    return f"{what} ({who} expresses this object, not this field)"


def merge_into(target: dict[str, Any], fragment: dict[str, Any]) -> None:
    """Fragments meet key by key; lists join; for a scalar the first plugin's value stands."""
    for key, value in fragment.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            merge_into(target[key], value)
        elif isinstance(value, list) and isinstance(target.get(key), list):
            target[key].extend(item for item in value if item not in target[key])
        elif key not in target:
            target[key] = value


def ordered(data: dict[str, Any], key_order: list[str]) -> dict[str, Any]:
    """`data` with its top-level keys in the spec schema's order: the core's, then each plugin's."""
    head = {k: data[k] for k in key_order if k in data}
    return {**head, **{k: v for k, v in data.items() if k not in head}}


def overrides(base: dict[str, Any], full: dict[str, Any]) -> dict[str, Any]:
    """The smallest mapping that `extends` the base into `full` (null deletes a base key)."""
    out: dict[str, Any] = {}
    for key, value in full.items():
        if key not in base:
            out[key] = value
        elif isinstance(value, dict) and isinstance(base[key], dict):
            sub = overrides(base[key], value)
            if sub:
                out[key] = sub
        elif value != base[key]:
            out[key] = value
    for key in base:
        if key not in full:
            out[key] = None
    return out


def _base_data(base: Path) -> dict[str, Any]:
    """The base spec's own keys (a base is never rendered alone, so its name need not be an environment's)."""
    data = load_yaml_file(str(base), display_path(Path(os.path.abspath(base)))).data
    data.pop("extends", None)
    return dict(data)


def dump(data: dict[str, Any]) -> str:
    """The spec as YAML: block style, keys in the order given, long lines left whole."""
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=1000, allow_unicode=True)
