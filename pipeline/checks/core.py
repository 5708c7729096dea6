"""Running the checks: every `gwpipe_check` implementation (the core's objects, secrets, schema, analysis, plugins')."""

from __future__ import annotations

import pluggy

from gwpipe.model import Finding, RenderedObject
from gwpipe.spec.load import Spec


def run_checks(pm: pluggy.PluginManager, spec: Spec, objects: list[RenderedObject]) -> list[Finding]:
    """Every check plugin's findings, sorted for stable output."""
    findings = {f for found in pm.hook.gwpipe_check(spec=spec, objects=objects) for f in found}
    return sorted(
        findings,
        key=lambda f: (f.file or "", f.line or 0, f.kind, f.namespace, f.name, f.code, f.level, f.message),
    )
