"""Checks that run on the other core while the commit is prepared: same outcome as checks run first."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from gwpipe.engine import Options, PendingChecks, Pipeline, Run
from gwpipe.errors import CheckError, GitError
from gwpipe.git.commit import commit_bundles, commit_run
from gwpipe.hooks.manager import create_manager
from gwpipe.hooks.specs import hookimpl
from gwpipe.model import Finding, RenderedObject
from gwpipe.parallel import MIN_ITEMS
from gwpipe.spec.load import Spec
from gwpipe.testing import git, write_spec

HOSTS = MIN_ITEMS  # one VirtualService per host plus the Gateway: enough objects for the checks to be deferred

pytestmark = pytest.mark.usefixtures("fast_paths")  # tests of the deferral, a fast path, itself


def spec_data(hosts: int = HOSTS) -> dict[str, Any]:
    return {
        "namespace": "shop",
        "gateways": {"web": {"selector": {"istio": "ingressgateway"}}},
        "hosts": {
            f"app{i}.example.com": {"gateway": "web", "routes": [{"destination": {"host": f"app{i}", "port": 80}}]}
            for i in range(hosts)
        },
    }


class Veto:
    """A plugin whose check finds an Error on one VirtualService, and says in which process it ran."""

    def __init__(self) -> None:
        self.pids: list[int] = []

    @hookimpl
    def gwpipe_check(self, spec: Spec, objects: list[RenderedObject]) -> list[Finding]:
        self.pids.append(os.getpid())
        return [Finding("XYZ0001", "Error", "VirtualService", "shop", "app7-example-com", "vetoed", None, None)]


def pipeline(*plugins: object) -> Pipeline:
    pm = create_manager(entry_points=False)
    for plugin in plugins:
        pm.register(plugin, name=type(plugin).__name__.lower())
    return Pipeline(Options(), pm=pm)


def make_repo(path: Path) -> Path:
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    git(path, "config", "user.name", "Ops Team")
    git(path, "config", "user.email", "ops@example.com")
    (path / "README.md").write_text("gitops\n")
    git(path, "add", "README.md")
    git(path, "commit", "-q", "-m", "init")
    return path


def deferred(tmp_path: Path, *plugins: object, hosts: int = HOSTS) -> Run:
    """A run of one environment, not yet checked: committing it (`commit_run`) may defer its checks."""
    run = Run(pipeline(*plugins))
    run.add(write_spec(tmp_path / "envs", spec_data(hosts), "dev"), tmp_path / "envs")
    return run


def test_a_failing_check_stops_the_commit_before_anything_is_in_place(tmp_path: Path) -> None:
    veto = Veto()
    run = deferred(tmp_path, veto)
    repo = make_repo(tmp_path / "gitops")
    head, objects = git(repo, "rev-parse", "HEAD"), git(repo, "count-objects", "-v")
    with pytest.raises(CheckError) as caught:
        commit_run(run, repo, Options(), create=False)
    assert veto.pids == []  # the checks really were deferred: the hook ran in the child
    assert [str(p) for p in caught.value.problems] == [
        "VirtualService shop/app7-example-com: XYZ0001 VirtualService shop/app7-example-com: vetoed"
    ]
    assert git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "status", "--porcelain", "--untracked-files=all", "--ignored") == ""
    assert sorted(p.name for p in repo.iterdir()) == [".git", "README.md"]
    assert git(repo, "count-objects", "-v") == objects  # nothing left of the fast-import


def test_the_checks_ran_in_another_process_and_found_what_build_finds(tmp_path: Path) -> None:
    veto = Veto()
    with pytest.raises(CheckError) as serial:
        pipeline(veto).build(pipeline(veto).load(write_spec(tmp_path / "a", spec_data(), "dev"), tmp_path / "a"))
    p = pipeline(veto)
    spec = p.load(write_spec(tmp_path / "b", spec_data(), "dev"), tmp_path / "b")
    checks = p.start_checks(p.prepare(spec))
    with pytest.raises(CheckError) as late:
        checks.settle()
    assert [str(p) for p in late.value.problems] == [str(p) for p in serial.value.problems]
    assert veto.pids == [os.getpid()]  # the deferred run's hook call happened in the child, not here


def test_a_check_failure_is_said_before_a_dirty_repository(tmp_path: Path) -> None:
    """Checks used to finish before the commit began, so their failure wins over any commit refusal."""
    run = deferred(tmp_path, Veto())
    repo = make_repo(tmp_path / "gitops")
    (repo / "README.md").write_text("edited by hand\n")
    with pytest.raises(CheckError):
        commit_run(run, repo, Options(), create=False)
    assert (repo / "README.md").read_text() == "edited by hand\n"


def test_a_dirty_repository_is_refused_when_the_checks_pass(tmp_path: Path) -> None:
    run = deferred(tmp_path)
    repo = make_repo(tmp_path / "gitops")
    (repo / "README.md").write_text("edited by hand\n")
    with pytest.raises(GitError, match=r"working tree has uncommitted changes: README\.md"):
        commit_run(run, repo, Options(), create=False)


def test_a_failing_check_creates_no_repository(tmp_path: Path) -> None:
    run = deferred(tmp_path, Veto())
    with pytest.raises(CheckError):
        commit_run(run, tmp_path / "new-gitops", Options(), create=True)
    assert not (tmp_path / "new-gitops").exists()


class Note:
    """A plugin whose check finds a Warning (which does not stop the run), and says in which process it ran."""

    def __init__(self) -> None:
        self.pids: list[int] = []

    @hookimpl
    def gwpipe_check(self, spec: Spec, objects: list[RenderedObject]) -> list[Finding]:
        self.pids.append(os.getpid())
        return [Finding("XYZ0002", "Warning", "VirtualService", "shop", "app7-example-com", "noted", None, None)]


@pytest.mark.parametrize("switch", ["1", "0"])
def test_deferred_and_serial_checks_commit_the_same_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, switch: str
) -> None:
    monkeypatch.setenv("GWPIPE_FAST", switch)
    trees, findings = [], []
    for defer in (False, True):
        note = Note()
        p = pipeline(note)
        path = write_spec(tmp_path / str(defer) / "envs", spec_data(), "dev")
        repo = make_repo(tmp_path / f"gitops{defer}")
        if defer:
            run = Run(p)
            run.add(path, tmp_path / str(defer) / "envs")
            [result] = commit_run(run, repo, Options(), create=False)
        else:
            [result] = commit_bundles([p.build(p.load(path, tmp_path / str(defer) / "envs"))], repo, Options(), False)
        # deferred only on the fast path: with GWPIPE_FAST=0 the checks run here, before the commit
        assert note.pids == ([] if defer and switch == "1" else [os.getpid()])
        assert result.commit == git(repo, "rev-parse", "HEAD").strip()
        findings.append([(f.code, f.resource) for f in result.findings])
        trees.append(git(repo, "rev-parse", "HEAD^{tree}"))
    assert trees[0] == trees[1]
    assert findings[0] == findings[1]
    assert ("XYZ0002", "VirtualService shop/app7-example-com") in findings[0]


def test_small_environments_are_checked_at_once(tmp_path: Path) -> None:
    veto = Veto()
    run = deferred(tmp_path, veto, hosts=3)
    with pytest.raises(CheckError):
        commit_run(run, make_repo(tmp_path / "gitops"), Options(), create=False)
    assert veto.pids == [os.getpid()]


class Crash:
    """A plugin whose check crashes."""

    @hookimpl
    def gwpipe_check(self, spec: Spec, objects: list[RenderedObject]) -> list[Finding]:
        raise RuntimeError("checker crashed")


def test_a_crashing_check_names_the_plugin_as_when_checks_ran_first(tmp_path: Path) -> None:
    from gwpipe.errors import PluginError

    run = deferred(tmp_path, Crash())
    repo = make_repo(tmp_path / "gitops")
    head = git(repo, "rev-parse", "HEAD")
    with pytest.raises(PluginError) as caught:
        commit_run(run, repo, Options(), create=False)
    assert [str(p) for p in caught.value.problems] == ["plugin 'crash': gwpipe_check: RuntimeError: checker crashed"]
    assert git(repo, "rev-parse", "HEAD") == head
    assert sorted(p.name for p in repo.iterdir()) == [".git", "README.md"]
    assert run.unchecked is not None
    checks = run.pipeline.start_checks(run.unchecked)
    for _ in range(2):
        with pytest.raises(PluginError):  # asked again: the same error, not a closed pipe
            checks.settle()


def test_an_interrupted_commit_stops_the_checks_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import multiprocessing

    from gwpipe.git import commit as engine

    run = deferred(tmp_path, Veto())
    repo = make_repo(tmp_path / "gitops")
    head = git(repo, "rev-parse", "HEAD")

    def interrupt(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(engine, "swap_tree", interrupt)
    # the interrupt lands before the checks settle
    monkeypatch.setattr(PendingChecks, "settle", lambda checks: checks.bundle)
    with pytest.raises(KeyboardInterrupt):
        commit_run(run, repo, Options(), create=False)
    assert multiprocessing.active_children() == []
    assert git(repo, "rev-parse", "HEAD") == head
    assert sorted(p.name for p in repo.iterdir()) == [".git", "README.md"]
