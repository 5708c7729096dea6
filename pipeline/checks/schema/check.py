"""CRD schema and CEL validation of rendered objects, and built-in kinds against Kubernetes' own schemas."""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import yaml

from gwpipe.checks.schema.builtin import istio_version_for as builtin_istio_version
from gwpipe.checks.schema.convert import normalize
from gwpipe.checks.schema.corekinds import CoreSchemas, core_schemas
from gwpipe.checks.schema.crdsources import ENV_VAR, configured_sources
from gwpipe.checks.schema.messages import Path_, translate
from gwpipe.istio import target_version
from gwpipe.model import Finding, RenderedObject
from gwpipe.spec.load import Spec
from gwpipe.spec.yamlload import format_path

if TYPE_CHECKING:  # the CRD and CEL machinery is imported only when there is an object to check
    from gwpipe.checks.schema.crds import Catalog, Crd, Node

SCHEMA = "IST0106"  # Istio's SchemaValidationError
RULE = "GWP0100"  # an x-kubernetes-validations rule rejects the object
UNCONFIGURED = "GWP0101"  # neither the catalog nor a CRD source knows a custom kind: it was not checked
UNEVALUATED = "GWP0102"  # a CRD rule celpy cannot compile was skipped
DEPRECATED = "GWP0103"  # the served version is deprecated
_FIELD_PATH = re.compile(r"\.([A-Za-z0-9_-]+)|\[(\d+)\]|\['([^']*)'\]")


def schema_findings(spec: Spec, objects: list[RenderedObject]) -> list[Finding]:
    """Findings for objects the target cluster's CRDs (and core schemas) would reject."""
    if not objects:
        return []
    from gwpipe.checks.schema.crds import catalog

    loaded = catalog(configured_sources(spec), builtin_istio_version(target_version(spec)))
    core = core_schemas()  # also an unsupported Kubernetes version's error
    findings: list[Finding] = []
    unchecked: set[str] = set()
    for obj in objects:
        findings.extend(check_object(obj, loaded, core, unchecked))
    if unchecked:
        findings.append(
            Finding(UNCONFIGURED, "Info", "Environment", "", spec.name, unchecked_message(unchecked), spec.file, None)
        )
    return findings


def unchecked_message(kinds: set[str]) -> str:
    """What to say about kinds no schema covers, and how to give gwpipe their CRDs."""
    return (
        f"CRD schema validation skipped for {', '.join(sorted(kinds))}: not in the built-in catalog and no CRD "
        f"source defines it; import its CRD with `gwpipe crds import` and list it in checks.crds or {ENV_VAR}"
    )


def check_object(
    obj: RenderedObject,
    loaded: Catalog,
    core: CoreSchemas,
    unchecked: set[str],
    line_of: Callable[[Path_], int | None] | None = None,
) -> list[Finding]:
    """Schema, serving and rule findings for one object; `line_of` finds a field's line (default: in obj.text)."""
    data = obj.obj
    api_version, kind = data.get("apiVersion"), data.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str):
        return [_finding(obj, SCHEMA, "apiVersion and kind must be strings")]
    lines = line_of or (lambda path: _line(obj.text, path))
    group, _, version = api_version.rpartition("/")
    crd = loaded.lookup(group, kind)
    if crd is not None:
        return _check_custom(obj, crd, version, core, lines)
    if core.is_builtin(group):
        return _check_core(obj, group, version, kind, core, lines)
    if group in loaded.groups:
        return [_finding(obj, SCHEMA, f"no loaded CRD of group {group} serves kind {kind}")]
    unchecked.add(kind)
    return []


def _check_core(
    obj: RenderedObject, group: str, version: str, kind: str, core: CoreSchemas, lines: Callable[[Path_], int | None]
) -> list[Finding]:
    validator = core.validator(group, version, kind)
    if validator is None:
        return [_finding(obj, SCHEMA, f"Kubernetes {core.version} does not serve {obj.obj['apiVersion']} {kind}")]
    valid, data = _is_valid(validator, obj.obj)
    if valid:
        return []
    schema = core.bundle(core.by_gvk[(group, version, kind)])
    return _schema_errors(obj, validator, data, schema, lines)


