"""Every example environment carries route tests, and they pass with every route exercised."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from gwpipe.cli.main import main

REPO = Path(__file__).resolve().parent.parent.parent
FLEET = sorted(p.name for p in (REPO / "environments").glob("*.yaml") if not p.name.startswith("_"))
WALKTHROUGH = sorted(str(p.relative_to(REPO)) for p in (REPO / "examples" / "walkthrough").glob("*.yaml"))


@pytest.mark.parametrize("target", [f"environments/{name}" for name in FLEET] + WALKTHROUGH)
def test_example_cases_pass_with_full_coverage(target: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    result = CliRunner().invoke(main, ["test", target, "--explore", "--fail-under", "100", "--output", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["summary"]["failed"] == 0
    assert data["summary"]["cases"] >= 2
    assert [c["percent"] for c in data["coverage"].values()] == [100.0]
    assert all(p["reached"] for p in data["probes"])
    assert "findings" not in data
