"""Istio admission rules and analyzers over a rendered set (`analysis_findings`) or files (`gwpipe analyze`)."""

from __future__ import annotations

from typing import Any

import yaml

from gwpipe import istio
from gwpipe.checks.analysis.cluster import workload_inventory
from gwpipe.checks.analysis.manifests import Manifest, ManifestSet, manifest_of
from gwpipe.checks.analysis.run import analyze
from gwpipe.checks.analysis.suppress import Suppression, parse_suppression
from gwpipe.model import Finding, RenderedObject
from gwpipe.render.readback import Loader
from gwpipe.spec.load import Spec

__all__ = [
    "analysis_findings",
    "analyze",
    "rendered_manifest",
    "spec_inventory",
    "spec_suppressions",
    "target_version",
]


def target_version(spec: Spec) -> tuple[int, int]:
    """The Istio version the checks judge against (behaviour changed across releases, e.g. IST0145)."""
    return istio.target_version(spec)


def spec_inventory(spec: Spec) -> list[dict[str, Any]]:
    """`checks.inventory` plus the gateway `workloads` (pods with those labels and a Service)."""
    checks = spec.get("checks") or {}
    return list(checks.get("inventory") or []) + workload_inventory(
        istio.workloads(spec), istio.control_namespace(spec)
    )


def spec_suppressions(spec: Spec) -> list[Suppression]:
    found = (parse_suppression(s) for s in (spec.get("checks") or {}).get("suppress") or [])
    return [s for s in found if s is not None]


def _composer(text: str) -> Any:
    return lambda: yaml.compose(text, Loader=Loader)


def rendered_manifest(o: RenderedObject) -> Manifest:
    """The Manifest the checks see for a rendered object (field lines found by composing its text on demand)."""
    return manifest_of(o.obj, o.request.namespace or "default", o.path, 1, _composer(o.text), relative_lines=True)


def analysis_findings(spec: Spec, objects: list[RenderedObject]) -> list[Finding]:
    """Admission-rule and analyzer findings for one environment's rendered objects."""
    manifests = ManifestSet(rendered_manifest(o) for o in objects)
    return analyze(
        manifests,
        spec_inventory(spec),
        target_version(spec),
        spec_suppressions(spec),
        services_declared=False,
    )
