"""The `secrets` check plugin: no private key anywhere in the output (essential: it cannot be blocked)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gwpipe.checks.builtin.objects import finding
from gwpipe.checks.secrets import find_secrets_each
from gwpipe.hooks.specs import hookimpl

if TYPE_CHECKING:
    from gwpipe.model import Finding, RenderedObject
    from gwpipe.spec.load import Spec


@hookimpl
def gwpipe_check(spec: Spec, objects: list[RenderedObject]) -> list[Finding]:
    found = find_secrets_each([obj.text for obj in objects])
    return [
        finding(obj, "GWP0003", f"output contains a {kind}; private keys never enter the GitOps tree")
        for obj, kinds in zip(objects, found, strict=True)
        for kind in kinds
    ]
