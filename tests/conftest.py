"""Shared fixtures: gwpipe's own pytest plugin, plus paths to the repository and shared references."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["gwpipe.testing", "cli_env"]

REPO = Path(__file__).resolve().parent.parent
# beside the repository, or beside the folder of worktrees the repository is checked out in
SHARED = next(
    (p / "shared" for p in (REPO.parent, REPO.parent.parent) if (p / "shared").is_dir()), REPO.parent / "shared"
)
CRDS = SHARED / "reference" / "crds"


@pytest.fixture
def fast_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    """GWPIPE_FAST=1 for a test of a fast path itself, whatever the suite runs with (tox -e slow: 0)."""
    monkeypatch.setenv("GWPIPE_FAST", "1")


@pytest.fixture
def repo_root() -> Path:
    return REPO


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens", action="store_true", default=False, help="rewrite tests/golden/ from the current output"
    )
