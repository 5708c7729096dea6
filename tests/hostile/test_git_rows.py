"""Hostile rows 52-70 (git, push and pull request) against a real bare remote and a GitHub stand-in.

Each test asserts the whole failure contract: exit status, one `error:` line naming the remote and branch (or the
offending input), no traceback, no ref changed on the bare remote, no PR write in the stand-in's log, no token.
"""

from __future__ import annotations

import re
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import git
import pytest
from delivery.harness import TOKEN, Run, World, advance, log, refs, rev, run, spec, world, write_env
from stand_ins.forges import Fault

from gwpipe.errors import GitError
from gwpipe.git.delivery import push
from gwpipe.git.delivery.proposal import Target, propose_bundle
from gwpipe.testing import build
from gwpipe.testing import git as run_git

__all__ = ["world"]


@pytest.fixture
def no_git() -> Callable[..., Run]:
    """Run a call while any attempt to start a process (GitPython or subprocess) is recorded and fails."""

    def call(fn: Callable[..., Run], *args: Any, **kwargs: Any) -> Run:
        started: list[Any] = []

        def boom(*a: Any, **k: Any) -> Any:
            started.append(a)
            raise AssertionError(f"a process was started: {a!r}")

        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(git.cmd.Git, "execute", boom)
            mp.setattr(git.cmd, "Popen", boom)
            mp.setattr(subprocess, "Popen", boom)
            result = fn(*args, **kwargs)
        assert started == []
        return result

    return call


def _checkout_with_origin(world: World, url: str) -> Path:
    checkout = world.tmp / "checkout"
    run_git(world.tmp, "clone", "-q", str(world.bare), str(checkout))
    run_git(checkout, "remote", "set-url", "origin", url)
    return checkout


# row 52: a token embedded in the remote URL (argv or config) is refused, and shown redacted


@pytest.mark.parametrize("debug", [(), ("--debug",)])
def test_row52_token_in_remote_url_argument(world: World, no_git: Callable[..., Run], debug: tuple[str, ...]) -> None:
    write_env(world.specs, "prod", spec(["shop.example.com"]))
    before = refs(world.bare)
    url = f"https://{TOKEN}@github.com/acme/gitops.git"
    result = no_git(world.propose, "prod", extra=("--remote", url, *debug))
    world.assert_failed_cleanly(
        result,
        before,
        r"error: https://\*\*\*@github\.com/acme/gitops\.git: remote URL embeds credentials; put the token in "
        r"GITHUB_TOKEN, GITLAB_TOKEN or GITEA_TOKEN",
        exit_code=2,
        debug=bool(debug),
    )


def test_row52_token_in_configured_remote(world: World) -> None:
    write_env(world.specs, "prod", spec(["shop.example.com"]))
    checkout = _checkout_with_origin(world, f"https://x-access-token:{TOKEN}@github.com/acme/gitops.git")
    before = refs(world.bare)
    result = run("propose", "prod", "--specs", str(world.specs), "--checkout", str(checkout))
    world.assert_failed_cleanly(
        result, before, r"error: https://\*\*\*@github\.com/acme/gitops\.git: remote URL embeds credentials; .*", 2
    )


# row 54: remote URLs that would run commands never reach git


@pytest.mark.parametrize(
    ("url", "what"),
    [
        ("ext::sh -c touch% /tmp/pwned", "remote URL contains whitespace or control characters"),
        ("ext::sh%20-c%20id", "git transport helpers .*"),
        ("fd::17", "git transport helpers .*"),
        ("--upload-pack=/tmp/evil", "remote URL starts with '-' .*"),
        ("-u/tmp/evil", "remote URL starts with '-' .*"),
        ("git@github.com:-oProxyCommand=x", "remote host or path starts with '-'"),
    ],
)
def test_row54_command_running_remotes_are_refused_before_git(
    world: World, no_git: Callable[..., Run], url: str, what: str
) -> None:
    write_env(world.specs, "prod", spec(["shop.example.com"]))
    before = refs(world.bare)
    result = no_git(world.propose, "prod", extra=("--remote", url))
    world.assert_failed_cleanly(result, before, rf"error: {re.escape(url)}: {what}", exit_code=2)


