"""gitrepo + commit_bundle: only gwpipe's files committed, hooks never run, unsafe states refused untouched."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from gwpipe.engine import Options
from gwpipe.errors import GitError
from gwpipe.git.commit import commit_bundle
from gwpipe.git.message import commit_message
from gwpipe.git.repo import GitopsRepo
from gwpipe.testing import build, git

SPEC = {
    "namespace": "shop",
    "gateways": {"web": {"selector": {"istio": "ingressgateway"}}},
    "hosts": {"a.example.com": {"gateway": "web", "routes": [{"destination": {"host": "app", "port": 80}}]}},
}


def tree_hash(root: Path) -> str:
    digest = hashlib.sha256()
    for dirpath, dirnames, filenames in sorted(os.walk(root)):
        dirnames[:] = sorted(d for d in dirnames if d != ".git")
        for name in sorted(filenames):
            full = Path(dirpath) / name
            digest.update(str(full.relative_to(root)).encode() + b"\0" + full.read_bytes())
    return digest.hexdigest()


@pytest.fixture
def bundle(tmp_path: Path):  # type: ignore[no-untyped-def]
    return build(tmp_path / "envs", SPEC, name="dev")


def head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").strip()


def test_commit_only_gwpipe_files_with_deterministic_message(git_remote: tuple[Path, Path], bundle) -> None:  # type: ignore[no-untyped-def]
    work, _ = git_remote
    result = commit_bundle(bundle, work, Options(), create=False)
    assert result.commit == head(work)
    assert git(work, "show", "--name-only", "--format=", "HEAD").split() == [
        "dev/kustomization.yaml",
        "dev/shop/gateway-web.yaml",
        "dev/shop/virtualservice-a-example-com.yaml",
    ]
    assert git(work, "log", "-1", "--format=%B") == (
        "gwpipe: render dev (3 added, 0 changed, 0 removed)\n\n"
        "added: Gateway shop/web\nadded: VirtualService shop/a-example-com\n\n"
    )
    assert git(work, "status", "--porcelain") == ""


def test_unchanged_render_makes_no_commit(git_remote: tuple[Path, Path], bundle) -> None:  # type: ignore[no-untyped-def]
    work, _ = git_remote
    commit_bundle(bundle, work, Options(), create=False)
    before = head(work)
    result = commit_bundle(bundle, work, Options(), create=False)
    assert result.commit is None
    assert result.change.empty
    assert head(work) == before


def test_hooks_never_run(git_remote: tuple[Path, Path], bundle, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    work, _ = git_remote
    marker = tmp_path / "hook-ran"
    hooks = work / ".git" / "hooks"
    for name in ("pre-commit", "commit-msg", "post-commit", "prepare-commit-msg", "reference-transaction"):
        (hooks / name).write_text(f"#!/bin/sh\necho {name} >> {marker}\n")
        (hooks / name).chmod(0o755)
    custom = tmp_path / "custom-hooks"
    custom.mkdir()
    (custom / "pre-commit").write_text(f"#!/bin/sh\necho custom >> {marker}\n")
    (custom / "pre-commit").chmod(0o755)
    git(work, "config", "core.hooksPath", str(custom))
    result = commit_bundle(bundle, work, Options(), create=False)
    assert result.commit
    assert not marker.exists()


def test_dirty_tree_refused_and_left_untouched(git_remote: tuple[Path, Path], bundle) -> None:  # type: ignore[no-untyped-def]
    work, _ = git_remote
    (work / "README.md").write_text("user edit\n")
    (work / "notes.txt").write_text("untracked\n")
    before, sha = tree_hash(work), head(work)
    with pytest.raises(GitError) as info:
        commit_bundle(bundle, work, Options(), create=False)
    assert [str(p) for p in info.value.problems] == [
        f"{work}: working tree has uncommitted changes: README.md, notes.txt; commit or remove them first"
    ]
    assert tree_hash(work) == before
    assert head(work) == sha
    assert (work / "README.md").read_text() == "user edit\n"


def test_index_lock_refused(git_remote: tuple[Path, Path], bundle) -> None:  # type: ignore[no-untyped-def]
    work, _ = git_remote
    (work / ".git" / "index.lock").write_text("")
    before, sha = tree_hash(work), head(work)
    with pytest.raises(GitError) as info:
        commit_bundle(bundle, work, Options(), create=False)
    assert [str(p) for p in info.value.problems] == [
        f"{work}/.git/index.lock: another git process seems to be running (index.lock exists); remove it if none is"
    ]
    assert tree_hash(work) == before
    assert head(work) == sha
    assert (work / ".git" / "index.lock").exists()


def test_detached_head_and_merge_refused(git_remote: tuple[Path, Path], bundle) -> None:  # type: ignore[no-untyped-def]
    work, _ = git_remote
    git(work, "checkout", "-q", "--detach")
    with pytest.raises(GitError, match="HEAD is detached; check out a branch first"):
        commit_bundle(bundle, work, Options(), create=False)
    git(work, "checkout", "-q", "main")
    (work / ".git" / "MERGE_HEAD").write_text(head(work) + "\n")
    with pytest.raises(
        GitError, match=r"a merge, rebase, cherry-pick, revert or bisect is in progress \(MERGE_HEAD\); finish it first"
    ):
        commit_bundle(bundle, work, Options(), create=False)


def test_not_a_repository(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "file").write_text("x")
    with pytest.raises(GitError) as info:
        GitopsRepo.open(tmp_path / "plain", create=False)
    assert str(info.value) == f"{tmp_path}/plain: not a git repository (pass an existing GitOps checkout)"
    with pytest.raises(GitError) as info:
        GitopsRepo.open(tmp_path / "plain", create=True)
    assert str(info.value) == f"{tmp_path}/plain: exists, is not empty and is not a git repository"
    repo = GitopsRepo.open(tmp_path / "fresh", create=True)
    assert repo.branch() == "main"


def test_leftover_swap_dirs_recovered_when_the_journal_names_them(git_remote: tuple[Path, Path], bundle) -> None:  # type: ignore[no-untyped-def]
    work, _ = git_remote
    (work / ".gwpipe-new-dev" / "shop").mkdir(parents=True)
    (work / ".gwpipe-new-dev" / "shop" / "half.yaml").write_text("half")
    (work / ".git" / "gwpipe-run.json").write_text('{"pid": 0, "environments": ["dev"], "parent": null}')
    result = commit_bundle(bundle, work, Options(), create=False)
    assert result.commit
    assert not (work / ".gwpipe-new-dev").exists()
    assert not (work / ".git" / "gwpipe-run.json").exists()
    assert git(work, "status", "--porcelain") == ""


def test_leftover_lookalikes_without_a_journal_are_the_users(git_remote: tuple[Path, Path], bundle) -> None:  # type: ignore[no-untyped-def]
    work, _ = git_remote
    (work / ".gwpipe-old-dev").mkdir()
    (work / ".gwpipe-old-dev" / "notes.txt").write_text("mine")
    with pytest.raises(GitError, match=r"working tree has uncommitted changes: \.gwpipe-old-dev/notes\.txt;"):
        commit_bundle(bundle, work, Options(), create=False)
    assert (work / ".gwpipe-old-dev" / "notes.txt").read_text() == "mine"


def test_commit_message_caps_the_list(bundle) -> None:  # type: ignore[no-untyped-def]
    from gwpipe.tree.guards import TreeChange

    change = TreeChange(added=[f"ns/x-{i}.yaml" for i in range(60)])
    message = commit_message("dev", change, bundle, {}, limit=50)
    lines = message.splitlines()
    assert lines[0] == "gwpipe: render dev (60 added, 0 changed, 0 removed)"
    assert lines[-1] == "... and 10 more"
    assert message == commit_message("dev", change, bundle, {}, limit=50)
