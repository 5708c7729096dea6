"""`gwpipe propose` end to end against a real bare remote and a GitHub stand-in."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from delivery.harness import TOKEN, World, make_world, refs, rev, spec, world, write_env

__all__ = ["world"]


def test_first_proposal_pushes_branch_and_opens_one_pr(world: World) -> None:
    write_env(world.specs, "prod", spec(["shop.example.com"]))
    main_before = rev(world.bare, "refs/heads/main")
    result = world.propose("prod")
    assert result.exit_code == 0, result.stderr
    branches = [r for r in refs(world.bare) if r.startswith("refs/heads/gwpipe/")]
    assert len(branches) == 1
    branch = branches[0].removeprefix("refs/heads/")
    assert re.fullmatch(r"gwpipe/prod-[0-9a-f]{12}", branch)
    tip = rev(world.bare, f"refs/heads/{branch}")
    assert rev(world.bare, "refs/gwpipe/prod") == tip
    assert rev(world.bare, f"{tip}^") == main_before
    assert rev(world.bare, "refs/heads/main") == main_before
    [pr] = world.forge.pulls
    assert pr["head"] == branch
    assert pr["base"] == "main"
    assert f"at `{main_before}`" in pr["body"]
    assert "`shop.example.com on Gateway shop/public-gw :80`" in pr["body"]
    assert "pull request #1 created: https://github.example/acme/gitops/pull/1" in result.stdout
    assert TOKEN not in result.stdout + result.stderr


def _branch(world: World) -> str:
    [branch] = [r.removeprefix("refs/heads/") for r in refs(world.bare) if r.startswith("refs/heads/gwpipe/")]
    return branch


def test_rerun_with_same_render_is_a_no_op(world: World) -> None:
    write_env(world.specs, "prod", spec(["shop.example.com"]))
    assert world.propose("prod").exit_code == 0
    before = refs(world.bare)
    writes = len(world.forge.writes())
    again = world.propose("prod")
    assert again.exit_code == 0, again.stderr
    assert again.stdout.splitlines()[0] == f"prod: no changes; {_branch(world)} is current"
    assert "pull request #1 unchanged" in again.stdout
    assert refs(world.bare) == before
    assert len(world.forge.writes()) == writes
    assert len(world.forge.pulls) == 1


def test_render_identical_to_base_commits_nothing_and_opens_no_pr(world: World) -> None:
    write_env(world.specs, "prod", spec(["shop.example.com"]))
    assert world.propose("prod", extra=("--push-to-base",)).exit_code == 0
    before = refs(world.bare)
    result = world.propose("prod")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "prod: no changes\n"
    assert refs(world.bare) == before
    assert world.forge.log == []


def test_push_to_base_only_when_asked(world: World) -> None:
    write_env(world.specs, "prod", spec(["shop.example.com"]))
    main_before = rev(world.bare, "refs/heads/main")
    result = world.propose("prod", extra=("--push-to-base",))
    assert result.exit_code == 0, result.stderr
    assert rev(world.bare, "refs/heads/main^") == main_before
    assert [r for r in refs(world.bare) if "gwpipe" in r] == []
    assert world.forge.log == []


def test_changed_render_gets_a_new_branch_and_moves_the_environment_lease(world: World) -> None:
    write_env(world.specs, "prod", spec(["shop.example.com"]))
    assert world.propose("prod").exit_code == 0
    first = _branch(world)
    write_env(world.specs, "prod", spec(["shop.example.com", "api.example.com"]))
    result = world.propose("prod")
    assert result.exit_code == 0, result.stderr
    branches = sorted(r.removeprefix("refs/heads/") for r in refs(world.bare) if r.startswith("refs/heads/gwpipe/"))
    [second] = [b for b in branches if b != first]
    assert rev(world.bare, "refs/gwpipe/prod") == rev(world.bare, f"refs/heads/{second}")
    assert [p["head"] for p in world.forge.pulls] == [first, second]
    assert "api.example.com on Gateway shop/public-gw :80" in world.forge.pulls[1]["body"]


def test_existing_pr_hidden_from_the_list_gets_422_then_is_updated(world: World) -> None:
    write_env(world.specs, "prod", spec(["shop.example.com"]))
    assert world.propose("prod").exit_code == 0
    world.forge.pulls[0]["body"] = "edited by someone"
    world.forge.hide_from_list = 1  # the PR appears between our list and our create
    result = world.propose("prod")
    assert result.exit_code == 0, result.stderr
    statuses = [(e["method"], e["status"]) for e in world.forge.log[-4:]]
    assert statuses == [("GET", 200), ("POST", 422), ("GET", 200), ("PATCH", 200)]
    assert "pull request #1 updated" in result.stdout
    assert len(world.forge.pulls) == 1
    assert "gwpipe plan" in world.forge.pulls[0]["body"]


def test_forge_down_after_push_then_rerun_creates_the_pr_once(world: World) -> None:
    from stand_ins.forges import Fault

    write_env(world.specs, "prod", spec(["shop.example.com"]))
    world.forge.faults.append(Fault("POST", 503, count=10))
    failed = world.propose("prod")
    assert failed.exit_code == 1
    assert failed.errors == [
        f"error: {world.bare}/{_branch(world)}: github api POST /repos/acme/gitops/pulls: failed after 4 attempts "
        "(last: 503) (branch pushed; re-run to open the pull request)"
    ]
    assert world.forge.pulls == []
    pushed = refs(world.bare)
    world.forge.faults.clear()
    again = world.propose("prod")
    assert again.exit_code == 0, again.stderr
    assert refs(world.bare) == pushed  # no new commit: the branch already held this render
    assert len(world.forge.created()) == 1
    assert "pull request #1 created" in again.stdout


def test_rate_limit_and_5xx_are_retried_with_backoff(world: World, monkeypatch: object) -> None:
    from stand_ins.forges import Fault

    write_env(world.specs, "prod", spec(["shop.example.com"]))
    world.forge.faults += [
        Fault("GET", 403, headers={"x-ratelimit-remaining": "0", "retry-after": "0"}),
        Fault("POST", 502),
    ]
    result = world.propose("prod")
    assert result.exit_code == 0, result.stderr
    assert [(e["method"], e["status"]) for e in world.forge.log] == [
        ("GET", 403),
        ("GET", 200),
        ("POST", 502),
        ("POST", 201),
    ]
    assert len(world.forge.pulls) == 1


def test_json_output_names_branch_base_and_pr(world: World) -> None:
    import json

    write_env(world.specs, "prod", spec(["shop.example.com"]))
    result = world.propose("prod", extra=("--output", "json"))
    assert result.exit_code == 0, result.stderr
    [proposal] = json.loads(result.stdout)["proposals"]
    assert proposal["branch"] == _branch(world)
    assert proposal["base"] == {"branch": "main", "sha": rev(world.bare, "refs/heads/main")}
    assert proposal["pull_request"]["number"] == 1
    assert proposal["pull_request"]["action"] == "created"
    assert proposal["commit"] == rev(world.bare, "refs/gwpipe/prod")


@pytest.fixture(params=["gitlab", "gitea"])
def other_world(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    yield from make_world(tmp_path, monkeypatch, request.param)


def test_gitlab_and_gitea_open_then_keep_one_request(other_world: World) -> None:
    write_env(other_world.specs, "prod", spec(["shop.example.com"]))
    write_env(other_world.specs, "staging", spec(["shop.staging.example.com"]))
    first = other_world.propose("prod", "staging")
    assert first.exit_code == 0, first.stderr
    assert sorted(p["head"].split("-")[0] for p in other_world.forge.pulls) == ["gwpipe/prod", "gwpipe/staging"]
    assert all(p["base"] == "main" for p in other_world.forge.pulls)
    before = refs(other_world.bare)
    again = other_world.propose("prod", "staging")
    assert again.exit_code == 0, again.stderr
    assert refs(other_world.bare) == before
    assert len(other_world.forge.created()) == 2
    assert len(other_world.forge.writes()) == 2


def test_key_material_in_the_pr_body_is_never_sent(world: World) -> None:
    from gwpipe.testing import git as run_git

    pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"
    leaked = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: leaked\n  namespace: shop\ndata:\n  key: |\n"
    leaked += "".join(f"    {line}\n" for line in pem.splitlines())
    (world.work / "prod" / "shop").mkdir(parents=True)
    (world.work / "prod" / "shop" / "configmap-leaked.yaml").write_text(leaked)
    run_git(world.work, "add", "prod")
    run_git(world.work, "commit", "-q", "-m", "oops")
    run_git(world.work, "push", "-q", "origin", "main")
    write_env(world.specs, "prod", spec(["shop.example.com"]))
    before = refs(world.bare)
    result = world.propose("prod", extra=("--allow-delete",))
    world.assert_failed_cleanly(
        result,
        before,
        rf"error: {re.escape(str(world.bare))}/gwpipe/prod-[0-9a-f]{{12}}: pull request body contains PEM private key; "
        "refusing to send it",
    )
    assert "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC" not in result.stdout + result.stderr
    assert world.forge.log == []


def test_relative_remote_path_in_checkout_config_is_read_from_the_checkout(world: World) -> None:
    from delivery.harness import run

    from gwpipe.testing import git as run_git

    run_git(world.work, "remote", "set-url", "origin", "../remote.git")
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
    assert "refs/gwpipe/prod" in refs(world.bare)