def test_row54_command_running_remote_from_checkout_config(world: World) -> None:
    write_env(world.specs, "prod", spec(["shop.example.com"]))
    checkout = _checkout_with_origin(world, "ext::sh -c touch% /tmp/pwned")
    before = refs(world.bare)
    result = run("propose", "prod", "--specs", str(world.specs), "--checkout", str(checkout), "--remote", "origin")
    world.assert_failed_cleanly(result, before, r"error: ext::sh -c touch% /tmp/pwned: .*", exit_code=2)


# row 55: branch names derived from input are checked like git check-ref-format --branch, before git


@pytest.mark.parametrize("base", ["-uexploit", "main..x", "main.lock", "a@{1}", "gwpipe/../../x", "ma in"])
def test_row55_bad_base_branch(world: World, no_git: Callable[..., Run], base: str) -> None:
    write_env(world.specs, "prod", spec(["shop.example.com"]))
    before = refs(world.bare)
    result = no_git(world.propose, "prod", extra=("--base", base))
    world.assert_failed_cleanly(
        result, before, rf"error: --base {re.escape(repr(base))}: (a )?branch name .*", exit_code=2
    )


@pytest.mark.parametrize("env", ["x.lock", "a..b", "Prod"])
def test_row55_environment_names_that_cannot_name_a_branch(world: World, no_git: Callable[..., Run], env: str) -> None:
    write_env(world.specs, env, spec(["shop.example.com"]))
    before = refs(world.bare)
    result = no_git(world.propose, env)
    world.assert_failed_cleanly(
        result, before, rf"error: environment {re.escape(repr(env))}: must be a DNS-1123 label to name a branch", 2
    )


# row 56: text from the GitOps repo or the spec reaches commit messages and PR titles without control characters


def test_row56_control_characters_never_reach_commit_or_pr(world: World) -> None:
    hostile = (
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: "x\\nSigned-off-by: evil\\u001b[31m"\n  namespace: shop\n'
    )
    (world.work / "prod" / "shop").mkdir(parents=True)
    (world.work / "prod" / "shop" / "configmap-x.yaml").write_text(hostile)
    run_git(world.work, "add", "prod")
    run_git(world.work, "commit", "-q", "-m", "hand-written")
    run_git(world.work, "push", "-q", "origin", "main")
    write_env(world.specs, "prod", spec(["shop.example.com"]))
    result = world.propose("prod", extra=("--allow-delete",))
    assert result.exit_code == 0, result.stderr
    message = log(world.bare, "refs/gwpipe/prod", "%B")[:8]
    assert "removed: ConfigMap shop/x\\nSigned-off-by: evil\\x1b[31m" in message
    assert not any(line.startswith("Signed-off-by") for line in message)
    [pr] = world.forge.pulls
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f]", pr["title"] + pr["body"])


# row 57: the remote moved between our read and our push


