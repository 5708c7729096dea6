"""A file-size limit (`ulimit -f`) at several sizes: a clean `error:` line or success, never a bug; the next run succeeds."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gwpipe.testing import git

from .harness import commit_in_process, leftovers, run_gwpipe, tree_of


@pytest.mark.parametrize("limit", [64, 200, 1000, 4000])
def test_file_size_limit(fault_specs: tuple[Path, Path], tmp_path: Path, limit: int) -> None:
    v1, v2 = fault_specs
    repo = tmp_path / "gitops"
    commit_in_process(v1, repo, ["dev"])
    # the index must be refreshed by the next `git status` (which used to write it, and die, under the limit)
    for path in (repo / "dev").rglob("*.yaml"):
        path.touch()
    reference = tmp_path / "reference"
    shutil.copytree(repo, reference, symlinks=True)
    commit_in_process(v2, reference, ["dev"])
    head = git(repo, "rev-parse", "HEAD")
    limited = run_gwpipe(["render", "--specs", str(v2), "--repo", str(repo), "dev"], tmp_path, file_limit=limit)
    lines = limited.stderr.splitlines()
    errors = [line for line in lines if line.startswith("error:")]
    assert "Traceback" not in limited.stderr
    assert not any("internal" in line for line in errors)
    if limited.returncode != 0:
        assert limited.returncode == 1
        assert len(errors) == 1
        assert errors[0].startswith((f"error: git: {repo}: ", f"error: {repo}"))
        assert errors[0].startswith(f"error: git: {repo}: ") or errors[0].endswith(": cannot write: File too large")
        assert git(repo, "rev-parse", "HEAD") == head
    plain = run_gwpipe(["render", "--specs", str(v2), "--repo", str(repo), "dev"], tmp_path)
    assert plain.returncode == 0, plain.stderr
    assert tree_of(repo) == tree_of(reference)
    assert leftovers(repo) == []
