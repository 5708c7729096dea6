"""SIGTERM and SIGHUP unwind like Ctrl-C; concurrent runs queue on the lock and end as if run one after another."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gwpipe.testing import git

from .harness import commit_in_process, gwpipe_env, leftovers, run_gwpipe, tree_of, write_specs


@pytest.mark.parametrize("mode", ["term-after", "hup-after"])
def test_terminated_after_git_add_puts_everything_back(
    fault_specs: tuple[Path, Path], wrapper_bin: Path, tmp_path: Path, mode: str
) -> None:
    v1, v2 = fault_specs
    repo = tmp_path / "gitops"
    commit_in_process(v1, repo, ["dev"])
    head = git(repo, "rev-parse", "HEAD")
    stopped = run_gwpipe(
        ["render", "--specs", str(v2), "--repo", str(repo), "dev"],
        tmp_path,
        {"GWPIPE_FAULT_STEP": "add", "GWPIPE_FAULT_MODE": mode},
        wrapper_bin,
    )
    assert stopped.returncode == 1
    assert stopped.stderr.splitlines()[-1] == "Aborted!"
    assert git(repo, "rev-parse", "HEAD") == head
    assert leftovers(repo) == []  # nothing staged, no journal: the handler unwound the run
    again = run_gwpipe(["render", "--specs", str(v2), "--repo", str(repo), "dev"], tmp_path)
    assert again.returncode == 0, again.stderr
    assert "interrupted" not in again.stderr


def test_git_killed_by_sigxfsz_is_a_git_error_and_its_lock_is_recovered(
    fault_specs: tuple[Path, Path], wrapper_bin: Path, tmp_path: Path
) -> None:
    v1, v2 = fault_specs
    repo = tmp_path / "gitops"
    commit_in_process(v1, repo, ["dev"])
    head = git(repo, "rev-parse", "HEAD").strip()
    args = ["render", "--specs", str(v2), "--repo", str(repo), "dev"]
    failed = run_gwpipe(args, tmp_path, {"GWPIPE_FAULT_STEP": "add", "GWPIPE_FAULT_MODE": "xfsz"}, wrapper_bin)
    assert failed.returncode == 1
    assert [line for line in failed.stderr.splitlines() if line.startswith(("error:", "hint:", "Traceback"))] == [
        f"error: git: {repo}: git add was killed by SIGXFSZ",
        "hint: the file-size limit (`ulimit -f`) is too small for the repository; raise it and re-run",
    ]
    assert git(repo, "rev-parse", "HEAD").strip() == head
    assert (repo / ".git" / "index.lock").exists()  # git's, left as git leaves it; the journal says it is ours
    again = run_gwpipe(args, tmp_path)
    assert again.returncode == 0, again.stderr
    assert f"gwpipe: {repo}: an interrupted gwpipe run was undone: dev restored to the last commit ({head[:12]})" in (
        again.stderr.splitlines()
    )
    assert leftovers(repo) == []


ENVS = [f"e{i}" for i in range(8)]


def test_concurrent_first_use_is_serialised(tmp_path: Path) -> None:
    """8 renders of different environments into a repository that does not exist yet: all commit, one by one."""
    specs = write_specs(tmp_path / "environments", 1, ENVS)
    workspace = tmp_path / "ws"
    workspace.mkdir()
    runs = [
        subprocess.Popen(
            ["gwpipe", "render", "--specs", str(specs), env],
            cwd=workspace,
            env=gwpipe_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for env in ENVS
    ]
    outcomes = [(run.wait(timeout=300), *run.communicate()) for run in runs]
    assert [(code, err) for code, _out, err in outcomes if code != 0] == []
    repo = workspace / ".gwpipe" / "gitops"
    assert git(repo, "rev-list", "--count", "HEAD").strip() == str(len(ENVS))
    reference = tmp_path / "reference"
    commit_in_process(specs, reference, ENVS)
    assert tree_of(repo) == tree_of(reference)
    assert leftovers(repo) == []
