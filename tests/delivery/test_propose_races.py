"""Leases under contention: remote moved, two proposals at once, and smart HTTP with a token (a moving base: hostile row 59)."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import pytest
from delivery.git_http import GitHttpServer
from delivery.harness import TOKEN, World, advance, log, refs, rev, run, spec, world, write_env

from gwpipe.errors import GitError
from gwpipe.git.delivery import proposal, push
from gwpipe.git.delivery.proposal import Target, propose_bundle
from gwpipe.testing import build

__all__ = ["world"]


def _target(world: World) -> Target:
    return Target(str(world.bare), str(world.bare), "main")


def test_remote_moved_between_read_and_push_is_refused_with_both_shas(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_env(world.specs, "prod", spec(["shop.example.com"]))
    real = push.push_with_lease
    intruder: dict[str, str] = {}

    def someone_pushes_first(clone: push.Clone, updates: list[push.RefUpdate], branch: str, *a: Any) -> None:
        intruder["sha"] = advance(world.work, branch, "intruder.txt")
        real(clone, updates, branch, *a)

    monkeypatch.setattr(push, "push_with_lease", someone_pushes_first)
    before_main = rev(world.bare, "refs/heads/main")
    result = world.propose("prod")
    assert result.exit_code == 1
    [line] = result.errors
    match = re.fullmatch(
        rf"error: {re.escape(str(world.bare))}/(gwpipe/prod-[0-9a-f]{{12}}): remote moved: expected none, "
        r"found ([0-9a-f]{40}) \(refs/heads/gwpipe/prod-[0-9a-f]{12}\)",
        line,
    )
    assert match, line
    assert match.group(2) == intruder["sha"]
    assert rev(world.bare, f"refs/heads/{match.group(1)}") == intruder["sha"]  # their commit is kept
    assert "refs/gwpipe/prod" not in refs(world.bare)  # atomic: our lease ref did not move either
    assert rev(world.bare, "refs/heads/main") == before_main
    assert world.forge.writes() == []
    assert "Traceback" not in result.stderr


def test_two_concurrent_proposals_for_one_environment_exactly_one_wins(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundles = [
        build(world.tmp / "a", spec(["shop.example.com"]), name="prod"),
        build(world.tmp / "b", spec(["shop.example.com", "api.example.com"]), name="prod"),
    ]
    barrier = threading.Barrier(2, timeout=60)
    real = push.push_with_lease

    def together(*args: Any) -> None:
        barrier.wait()  # both have read the remote; now both push
        real(*args)

    monkeypatch.setattr(push, "push_with_lease", together)
    outcomes: dict[int, Any] = {}

    def one(index: int) -> None:
        try:
            outcomes[index] = propose_bundle(bundles[index], _target(world))
        except GitError as exc:
            outcomes[index] = exc

    threads = [threading.Thread(target=one, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [o for o in outcomes.values() if not isinstance(o, GitError)]
    losers = [o for o in outcomes.values() if isinstance(o, GitError)]
    assert len(winners) == 1
    assert len(losers) == 1
    assert re.fullmatch(
        r".*: remote moved: expected none, found [0-9a-f]{40} \((refs/gwpipe/prod|refs/heads/gwpipe/prod-\w+)\)",
        str(losers[0].problems[0]),
    )
    after = refs(world.bare)
    gwpipe_refs = sorted(r for r in after if "gwpipe" in r)
    assert gwpipe_refs == sorted([f"refs/heads/{winners[0].branch}", "refs/gwpipe/prod"])
    assert after["refs/gwpipe/prod"] == winners[0].commit
    assert log(world.bare, "refs/gwpipe/prod")[1:] == log(world.bare, "refs/heads/main")  # nothing interleaved


def test_branch_holding_someone_elses_commit_is_not_replaced(world: World) -> None:
    write_env(world.specs, "prod", spec(["shop.example.com"]))
    assert world.propose("prod").exit_code == 0
    branch = world.forge.pulls[0]["head"]
    advance(world.work, "main")
    foreign = advance(world.work, branch, "hand-edit.txt")
    before = refs(world.bare)
    result = world.propose("prod")
    assert result.exit_code == 1
    assert result.errors == [
        f"error: {world.bare}/{branch}: branch holds commit {foreign} by 'test@localhost', not by gwpipe; "
        "refusing to replace it"
    ]
    assert refs(world.bare) == before


@pytest.fixture
def smart_http(tmp_path: Path) -> Any:
    with GitHttpServer(tmp_path, "x-access-token", TOKEN) as server:
        yield server


def test_propose_over_smart_http_authenticates_through_askpass_only(world: World, smart_http: GitHttpServer) -> None:
    write_env(world.specs, "prod", spec(["shop.example.com"]))
    url = smart_http.url("remote.git")
    result = run(
        "propose",
        "prod",
        "--specs",
        str(world.specs),
        "--remote",
        url,
        "--forge",
        "github",
        "--api-url",
        world.forge.api_url,
        "--repo-slug",
        world.forge.slug,
    )
    assert result.exit_code == 0, result.stderr
    assert any(r["path"].endswith("git-receive-pack") and r["method"] == "POST" for r in smart_http.requests)
    assert any(r["authorization"] for r in smart_http.requests)
    assert "refs/gwpipe/prod" in refs(world.bare)
    assert len(world.forge.pulls) == 1
    assert TOKEN not in result.stdout + result.stderr


def test_smart_http_with_a_wrong_token_fails_cleanly(
    world: World, smart_http: GitHttpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_env(world.specs, "prod", spec(["shop.example.com"]))
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_wrongWRONGwrong")
    before = refs(world.bare)
    result = run(
        "propose",
        "prod",
        "--specs",
        str(world.specs),
        "--remote",
        smart_http.url("remote.git"),
        "--forge",
        "github",
        "--api-url",
        world.forge.api_url,
        "--repo-slug",
        world.forge.slug,
    )
    assert result.exit_code == 1
    assert result.errors == [
        f"error: {smart_http.url('remote.git')}/main: authentication failed "
        "(token from GITHUB_TOKEN/GITLAB_TOKEN/GITEA_TOKEN, never from the URL)"
    ]
    assert "ghp_wrongWRONGwrong" not in result.stdout + result.stderr
    assert refs(world.bare) == before


def test_module_seams_exist() -> None:
    assert proposal.pushing is push


def test_push_to_base_uses_a_lease_on_the_base(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    write_env(world.specs, "prod", spec(["shop.example.com"]))
    real = push.push_with_lease
    moved: list[str] = []

    def base_moves_first(*args: Any) -> None:
        moved.append(advance(world.work, "main"))
        real(*args)

    monkeypatch.setattr(push, "push_with_lease", base_moves_first)
    result = world.propose("prod", extra=("--push-to-base",))
    assert result.exit_code == 1
    assert re.fullmatch(
        rf"error: {re.escape(str(world.bare))}/main: remote moved: expected [0-9a-f]{{40}}, found {moved[0]} "
        r"\(refs/heads/main\)",
        result.errors[0],
    )
    assert rev(world.bare, "refs/heads/main") == moved[0]


def test_identical_concurrent_proposals_leave_exactly_one_commit(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    bundle = build(world.tmp / "a", spec(["shop.example.com"]), name="prod")
    barrier = threading.Barrier(2, timeout=60)
    real = push.push_with_lease

    def together(*args: Any) -> None:
        barrier.wait()
        real(*args)

    monkeypatch.setattr(push, "push_with_lease", together)
    outcomes: list[Any] = []

    def one() -> None:
        try:
            outcomes.append(propose_bundle(bundle, _target(world)))
        except GitError as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    commits = {o.commit for o in outcomes if not isinstance(o, GitError)}
    failures = [o for o in outcomes if isinstance(o, GitError)]
    # either one wins and the other is refused by the lease, or both built the byte-identical commit
    assert len(commits) == 1
    assert all("remote moved" in str(f) for f in failures), [str(f) for f in failures]
    [branch] = [r for r in refs(world.bare) if r.startswith("refs/heads/gwpipe/")]
    assert rev(world.bare, branch) == rev(world.bare, "refs/gwpipe/prod") == commits.pop()
    assert log(world.bare, branch)[1:] == log(world.bare, "refs/heads/main")
