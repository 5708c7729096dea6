"""Kill or fail gwpipe at every git step of a commit: the next plain render must succeed with the clean tree."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gwpipe.testing import git

from .harness import commit_in_process, leftovers, run_gwpipe, tree_of

# every git subcommand a render that changes an existing environment runs, in order, with the fast commit
# (GWPIPE_FAST=1: fast-import, then a compare-and-swap of the branch) and with the simple one (`git add`
# + `git commit`); `version` is GitPython's own start-up probe, before gwpipe does anything
STEPS = {
    "1": [
        "status",
        "ls-files",
        "check-attr",
        "config",
        "var",
        "fast-import",
        "add",
        "diff-index",
        "rev-parse",
        "update-ref",
        "maintenance",
        "ls-tree",
    ],
    "0": ["status", "ls-files", "check-attr", "add", "diff", "commit", "ls-tree"],
}
# the first step that runs once the run journal exists: a kill from there on leaves work the next run must undo
JOURNALED = {"1": "config", "0": "add"}
# the first step after which the branch has moved: the killed run's commit stands
LANDED = {"1": "update-ref", "0": "commit"}
# failures gwpipe works around: no identity/config for the fast path (falls back to `git add`), housekeeping,
# reading the committed trees for the record of rendered inputs (then only renders again next time)
TOLERATED = {"1": ["config", "var", "maintenance", "ls-tree"], "0": ["ls-tree"]}
# after the run's journal is cleared: a kill there leaves nothing to recover
UNJOURNALED = ("ls-tree",)
CELLS = [(mode, step) for mode, steps in STEPS.items() for step in steps]


def _from(mode: str, first: str) -> list[str]:
    return STEPS[mode][STEPS[mode].index(first) :]


@pytest.fixture
def scene(tmp_path: Path, fault_specs: tuple[Path, Path]) -> tuple[Path, Path, str]:
    """(repository holding dev v1, specs of v2, the tree a clean render of v2 commits)."""
    v1, v2 = fault_specs
    repo = tmp_path / "gitops"
    commit_in_process(v1, repo, ["dev"])
    reference = tmp_path / "reference"
    shutil.copytree(repo, reference, symlinks=True)
    commit_in_process(v2, reference, ["dev"])
    return repo, v2, tree_of(reference)


@pytest.mark.parametrize("mode", sorted(STEPS))
def test_the_matrix_covers_every_git_step(
    scene: tuple[Path, Path, str], wrapper_bin: Path, tmp_path: Path, mode: str
) -> None:
    repo, v2, _tree = scene
    log = tmp_path / "steps.log"
    done = run_gwpipe(
        ["render", "--specs", str(v2), "--repo", str(repo), "dev"],
        tmp_path,
        {"GWPIPE_FAULT_LOG": str(log), "GWPIPE_FAST": mode},
        wrapper_bin,
    )
    assert done.returncode == 0, done.stderr
    ran = [step for step in log.read_text().split() if step != "version"]
    assert list(dict.fromkeys(ran)) == STEPS[mode]


def _after_fault(repo: Path, v2: Path, tree: str, cwd: Path) -> str:
    """Run a plain render; assert it succeeds and leaves exactly the clean tree; return its stderr."""
    plain = run_gwpipe(["render", "--specs", str(v2), "--repo", str(repo), "dev"], cwd)
    assert plain.returncode == 0, plain.stderr
    assert "Traceback" not in plain.stderr
    assert tree_of(repo) == tree
    assert leftovers(repo) == []
    return plain.stderr


# killing before a step leaves what killing after the one before it leaves: only "after" is run
@pytest.mark.parametrize(("mode", "step"), CELLS)
def test_kill_after_step(
    scene: tuple[Path, Path, str], wrapper_bin: Path, tmp_path: Path, mode: str, step: str
) -> None:
    repo, v2, tree = scene
    head = git(repo, "rev-parse", "HEAD").strip()
    killed = run_gwpipe(
        ["render", "--specs", str(v2), "--repo", str(repo), "dev"],
        tmp_path,
        {"GWPIPE_FAULT_STEP": step, "GWPIPE_FAULT_MODE": "kill-after", "GWPIPE_FAST": mode},
        wrapper_bin,
    )
    assert killed.returncode == -9, killed.stderr
    landed = step in _from(mode, LANDED[mode])  # the branch moved: the killed run's commit stands
    assert (git(repo, "rev-parse", "HEAD").strip() != head) == landed
    said = _after_fault(repo, v2, tree, tmp_path)
    notes = [line for line in said.splitlines() if line.startswith("gwpipe: ")]
    if step not in _from(mode, JOURNALED[mode]) or step in UNJOURNALED:
        assert notes == []
    elif landed:
        assert notes == [f"gwpipe: {repo}: an interrupted gwpipe run had committed {tree_head(repo)}; dev now match it"]
    else:
        assert notes == [
            f"gwpipe: {repo}: an interrupted gwpipe run was undone: dev restored to the last commit ({head[:12]})"
        ]


def tree_head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").strip()[:12]


@pytest.mark.parametrize(("mode", "step"), CELLS)
def test_fail_at_step(scene: tuple[Path, Path, str], wrapper_bin: Path, tmp_path: Path, mode: str, step: str) -> None:
    repo, v2, tree = scene
    head = git(repo, "rev-parse", "HEAD").strip()
    failed = run_gwpipe(
        ["render", "--specs", str(v2), "--repo", str(repo), "dev"],
        tmp_path,
        {"GWPIPE_FAULT_STEP": step, "GWPIPE_FAULT_MODE": "fail", "GWPIPE_FAST": mode},
        wrapper_bin,
    )
    if step in TOLERATED[mode]:
        assert failed.returncode == 0, failed.stderr
        assert tree_of(repo) == tree
    else:
        assert failed.returncode == 1
        errors = [line for line in failed.stderr.splitlines() if line.startswith(("error:", "hint:", "Traceback"))]
        assert errors == [f"error: git: {repo}: fatal: injected failure of git {step}"]
        assert git(repo, "rev-parse", "HEAD").strip() == head
        assert leftovers(repo) == []
    assert [line for line in _after_fault(repo, v2, tree, tmp_path).splitlines() if line.startswith("gwpipe: ")] == []
