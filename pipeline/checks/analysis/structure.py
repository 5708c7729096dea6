"""Structure first: every manifest against its schema (built-in catalog, CRD sources, core kinds), as IST0106."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import yaml

from gwpipe.checks.analysis.manifests import Manifest, ManifestSet, Path_
from gwpipe.checks.schema.builtin import istio_version_for
from gwpipe.checks.schema.crdsources import Source
from gwpipe.model import Finding, RenderedObject, ResourceRequest

# Istio reports every admission failure of an object's structure under one code, with the dotted field
SCHEMA_CODE = "IST0106"


def structure_findings(
    manifests: ManifestSet, version: tuple[int, int], sources: list[Source]
) -> tuple[list[Finding], set[int]]:
    """Schema and CEL findings for every manifest, and the ids of the manifests whose structure is invalid."""
    if not len(manifests):
        return [], set()
    from gwpipe.checks.schema.check import check_object
    from gwpipe.checks.schema.corekinds import core_schemas
    from gwpipe.checks.schema.crds import catalog

    loaded = catalog(sources, istio_version_for(version))
    core = core_schemas()
    findings: list[Finding] = []
    invalid: set[int] = set()
    unchecked: set[str] = set()  # kinds no schema covers are left to the analyzers, as istioctl does
    for m in manifests:
        found = check_object(_as_rendered(m), loaded, core, unchecked, line_of=_key_lines(m))
        if any(f.level == "Error" for f in found):
            invalid.add(id(m))
        findings.extend(f if f.line is not None else dataclasses.replace(f, line=m.line) for f in found)
    return findings, invalid


def _key_lines(m: Manifest) -> Callable[[Path_], int | None]:
    """Where a field's key is (as render reports it), not its value, which may start on the next line."""
    composed: list[yaml.Node | None] = []

    def line_of(path: Path_) -> int | None:
        if not composed:
            composed.append(m.node_source() if m.node_source is not None else None)
        node, line = composed[0], m.line
        if node is None or line is None:
            return line
        offset = line - 1 if m.relative_lines else 0
        line = node.start_mark.line + 1 + offset
        for part in path:
            if isinstance(node, yaml.MappingNode) and isinstance(part, str):
                pair = next(((k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == part), None)
                if pair is None:
                    break
                line, node = pair[0].start_mark.line + 1 + offset, pair[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
                node = node.value[part]
                line = node.start_mark.line + 1 + offset
            else:
                break
        return line

    return line_of


def _as_rendered(m: Manifest) -> RenderedObject:
    request = ResourceRequest("analyze", "", m.api_version, m.kind, m.name, m.namespace or None)
    return RenderedObject(request, "", m.obj, m.file or "")
