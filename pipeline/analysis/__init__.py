"""Istio admission rules and analyzers over a rendered set (being built)."""

from __future__ import annotations

from gwpipe.model import Finding, RenderedObject
from gwpipe.spec import Spec


def analysis_findings(spec: Spec, objects: list[RenderedObject]) -> list[Finding]:
    """Admission-rule and analyzer findings for one environment's rendered objects."""
    return []
