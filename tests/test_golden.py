"""Golden trees: every example environment renders to exactly the files under tests/golden/ (that, not why)."""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest

from gwpipe.engine import Options, Pipeline
from gwpipe.hooks.manager import create_manager

REPO = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
EXAMPLES = sorted(
    [p for p in (REPO / "environments").glob("*.yaml") if not p.name.startswith("_")]
    + list((REPO / "examples" / "walkthrough").glob("*.yaml"))
)
MAX_DIFF_LINES = 60


def _golden_dir(spec: Path) -> Path:
    return GOLDEN / spec.parent.name / spec.stem


def _render(spec: Path) -> dict[str, bytes]:
    pipeline = Pipeline(Options(), pm=create_manager(entry_points=False))
    return pipeline.build(pipeline.load(spec, spec.parent)).files


def _read(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _capped_diff(expected: dict[str, bytes], actual: dict[str, bytes]) -> str:
    lines: list[str] = []
    for name in sorted(set(expected) | set(actual)):
        old = expected.get(name, b"").decode().splitlines(keepends=True)
        new = actual.get(name, b"").decode().splitlines(keepends=True)
        if old != new:
            lines.extend(difflib.unified_diff(old, new, f"golden/{name}", f"rendered/{name}"))
    shown = "".join(lines[:MAX_DIFF_LINES])
    more = len(lines) - MAX_DIFF_LINES
    return shown + (f"\n... {more} more diff lines (refresh with pytest --update-goldens)" if more > 0 else "")


@pytest.mark.parametrize("spec", EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_example_matches_golden_tree(spec: Path, request: pytest.FixtureRequest) -> None:
    actual = _render(spec)
    folder = _golden_dir(spec)
    if request.config.getoption("--update-goldens"):
        shutil.rmtree(folder, ignore_errors=True)
        for name, data in actual.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(data)
    assert folder.is_dir(), f"no golden tree for {spec.name}; run pytest --update-goldens and review the result"
    expected = _read(folder)
    assert expected == actual, _capped_diff(expected, actual)


def test_every_golden_tree_has_an_example() -> None:
    """A golden folder whose example was deleted or renamed is stale and must go."""
    known = {_golden_dir(spec) for spec in EXAMPLES}
    stale = [p for p in GOLDEN.glob("*/*") if p.is_dir() and p not in known]
    assert not stale, f"stale golden trees: {stale}"
