"""The `schema` check plugin: every object against its CRD's OpenAPI schema and CEL rules."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gwpipe.hooks.specs import hookimpl

if TYPE_CHECKING:
    from gwpipe.model import Finding, RenderedObject
    from gwpipe.spec.load import Spec


@hookimpl
def gwpipe_check(spec: Spec, objects: list[RenderedObject]) -> list[Finding]:
    # imported here: the CRDs and the CEL compiler are only needed once something renders
    from gwpipe.checks.schema.check import schema_findings

    return schema_findings(spec, objects)
