"""CRD schema and CEL validation of rendered objects (being built)."""

from __future__ import annotations

from gwpipe.model import Finding, RenderedObject
from gwpipe.spec import Spec


def schema_findings(spec: Spec, objects: list[RenderedObject]) -> list[Finding]:
    """Findings for objects the target cluster's CRDs (and core schemas) would reject."""
    return []