def test_row57_remote_moved_is_refused_and_their_commit_kept(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    write_env(world.specs, "prod", spec(["shop.example.com"]))
    real = push.push_with_lease
    seen: dict[str, Any] = {}

    def someone_pushes_first(clone: push.Clone, updates: list[push.RefUpdate], branch: str, *a: Any) -> None:
        seen["sha"] = advance(world.work, branch, "intruder.txt")
        seen["refs"] = refs(world.bare)
        real(clone, updates, branch, *a)

    monkeypatch.setattr(push, "push_with_lease", someone_pushes_first)
    result = world.propose("prod")
    assert "sha" in seen
    world.assert_failed_cleanly(
        result,
        seen["refs"],
        rf"error: {re.escape(str(world.bare))}/gwpipe/prod-[0-9a-f]{{12}}: remote moved: expected none, "
        rf"found {seen['sha']} \(refs/heads/gwpipe/prod-[0-9a-f]{{12}}\)",
    )


# row 58: two proposals for one environment at the same time


def test_row58_concurrent_proposals_one_wins_nothing_lost(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    bundles = [
        build(world.tmp / f"s{i}", spec(["shop.example.com"] * 1 + [f"h{i}.example.com"]), name="prod")
        for i in range(3)
    ]
    barrier = threading.Barrier(len(bundles), timeout=60)
    real = push.push_with_lease

    def together(*args: Any) -> None:
        barrier.wait()
        real(*args)

    monkeypatch.setattr(push, "push_with_lease", together)
    outcomes: list[Any] = [None] * len(bundles)

    def one(i: int) -> None:
        try:
            outcomes[i] = propose_bundle(bundles[i], Target(str(world.bare), str(world.bare), "main"))
        except GitError as exc:
            outcomes[i] = exc

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(bundles))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [o for o in outcomes if not isinstance(o, GitError)]
    losers = [o for o in outcomes if isinstance(o, GitError)]
    assert (len(winners), len(losers)) == (1, len(bundles) - 1)
    for loser in losers:
        assert len(loser.problems) == 1
        assert re.fullmatch(
            r".*/gwpipe/prod-[0-9a-f]{12}: remote moved: expected none, found [0-9a-f]{40} \(.*\)",
            str(loser.problems[0]),
        )
    gw = sorted(r for r in refs(world.bare) if "gwpipe" in r)
    assert gw == sorted([f"refs/heads/{winners[0].branch}", "refs/gwpipe/prod"])
    assert log(world.bare, "refs/gwpipe/prod")[1:] == log(world.bare, "refs/heads/main")


# row 59: the base branch moved between render and PR creation


def test_row59_base_moved_re_renders_and_records_the_new_base(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    write_env(world.specs, "prod", spec(["shop.example.com"]))
    real = push.push_with_lease
    moved: list[str] = []

    def push_then_base_moves(*args: Any) -> None:
        real(*args)
        if not moved:
            moved.append(advance(world.work, "main"))

    monkeypatch.setattr(push, "push_with_lease", push_then_base_moves)
    result = world.propose("prod")
    assert result.exit_code == 0, result.stderr
    [pr] = world.forge.pulls
    assert f"at `{moved[0]}`" in pr["body"]
    assert f"base={moved[0]}" in pr["body"]
    assert rev(world.bare, f"refs/heads/{pr['head']}^") == moved[0]


def test_row59_base_diverging_every_time_is_an_error(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    write_env(world.specs, "prod", spec(["shop.example.com"]))
    real_clone = push.Clone
    snapshots: list[dict[str, str]] = []

    class MovingBase(real_clone):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            advance(world.work, "main")
            snapshots.append(refs(world.bare))

    monkeypatch.setattr(push, "Clone", MovingBase)
    result = world.propose("prod")
    world.assert_failed_cleanly(
        result, snapshots[-1], rf"error: {re.escape(str(world.bare))}/main: base diverged 3 times while proposing .*"
    )
    assert result.errors == [
        f"error: {world.bare}/main: base diverged 3 times while proposing (refs/heads/main); re-run"
    ]
    assert [r for r in refs(world.bare) if "gwpipe" in r] == []
    assert world.forge.log == []


def test_row59_base_moving_after_every_push_leaves_no_stale_branch(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_env(world.specs, "prod", spec(["shop.example.com"]))
    real = push.push_with_lease
    pushes: list[list[str]] = []

    def push_then_base_moves(clone: push.Clone, updates: list[push.RefUpdate], branch: str, *a: Any) -> None:
        real(clone, updates, branch, *a)
        pushes.append([u.ref for u in updates])
        if any(u.new is not None for u in updates):
            advance(world.work, "main")

    monkeypatch.setattr(push, "push_with_lease", push_then_base_moves)
    result = world.propose("prod")
    assert result.exit_code == 1
    assert result.errors == [
        f"error: {world.bare}/main: base diverged 3 times while proposing (refs/heads/main); re-run"
    ]
    assert len(pushes) == 4  # three proposals, then the withdrawal
    assert [r for r in refs(world.bare) if "gwpipe" in r] == []
    assert world.forge.log == []


# row 60: a dirty local checkout is never touched (gwpipe works in its own clone)


def test_row60_dirty_checkout_is_left_alone(world: World) -> None:
    write_env(world.specs, "prod", spec(["shop.example.com"]))
    (world.work / "README.md").write_text("user edit\n")
    (world.work / "untracked.txt").write_text("mine\n")
    status = run_git(world.work, "status", "--porcelain")
    result = run(
        "propose",
        "prod",
        "--specs",
        str(world.specs),
        "--checkout",
        str(world.work),
        "--forge",
        "github",
        "--api-url",
        world.forge.api_url,
        "--repo-slug",
        world.forge.slug,
    )
    assert result.exit_code == 0, result.stderr
    assert run_git(world.work, "status", "--porcelain") == status
    assert (world.work / "README.md").read_text() == "user edit\n"


# row 61: detached HEAD, missing origin, shallow checkout, missing base branch


def test_row61_missing_origin(world: World) -> None:
    write_env(world.specs, "prod", spec(["shop.example.com"]))
    run_git(world.work, "remote", "rename", "origin", "upstream")
    before = refs(world.bare)
    result = run("propose", "prod", "--specs", str(world.specs), "--checkout", str(world.work), "--remote", "origin")
    world.assert_failed_cleanly(result, before, rf"error: {re.escape(str(world.work))}: no remote named 'origin'")
    assert "hint: known remotes: upstream" in result.stderr


def test_row61_detached_head(world: World) -> None:
    write_env(world.specs, "prod", spec(["shop.example.com"]))
    run_git(world.work, "checkout", "-q", "--detach")
    before = refs(world.bare)
    result = run("propose", "prod", "--specs", str(world.specs), "--checkout", str(world.work))
    world.assert_failed_cleanly(
        result,
        before,
        rf"error: {re.escape(str(world.work))}: HEAD is detached, so no branch names a remote; pass --remote",
    )


def test_row61_shallow_checkout(world: World) -> None:
    write_env(world.specs, "prod", spec(["shop.example.com"]))
    advance(world.work, "main")
    shallow = world.tmp / "shallow"
    run_git(world.tmp, "clone", "-q", "--depth=1", f"file://{world.bare}", str(shallow))
    before = refs(world.bare)
    result = run("propose", "prod", "--specs", str(world.specs), "--checkout", str(shallow))
    world.assert_failed_cleanly(result, before, rf"error: {re.escape(str(shallow))}: is a shallow clone; .*")


def test_row61_base_branch_missing_on_remote(world: World) -> None:
    write_env(world.specs, "prod", spec(["shop.example.com"]))
    before = refs(world.bare)
    result = world.propose("prod", extra=("--base", "master"))
    world.assert_failed_cleanly(
        result, before, rf"error: {re.escape(str(world.bare))}/master: base branch not found on the remote"
    )


# row 62: a stale index.lock in the checkout


def test_row62_index_lock(world: World) -> None:
    write_env(world.specs, "prod", spec(["shop.example.com"]))
    lock = world.work / ".git" / "index.lock"
    lock.write_text("")
    before = refs(world.bare)
    result = run("propose", "prod", "--specs", str(world.specs), "--checkout", str(world.work))
    world.assert_failed_cleanly(
        result,
        before,
        rf"error: {re.escape(str(lock))}: another git process seems to be running \(index.lock exists\); remove it if none is",
    )
    assert lock.exists()  # never removed by gwpipe


# row 64: hooks and fsmonitor from any configuration never run


def test_row64_hooks_and_fsmonitor_never_run_in_gwpipe_processes(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = world.tmp / "hook-ran"
    hooks = world.tmp / "evil-hooks"
    hooks.mkdir()
    for name in ("pre-commit", "commit-msg", "post-commit", "post-checkout", "pre-push", "reference-transaction"):
        script = hooks / name
        script.write_text(f'#!/bin/sh\necho "{name} $(pwd)" >> {marker}\n')
        script.chmod(0o755)
    monitor = world.tmp / "fsmonitor.sh"
    monitor.write_text(f'#!/bin/sh\necho "fsmonitor $(pwd)" >> {marker}\n')
    monitor.chmod(0o755)
    config = world.tmp / "global.gitconfig"
    config.write_text(f"[core]\n\thooksPath = {hooks}\n\tfsmonitor = {monitor}\n")
    # the user's checkout carries hooks too; gwpipe only reads its config
    run_git(world.work, "config", "core.hooksPath", str(hooks))
    run_git(world.work, "config", "core.fsmonitor", str(monitor))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    write_env(world.specs, "prod", spec(["shop.example.com"]))
    result = run(
        "propose",
        "prod",
        "--specs",
        str(world.specs),
        "--checkout",
        str(world.work),
        "--forge",
        "github",
        "--api-url",
        world.forge.api_url,
        "--repo-slug",
        world.forge.slug,
    )
    assert result.exit_code == 0, result.stderr
    ran = marker.read_text().splitlines() if marker.exists() else []
    # only the receiving side of the local test remote (the "server") runs its configured hooks: that proves
    # the evil configuration is live, and that none of gwpipe's own git processes honoured it
    assert ran, "the hook configuration was not picked up at all; the test proves nothing"
    assert all(line.endswith(str(world.bare)) for line in ran), ran


# row 66: the PR already exists (422) -> update it, print its URL, exit 0


def test_row66_existing_pr_is_updated(world: World) -> None:
    write_env(world.specs, "prod", spec(["shop.example.com"]))
    assert world.propose("prod").exit_code == 0
    world.forge.pulls[0]["title"] = "renamed by a human"
    world.forge.hide_from_list = 1
    result = world.propose("prod")
    assert result.exit_code == 0, result.stderr
    assert "pull request #1 updated: https://github.example/acme/gitops/pull/1" in result.stdout
    assert len(world.forge.pulls) == 1
    assert world.forge.pulls[0]["title"].startswith("gwpipe: prod")


# row 67: network failure after push; a re-run creates the PR once, no new commit


def test_row67_failure_after_push_then_rerun(world: World) -> None:
    write_env(world.specs, "prod", spec(["shop.example.com"]))
    world.forge.faults.append(Fault("POST", 503, count=4))
    failed = world.propose("prod")
    assert failed.exit_code == 1
    assert len(failed.errors) == 1
    assert "Traceback" not in failed.stderr
    assert TOKEN not in failed.stdout + failed.stderr
    assert world.forge.pulls == []
    pushed = refs(world.bare)
    again = world.propose("prod")
    assert again.exit_code == 0, again.stderr
    assert refs(world.bare) == pushed
    assert len(world.forge.created()) == 1


# row 68: render identical to the repo -> no commit, no PR, exit 0 "no changes"


def test_row68_identical_render(world: World) -> None:
    write_env(world.specs, "prod", spec(["shop.example.com"]))
    assert world.propose("prod", extra=("--push-to-base",)).exit_code == 0
    before = refs(world.bare)
    result = world.propose("prod")
    assert (result.exit_code, result.stdout) == (0, "prod: no changes\n")
    assert refs(world.bare) == before
    assert world.forge.log == []


# row 69: never push to the protected base unless --push-to-base


def test_row69_proposals_never_move_the_base(world: World) -> None:
    write_env(world.specs, "prod", spec(["shop.example.com"]))
    main = rev(world.bare, "refs/heads/main")
    assert world.propose("prod").exit_code == 0
    write_env(world.specs, "prod", spec(["shop.example.com", "api.example.com"]))
    assert world.propose("prod").exit_code == 0
    assert rev(world.bare, "refs/heads/main") == main


def test_row69_push_guard_refuses_the_base_ref(world: World, tmp_path: Path) -> None:
    env = push.git_env(tmp_path, None, None)
    clone = push.Clone(str(world.bare), str(world.bare), "main", tmp_path / "c", env, 64)
    before = refs(world.bare)
    with pytest.raises(GitError, match=r"/gwpipe/prod-x: refusing to push to refs/heads/main; gwpipe pushes only"):
        push.push_with_lease(clone, [push.RefUpdate("refs/heads/main", clone.head, clone.head)], "gwpipe/prod-x")
    assert refs(world.bare) == before


# row 70: a huge GitOps repository is cloned shallow and within a size budget


def test_row70_clone_over_budget(world: World) -> None:
    big = world.work / "blob.bin"
    big.write_bytes(bytes(range(256)) * (3 * 4096 + 17) + __import__("os").urandom(2 * 1024 * 1024))
    run_git(world.work, "add", "blob.bin")
    run_git(world.work, "commit", "-q", "-m", "big")
    run_git(world.work, "push", "-q", "origin", "main")
    write_env(world.specs, "prod", spec(["shop.example.com"]))
    before = refs(world.bare)
    result = world.propose("prod", extra=("--max-clone-mb", "1"))
    world.assert_failed_cleanly(
        result,
        before,
        rf"error: {re.escape(str(world.bare))}: clone is \d+ MiB, over the budget of 1 MiB \(--max-clone-mb\)",
    )


def test_row70_history_is_not_cloned(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    for _ in range(30):
        advance(world.work, "main", "churn.txt")
    depths: list[int] = []
    real = push.Clone.__init__

    def record(self: push.Clone, *args: Any) -> None:
        real(self, *args)
        depths.append(len(list(self.repo.iter_commits("HEAD"))))

    monkeypatch.setattr(push.Clone, "__init__", record)
    write_env(world.specs, "prod", spec(["shop.example.com"]))
    assert world.propose("prod").exit_code == 0
    assert depths == [1]
