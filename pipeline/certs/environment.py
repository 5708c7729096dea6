"""Render an environment's objects for certificate work, without the offline checks that gate a commit."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gwpipe.engine import Pipeline
from gwpipe.model import RenderedObject
from gwpipe.spec.load import Spec


@dataclass(frozen=True)
class Rendered:
    """A spec and its rendered objects (what `expected_from_bundle` reads; a Bundle fits too)."""

    spec: Spec
    objects: list[RenderedObject]


def render_environment(pipeline: Pipeline, path: Path, root: Path) -> Rendered:
    """Load, validate, plan and render one environment.

    The offline checks are skipped on purpose: they report a credential Secret that gwpipe cannot see
    as missing (IST0101), which is exactly what `certs status` looks up in the cluster and what
    `certs dev --apply` creates.
    """
    spec = pipeline.load(path, root)
    return Rendered(spec, pipeline.render(spec))
