"""Fault-suite fixtures: the git wrapper on a PATH folder, and specs of two versions of one environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from .harness import HERE, write_specs


@pytest.fixture(scope="session")
def wrapper_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder whose `git` is the fault wrapper, to put first on PATH."""
    folder = tmp_path_factory.mktemp("faultbin")
    (folder / "git").write_bytes((HERE / "gitwrap.sh").read_bytes())
    (folder / "git").chmod(0o755)
    return folder


@pytest.fixture
def fault_specs(tmp_path: Path) -> tuple[Path, Path]:
    """(specs of version 1, specs of version 2) for the environment `dev`."""
    return write_specs(tmp_path / "v1", 1, ["dev"]), write_specs(tmp_path / "v2", 2, ["dev"])
