"""A run that renders several environments makes one commit, or none: a failure leaves no commit behind."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gwpipe.engine import Bundle, Options, Pipeline
from gwpipe.errors import GitError
from gwpipe.git.commit import commit_bundles
from gwpipe.hooks.manager import create_manager
from gwpipe.testing import git, write_spec

SPEC = {
    "namespace": "shop",
    "gateways": {"web": {"selector": {"istio": "ingressgateway"}}},
    "hosts": {"a.example.com": {"gateway": "web", "routes": [{"destination": {"host": "a", "port": 80}}]}},
}


def _bundles(folder: Path, *names: str) -> list[Bundle]:
    pipeline = Pipeline(Options(), pm=create_manager(entry_points=False))
    return [pipeline.build(pipeline.load(write_spec(folder, SPEC, name), folder)) for name in names]


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "gitops"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    (repo / "README").write_text("gitops\n")
    git(repo, "add", "README")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "init")
    return repo


def test_two_environments_land_in_one_commit(spec_dir: Path, tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    results = commit_bundles(_bundles(spec_dir, "dev", "prod"), repo, Options(), create=False)
    assert results[0].commit == results[1].commit is not None
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "2"
    subject = git(repo, "log", "-1", "--format=%s").strip()
    assert subject == "gwpipe: render dev, prod (6 added, 0 changed, 0 removed)"
    body = git(repo, "log", "-1", "--format=%b").splitlines()
    assert "dev: added: Gateway shop/web" in body
    assert "prod: added: VirtualService shop/a-example-com" in body


def test_a_failure_on_the_second_environment_commits_nothing(spec_dir: Path, tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    # git refuses to add an ignored folder: the commit of the run fails after dev was written
    (repo / ".gitignore").write_text("prod/\n")
    git(repo, "add", ".gitignore")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "ignore prod")
    head = git(repo, "rev-parse", "HEAD")
    with pytest.raises(GitError) as info:
        commit_bundles(_bundles(spec_dir, "dev", "prod"), repo, Options(), create=False)
    assert [str(p) for p in info.value.problems] == [
        f"git: {repo}: The following paths are ignored by one of your .gitignore files: prod"
    ]
    assert git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
    assert not (repo / "dev").exists()
    assert not (repo / "prod").exists()


def test_a_second_run_waits_then_gives_up_and_touches_nothing(
    spec_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # while one run holds the repository, another must not recover (delete) its half-written tree
    repo = _repo(tmp_path)
    bundles = _bundles(spec_dir, "dev")
    from gwpipe.git.repo import GitopsRepo

    holder = GitopsRepo.open(repo, create=False)
    (repo / ".gwpipe-new-dev").mkdir()
    with holder.locked(), pytest.raises(GitError) as info:
        commit_bundles(bundles, repo, Options(), create=False, lock_timeout=0.3)
    assert [str(p) for p in info.value.problems] == [
        f"{repo}: another gwpipe run is writing to this repository; gave up after 0.3 s"
    ]
    assert capsys.readouterr().err == (
        f"gwpipe: {repo}: waiting for another gwpipe run on this repository (up to 0.3 s)\n"
    )
    assert (repo / ".gwpipe-new-dev").is_dir()
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "1"
