"""Checks that run on the other core while the commit is prepared: same outcome as checks run first."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from gwpipe.engine import Bundle, Options, Pipeline
from gwpipe.errors import CheckError, GitError
from gwpipe.git.commit import commit_bundles
from gwpipe.hooks.manager import create_manager
from gwpipe.hooks.specs import hookimpl
from gwpipe.model import Finding, RenderedObject
from gwpipe.parallel import MIN_ITEMS
from gwpipe.spec.load import Spec
from gwpipe.testing import git, write_spec

HOSTS = MIN_ITEMS  # one VirtualService per host plus the Gateway: enough objects for the checks to be deferred


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


def deferred(tmp_path: Path, *plugins: object) -> Bundle:
    p = pipeline(*plugins)
    path = write_spec(tmp_path / "envs", spec_data(), "dev")
    bundle = p.build(p.load(path, tmp_path / "envs"), defer_checks=True)
    return bundle


def test_a_failing_check_stops_the_commit_before_anything_is_in_place(tmp_path: Path) -> None:
    veto = Veto()
    bundle = deferred(tmp_path, veto)
    assert bundle.checks is not None  # the checks really were deferred
    repo = make_repo(tmp_path / "gitops")
    head, objects = git(repo, "rev-parse", "HEAD"), git(repo, "count-objects", "-v")
    with pytest.raises(CheckError) as caught:
        commit_bundles([bundle], repo, Options(), create=False)
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
    bundle = deferred(tmp_path, veto)
    with pytest.raises(CheckError) as late:
        bundle.settle()
    assert [str(p) for p in late.value.problems] == [str(p) for p in serial.value.problems]
    assert veto.pids == [os.getpid()]  # the deferred run's hook call happened in the child, not here


def test_a_check_failure_is_said_before_a_dirty_repository(tmp_path: Path) -> None:
    """Checks used to finish before the commit began, so their failure wins over any commit refusal."""
    bundle = deferred(tmp_path, Veto())
    repo = make_repo(tmp_path / "gitops")
    (repo / "README.md").write_text("edited by hand\n")
    with pytest.raises(CheckError):
        commit_bundles([bundle], repo, Options(), create=False)
    assert (repo / "README.md").read_text() == "edited by hand\n"


def test_a_dirty_repository_is_refused_when_the_checks_pass(tmp_path: Path) -> None:
    bundle = deferred(tmp_path)
    repo = make_repo(tmp_path / "gitops")
    (repo / "README.md").write_text("edited by hand\n")
    with pytest.raises(GitError, match=r"working tree has uncommitted changes: README\.md"):
        commit_bundles([bundle], repo, Options(), create=False)


def test_a_failing_check_creates_no_repository(tmp_path: Path) -> None:
    bundle = deferred(tmp_path, Veto())
    with pytest.raises(CheckError):
        commit_bundles([bundle], tmp_path / "new-gitops", Options(), create=True)
    assert not (tmp_path / "new-gitops").exists()


def test_deferred_and_serial_checks_commit_the_same_tree(tmp_path: Path) -> None:
    trees = []
    for defer in (False, True):
        p = pipeline()
        path = write_spec(tmp_path / str(defer) / "envs", spec_data(), "dev")
        bundle = p.build(p.load(path, tmp_path / str(defer) / "envs"), defer_checks=defer)
        assert (bundle.checks is not None) == defer
        repo = make_repo(tmp_path / f"gitops{defer}")
        [result] = commit_bundles([bundle], repo, Options(), create=False)
        assert result.commit == git(repo, "rev-parse", "HEAD").strip()
        assert [f.code for f in result.findings] == [f.code for f in bundle.findings]
        trees.append(git(repo, "rev-parse", "HEAD^{tree}"))
    assert trees[0] == trees[1]


def test_small_environments_are_checked_at_once(tmp_path: Path) -> None:
    p = pipeline(Veto())
    path = write_spec(tmp_path / "envs", spec_data(3), "dev")
    with pytest.raises(CheckError):
        p.build(p.load(path, tmp_path / "envs"), defer_checks=True)


class Crash:
    """A plugin whose check crashes."""

    @hookimpl
    def gwpipe_check(self, spec: Spec, objects: list[RenderedObject]) -> list[Finding]:
        raise RuntimeError("checker crashed")


def test_a_crashing_check_names_the_plugin_as_when_checks_ran_first(tmp_path: Path) -> None:
    from gwpipe.errors import PluginError

    bundle = deferred(tmp_path, Crash())
    assert bundle.checks is not None
    repo = make_repo(tmp_path / "gitops")
    head = git(repo, "rev-parse", "HEAD")
    with pytest.raises(PluginError) as caught:
        commit_bundles([bundle], repo, Options(), create=False)
    assert [str(p) for p in caught.value.problems] == ["plugin 'crash': gwpipe_check: RuntimeError: checker crashed"]
    assert git(repo, "rev-parse", "HEAD") == head
    assert sorted(p.name for p in repo.iterdir()) == [".git", "README.md"]
    with pytest.raises(PluginError):  # asked again: the same error, not a closed pipe
        bundle.settle()


def test_an_interrupted_commit_stops_the_checks_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import multiprocessing

    from gwpipe.git import commit as engine

    bundle = deferred(tmp_path, Veto())
    repo = make_repo(tmp_path / "gitops")
    head = git(repo, "rev-parse", "HEAD")

    def interrupt(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(engine, "swap_tree", interrupt)
    monkeypatch.setattr(engine, "settle_all", lambda bundles: None)  # the interrupt lands before the checks settle
    with pytest.raises(KeyboardInterrupt):
        commit_bundles([bundle], repo, Options(), create=False)
    assert multiprocessing.active_children() == []
    assert git(repo, "rev-parse", "HEAD") == head
    assert sorted(p.name for p in repo.iterdir()) == [".git", "README.md"]