def _check_custom(
    obj: RenderedObject, crd: Crd, version: str, core: CoreSchemas, lines: Callable[[Path_], int | None]
) -> list[Finding]:
    entry = crd.versions.get(version)
    if entry is None or not entry.get("served", False):
        served = ", ".join(sorted(v for v, e in crd.versions.items() if e.get("served")))
        state = "not served" if entry is not None else "not defined"
        return [
            _finding(obj, SCHEMA, f"version {version} of {crd.kind} is {state} by CRD {crd.name}; served: {served}")
        ]
    findings: list[Finding] = []
    if entry.get("deprecated"):
        warning = entry.get("deprecationWarning") or f"{obj.obj['apiVersion']} {crd.kind} is deprecated"
        findings.append(_finding(obj, DEPRECATED, str(warning), "Warning"))
    from gwpipe.checks.schema.crds import compiled

    cv = compiled(crd, version, core)
    for reason in cv.skipped:
        findings.append(_finding(obj, UNEVALUATED, f"rule not evaluated: {reason}", "Warning"))
    valid, data = _is_valid(cv.validator, obj.obj)
    if not valid or cv.has_defaults:
        data = normalize(data, cv.schema)
    schema_errors = [] if valid else _schema_errors(obj, cv.validator, data, cv.jsonschema, lines)
    findings.extend(schema_errors)
    if cv.plan is not None:
        failures: list[tuple[Path_, str, str, bool]] = []
        _walk(data, cv.plan, (), failures)
        for path, code, message, is_error in failures:
            if is_error and schema_errors:
                continue  # evaluation errors on a value the schema already rejects only repeat it
            findings.append(_finding(obj, code, f"{_dotted(path)}: {message}", line=lines(path)))
    return findings


def _is_valid(validator: Any, data: Any) -> tuple[bool, Any]:
    """Validate; YAML-only values (unquoted timestamps) are first turned into the strings the API server gets."""
    try:
        return validator.is_valid(data), data
    except ValueError:
        data = json.loads(json.dumps(data, default=_json_scalar))
        return validator.is_valid(data), data


def _json_scalar(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime.date) else str(value)


def _schema_errors(
    obj: RenderedObject, validator: Any, data: Any, schema: dict[str, Any], lines: Callable[[Path_], int | None]
) -> list[Finding]:
    out = []
    for error in validator.iter_errors(data):
        for path, message in translate(error, schema):
            out.append(_finding(obj, SCHEMA, f"{_dotted(path)}: {message}", line=lines(path)))
    return out


def _walk(value: Any, node: Node, path: Path_, out: list[tuple[Path_, str, str, bool]]) -> None:
    """Append (path, code, message, is evaluation error) for every failed rule and duplicate list-map key."""
    if value is None:
        return
    if node.rules is not None:
        for rule, outcome in node.rules.failures(value):
            out.append((_field_path(path, rule.field_path), RULE, outcome.message, outcome.error))
    if node.map_keys and isinstance(value, list):
        _duplicates(value, node.map_keys, path, out)
    if isinstance(value, dict):
        for name, child in node.props.items():
            if name in value:
                _walk(value[name], child, (*path, name), out)
        if node.values is not None:
            for name, item in value.items():
                _walk(item, node.values, (*path, name), out)
    elif node.items is not None and isinstance(value, list):
        for i, item in enumerate(value):
            _walk(item, node.items, (*path, i), out)


def _duplicates(value: list[Any], keys: tuple[str, ...], path: Path_, out: list[tuple[Path_, str, str, bool]]) -> None:
    seen: set[str] = set()
    for i, item in enumerate(value):
        if isinstance(item, dict):
            key = ", ".join(f"{k}={item.get(k)!r}" for k in keys)
            if key in seen:
                out.append(((*path, i), SCHEMA, f"duplicate entry with key {key}", False))
            seen.add(key)


def _field_path(path: Path_, field_path: str | None) -> Path_:
    """`path` extended by a rule's fieldPath (`.a.b`, `['k']`, `[0]`); unparseable ones are ignored."""
    if not field_path:
        return path
    parts: list[str | int] = []
    pos = 0
    for match in _FIELD_PATH.finditer(field_path):
        if match.start() != pos:
            return path
        name, index, quoted = match.groups()
        parts.append(int(index) if index is not None else (name if name is not None else quoted))
        pos = match.end()
    return (*path, *parts) if pos == len(field_path) else path


def _dotted(path: Path_) -> str:
    return format_path(path) or "(object)"


def _finding(obj: RenderedObject, code: str, message: str, level: str = "Error", line: int | None = None) -> Finding:
    r = obj.request
    return Finding(code, level, r.kind, r.namespace or "", r.name, message, obj.path, line)


def _line(text: str, path: Path_) -> int | None:
    """The 1-based line of `path` in the rendered YAML (the deepest part of it that exists)."""
    try:
        node: Any = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    line = node.start_mark.line + 1 if node is not None else None
    for part in path:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == part), None)
            if match is None:
                break
            line, node = match[0].start_mark.line + 1, match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line
