"""The `istioctl` check plugin: `checks.istioctl: auto|required` folds the user's own istioctl analysis in."""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from gwpipe.errors import CheckError
from gwpipe.hooks.specs import hookimpl
from gwpipe.model import Finding

if TYPE_CHECKING:
    from gwpipe.model import RenderedObject
    from gwpipe.spec.load import Spec

DEFAULT_MODE = "off"


@hookimpl
def gwpipe_check(spec: Spec, objects: list[RenderedObject]) -> list[Finding]:
    checks = spec.get("checks") or {}
    mode = checks.get("istioctl", DEFAULT_MODE) if isinstance(checks, dict) else DEFAULT_MODE
    if mode == "off" or not objects:
        return []
    # imported here: most specs leave the check off
    from gwpipe.checks.builtin.istioctl_run import ENV_VAR, IstioctlFailure, analyze_files, find_istioctl

    field = ("checks", "istioctl")
    istioctl = find_istioctl()
    if istioctl is None:
        if mode == "required":
            raise CheckError(spec.problem(field, f"istioctl is required but not on PATH; install it or set {ENV_VAR}"))
        return []
    by_object = {(o.request.kind, o.request.namespace or "", o.request.name): o for o in objects}
    with tempfile.TemporaryDirectory(prefix="gwpipe-istioctl-") as scratch:
        root = Path(scratch)
        files = _write_tree(root, objects)
        try:
            messages = analyze_files(istioctl, files, root)
        except IstioctlFailure as exc:
            raise CheckError(spec.problem(field, str(exc))) from exc
    findings = []
    for m in messages:
        obj = by_object.get((m.kind, m.namespace, m.name))
        # a message about an object istioctl did not read from the tree (its own defaults) has no file
        file = obj.path if obj is not None else None
        findings.append(replace(m, message=f"istioctl: {m.message}", file=file))
    return findings


def _write_tree(root: Path, objects: list[RenderedObject]) -> list[Path]:
    """The rendered texts under `root` at their tree paths (one document per file, as gwpipe writes them)."""
    files = []
    for index, obj in enumerate(objects):
        relative = Path(obj.path) if obj.path and not Path(obj.path).is_absolute() else Path(f"object-{index}.yaml")
        target = root / relative
        if target in files or ".." in relative.parts:
            target = root / f"object-{index}.yaml"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(obj.text, encoding="utf-8")
        files.append(target)
    return files
