"""The `analysis` check plugin: Istio's admission rules and analyzers over the rendered set."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gwpipe.hooks.specs import hookimpl

if TYPE_CHECKING:
    from gwpipe.model import Finding, RenderedObject
    from gwpipe.spec.load import Spec


@hookimpl
def gwpipe_check(spec: Spec, objects: list[RenderedObject]) -> list[Finding]:
    # imported here: the analyzers are only needed once something renders
    from gwpipe.checks.analysis import analysis_findings

    return analysis_findings(spec, objects)
