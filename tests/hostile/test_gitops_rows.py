"""Hostile rows 72 (an environment's controllers repointed at another folder) and 63 (render killed mid-write)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from gwpipe.testing import build
from gwpipe.tree.files import read_tree
from gwpipe.tree.moves import find_move

from .conftest import REPO, Workspace, assert_f0, git

MOVED = """\
namespace: shop
gateways:
  web: {{selector: {{istio: ingressgateway}}}}
hosts:
  a.example.com:
    gateway: web
    routes: [{{destination: {{host: webapp, port: 80}}}}]
  b.example.com:
    gateway: web
    routes: [{{destination: {{host: shopapp, port: 8080}}}}]
gitops:
  repoURL: https://git.example.com/acme/gitops.git
  {path}argocd: {{}}
  flux: {{}}
"""
WARNING = "moves 3 objects from moved to clusters/moved; this deletes and recreates them in the cluster"


def _controller_paths(ws: Workspace) -> list[str]:
    gitops = ws.repo / "moved" / "_gitops"
    app = yaml.safe_load((gitops / "argocd" / "application-moved.yaml").read_text(encoding="utf-8"))
    flux = yaml.safe_load((gitops / "flux-system" / "kustomization-moved.yaml").read_text(encoding="utf-8"))
    return [app["spec"]["source"]["path"], flux["spec"]["path"]]


def test_row72_repointing_the_controllers_needs_allow_move(workspace: Workspace) -> None:
    workspace.write("moved", MOVED.format(path=""))
    first = workspace.run("render", "moved")
    assert first.returncode == 0, first.stderr
    assert _controller_paths(workspace) == ["moved", "./moved"]
    workspace.write("moved", MOVED.format(path="path: clusters/{env}\n  "))

    where = re.escape(f"{REPO}/moved")
    assert_f0(
        workspace, ["render", "moved"], [rf"{where}: render {re.escape(WARNING)}; pass --allow-move"], exit_code=1
    )

    plan = workspace.run("plan", "moved")
    assert plan.returncode == 0, plan.stderr
    assert f"  warning: {WARNING} (render needs --allow-move)" in plan.stdout.splitlines()
    as_json = workspace.run("plan", "moved", "--output", "json")
    [entry] = json.loads(as_json.stdout)["plans"]
    assert entry["warnings"] == [f"{WARNING} (render needs --allow-move)"]

    commits = workspace.commits()
    moved = workspace.run("render", "moved", "--allow-move")
    assert moved.returncode == 0, moved.stderr
    assert workspace.commits() == commits + 1
    assert _controller_paths(workspace) == ["clusters/moved", "./clusters/moved"]
    again = workspace.run("render", "moved")  # the move is committed: the next render is no move
    assert again.returncode == 0, again.stderr
    assert again.stdout.endswith("no changes" + f" ({workspace.repo}/moved)\n")


def test_row72_growing_into_shards_or_adding_gitops_is_no_move(tmp_path: Path) -> None:
    from gitops.specs import http_env

    small = build(tmp_path / "a", http_env(200, gitops={}), name="env").files
    sharded = build(tmp_path / "b", http_env(300, gitops={}), name="env").files
    without = build(tmp_path / "c", http_env(200), name="env").files
    assert any(p.startswith("2-routes-") for p in sharded)  # the layout really changed
    assert find_move(small, sharded) is None
    assert find_move(without, small) is None
    elsewhere = build(tmp_path / "d", http_env(300, gitops={"path": "fleet/{env}"}), name="env").files
    move = find_move(small, elsewhere)
    assert move is not None
    assert (move.old, move.new, move.objects) == ("env", "fleet/env", 201)


def _git_state(repo: Path) -> tuple[str, str, list[str]]:
    head = git(repo, "rev-parse", "HEAD").strip()
    staged = git(repo, "diff", "--cached", "--name-only")
    status = git(repo, "status", "--porcelain", "--untracked-files=all").splitlines()
    return head, staged, status


def _kill_while_writing(root: Path, repo: Path, marker: str) -> str | None:
    """Start `gwpipe render big`, SIGKILL it once `marker` appears in its scratch folder; which state it died in.

    Files are written in sorted order, so a shard folder from the middle of the tree appearing means
    about half of the files are written.
    """
    new, old, folder = repo / ".gwpipe-new-big", repo / ".gwpipe-old-big", repo / "big"
    argv = [sys.executable, "-m", "gwpipe", "render", "big", "--repo", str(repo)]
    proc = subprocess.Popen(argv, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while proc.poll() is None and not (new / marker).exists():
            pass
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    if new.exists():
        return "writing"
    if old.exists() and not folder.exists():
        return "swapping"
    return None  # the render got past the swap before the signal landed: the window was missed


def test_row63_killed_midway_through_writing(tmp_path: Path) -> None:
    from gitops.specs import http_env

    for attempt, hosts in enumerate((1500, 4000, 10000)):
        root = tmp_path / f"attempt-{attempt}"
        specs, repo = root / "environments", root / "gitops"
        specs.mkdir(parents=True)
        git(root, "init", "-q", "-b", "main", str(repo))
        spec = specs / "big.yaml"
        spec.write_text(yaml.safe_dump(http_env(hosts, gitops={})), encoding="utf-8")
        first = subprocess.run(
            [sys.executable, "-m", "gwpipe", "render", "big", "--repo", str(repo)], cwd=root, capture_output=True
        )
        assert first.returncode == 0, first.stderr
        committed = read_tree(repo / "big")
        before = _git_state(repo)
        spec.write_text(yaml.safe_dump(http_env(hosts + 1, gitops={})), encoding="utf-8")
        shards = sorted(p.parent.name for p in (repo / "big").glob("*/kustomization.yaml"))
        state = _kill_while_writing(root, repo, shards[len(shards) // 2])
        if state is not None:
            break
    else:
        raise AssertionError("the render finished its swap before SIGKILL landed in every attempt")

    head, staged, status = _git_state(repo)
    assert head == before[0], "a commit was made"
    assert staged == "", "something was staged"
    assert git(repo, "ls-files", "--", ".gwpipe-new-big", ".gwpipe-old-big") == ""
    if state == "writing":
        assert read_tree(repo / "big") == committed, "the environment folder is not the old tree"
        assert all(line.startswith("?? .gwpipe-new-big/") for line in status), status
        assert len(read_tree(repo / ".gwpipe-new-big")) > 0  # killed with part of the new tree written
    else:
        assert not (repo / "big").exists()
        assert read_tree(repo / ".gwpipe-old-big") == committed, "the old tree is not recoverable"

    out = root / "expected"
    expected = subprocess.run(
        [sys.executable, "-m", "gwpipe", "render", "big", "--out", str(out)], cwd=root, capture_output=True
    )
    assert expected.returncode == 0, expected.stderr
    again = subprocess.run(
        [sys.executable, "-m", "gwpipe", "render", "big", "--repo", str(repo)], cwd=root, capture_output=True, text=True
    )
    assert again.returncode == 0, again.stderr
    assert re.fullmatch(
        r"big: \d+ objects; files: \d+ added, \d+ changed, 0 removed; committed [0-9a-f]{12} \(.*\)\n", again.stdout
    )
    head_after, staged_after, status_after = _git_state(repo)
    assert git(repo, "rev-parse", "HEAD~1").strip() == before[0]
    assert (staged_after, status_after) == ("", [])
    assert not (repo / ".gwpipe-new-big").exists()
    assert not (repo / ".gwpipe-old-big").exists()
    assert read_tree(repo / "big") == read_tree(out / "big")
    assert head_after != before[0]


def test_row72_propose_needs_allow_move_too(tmp_path: Path) -> None:
    from click.testing import CliRunner
    from delivery.harness import refs

    from gwpipe.cli.main import main
    from gwpipe.testing import init_repo_with_remote

    _work, bare = init_repo_with_remote(tmp_path / "gitops")
    specs = tmp_path / "environments"
    specs.mkdir()
    (specs / "moved.yaml").write_text(MOVED.format(path=""), encoding="utf-8")
    args = ["propose", "moved", "--specs", str(specs), "--remote", str(bare), "--push-to-base"]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.stderr
    (specs / "moved.yaml").write_text(MOVED.format(path="path: clusters/{env}\n  "), encoding="utf-8")
    before = refs(bare)
    refused = CliRunner().invoke(main, args)
    assert refused.exit_code == 1
    lines = [line for line in refused.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1
    assert re.fullmatch(rf"error: {re.escape(str(bare))}/\S+: render {re.escape(WARNING)}; pass --allow-move", lines[0])
    assert refs(bare) == before
    moved = CliRunner().invoke(main, [*args, "--allow-move"])
    assert moved.exit_code == 0, moved.stderr
    assert refs(bare) != before


_SEGMENT = st.from_regex(r"[a-z0-9][a-z0-9-]{0,8}", fullmatch=True)


@settings(max_examples=15, deadline=None)
@given(
    old=st.lists(_SEGMENT, min_size=0, max_size=3),
    new=st.lists(_SEGMENT, min_size=0, max_size=3),
    sharded=st.booleans(),
)
def test_row72_a_move_is_exactly_a_changed_gitops_path(
    tmp_path_factory: pytest.TempPathFactory, old: list[str], new: list[str], sharded: bool
) -> None:
    from gitops.specs import http_env

    folder = tmp_path_factory.mktemp("move")
    hosts = 260 if sharded else 3
    paths = ["/".join([*segments, "{env}"]) for segments in (old, new)]
    before, after = (
        build(folder / str(i), http_env(hosts, gitops={"path": p}), name="env").files for i, p in enumerate(paths)
    )
    move = find_move(before, after)
    if paths[0] == paths[1]:
        assert move is None
    else:
        assert move is not None
        assert (move.old, move.new) == (paths[0].replace("{env}", "env"), paths[1].replace("{env}", "env"))
        assert move.objects == hosts + 1  # every VirtualService and the Gateway
