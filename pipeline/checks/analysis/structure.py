"""Structure first: every manifest against its schema (built-in catalog, CRD sources, core kinds), as IST0106."""

from __future__ import annotations

from gwpipe.checks.analysis.manifests import Manifest, ManifestSet
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
        found = check_object(_as_rendered(m), loaded, core, unchecked, line_of=m.line_of)
        if any(f.level == "Error" for f in found):
            invalid.add(id(m))
        findings.extend(found)
    return findings, invalid


def _as_rendered(m: Manifest) -> RenderedObject:
    request = ResourceRequest("analyze", "", m.api_version, m.kind, m.name, m.namespace or None)
    return RenderedObject(request, "", m.obj, m.file or "")
