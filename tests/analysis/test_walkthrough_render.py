"""Every walkthrough example renders with zero Error findings from the analysis stage."""

from __future__ import annotations

from pathlib import Path

import pytest

from gwpipe.checks.analysis import analysis_findings
from gwpipe.engine import Options, Pipeline
from gwpipe.hooks.manager import create_manager

EXAMPLES = sorted((Path(__file__).resolve().parent.parent.parent / "examples" / "walkthrough").glob("*.yaml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_walkthrough_has_no_error_findings(path: Path) -> None:
    pipeline = Pipeline(Options(fail_level="Error"), pm=create_manager(entry_points=False))
    spec = pipeline.load(path, path.parent)
    pipeline.options.fail_level = "Error"
    objects = pipeline.render(spec)
    errors = [str(f) for f in analysis_findings(spec, objects) if f.level == "Error"]
    assert errors == []
