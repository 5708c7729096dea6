"""The GitHub, GitLab and Gitea clients against their stand-ins: shapes, auth, already-exists, retries."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from stand_ins.forges import STAND_INS, TOKEN_VARIABLES, Fault, ForgeStandIn

from gwpipe.errors import UsageError
from gwpipe.git.delivery.forge import Forge, ForgeApiError, ensure_pull_request, make_forge, slug_from_remote

TOKEN = "tok_CANARY_0123456789"
FORGES = sorted(STAND_INS)


@pytest.fixture(params=FORGES)
def stand_in(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ForgeStandIn]:
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    work = tmp_path / "w"
    subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True)
    for args in (
        ["commit", "-q", "--allow-empty", "-m", "i"],
        ["push", "-q", str(bare), "main", "main:gwpipe/prod-abc"],
    ):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@l", *args], cwd=work, check=True)
    monkeypatch.setenv(TOKEN_VARIABLES[request.param], TOKEN)
    with STAND_INS[request.param](bare, TOKEN) as server:
        yield server
        assert server.violations == []


def _client(stand_in: ForgeStandIn, sleeps: list[float] | None = None) -> Forge:
    return make_forge(stand_in.name, stand_in.api_url, stand_in.slug, sleep=None if sleeps is None else sleeps.append)


def test_create_then_find_then_update(stand_in: ForgeStandIn) -> None:
    forge = _client(stand_in)
    assert forge.find("gwpipe/prod-abc", "main") is None
    pr, action = ensure_pull_request(forge, "gwpipe/prod-abc", "main", "t1", "b1")
    assert (action, pr.number, pr.title, pr.body) == ("created", 1, "t1", "b1")
    found = forge.find("gwpipe/prod-abc", "main")
    assert found == pr
    pr2, action2 = ensure_pull_request(forge, "gwpipe/prod-abc", "main", "t2", "b2")
    assert (action2, pr2.number, pr2.title, pr2.body) == ("updated", 1, "t2", "b2")
    _pr3, action3 = ensure_pull_request(forge, "gwpipe/prod-abc", "main", "t2", "b2")
    assert action3 == "unchanged"
    assert len(stand_in.created()) == 1


def test_already_exists_answer_turns_into_an_update(stand_in: ForgeStandIn) -> None:
    forge = _client(stand_in)
    ensure_pull_request(forge, "gwpipe/prod-abc", "main", "t1", "b1")
    stand_in.hide_from_list = 1
    pr, action = ensure_pull_request(forge, "gwpipe/prod-abc", "main", "t2", "b2")
    assert (action, pr.number, pr.body) == ("updated", 1, "b2")
    conflict = {"github": 422, "gitlab": 409, "gitea": 409}[stand_in.name]
    assert ("POST", conflict) in [(e["method"], e["status"]) for e in stand_in.log]


def test_missing_head_branch_is_a_clear_error(stand_in: ForgeStandIn) -> None:
    with pytest.raises(ForgeApiError) as info:
        _client(stand_in).create("gwpipe/prod-missing", "main", "t", "b")
    assert str(info.value).startswith(f"{stand_in.name} api POST ")
    assert TOKEN not in str(info.value)


def test_5xx_and_rate_limits_are_retried_with_bounded_exponential_backoff(stand_in: ForgeStandIn) -> None:
    sleeps: list[float] = []
    stand_in.faults += [Fault("GET", 503), Fault("GET", 429, headers={"Retry-After": "2"}), Fault("POST", 500)]
    pr, action = ensure_pull_request(_client(stand_in, sleeps), "gwpipe/prod-abc", "main", "t", "b")
    assert action == "created"
    assert pr.number == 1
    assert sleeps == [0.5, 2.0, 0.5]
    assert len(stand_in.created()) == 1


def test_retries_give_up_after_four_attempts(stand_in: ForgeStandIn) -> None:
    sleeps: list[float] = []
    stand_in.faults.append(Fault("GET", 502, count=99))
    with pytest.raises(ForgeApiError, match=r"failed after 4 attempts \(last: 502\)$"):
        _client(stand_in, sleeps).find("gwpipe/prod-abc", "main")
    assert sleeps == [0.5, 1.0, 2.0]
    assert len(stand_in.log) == 4


def test_wrong_token_is_a_401_without_echoing_it(stand_in: ForgeStandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_VARIABLES[stand_in.name], "wrong_CANARY")
    with pytest.raises(ForgeApiError, match=r"failed with 401") as info:
        _client(stand_in).find("gwpipe/prod-abc", "main")
    assert "wrong_CANARY" not in str(info.value)


def test_token_only_from_the_environment(stand_in: ForgeStandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TOKEN_VARIABLES[stand_in.name])
    with pytest.raises(UsageError, match=rf"{TOKEN_VARIABLES[stand_in.name]} is not set"):
        _client(stand_in)
    assert stand_in.log == []


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://api.github.com", "plain http is allowed only for 127.0.0.1"),
        ("https://user:tok@api.github.com", "must not embed credentials"),
        ("ftp://api.github.com", "must be an https:// URL"),
    ],
)
def test_api_url_is_checked(url: str, message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    with pytest.raises(UsageError, match=message):
        make_forge("github", url, "acme/gitops")


@pytest.mark.parametrize(
    ("url", "slug"),
    [
        ("https://github.com/acme/gitops.git", "acme/gitops"),
        ("git@github.com:acme/gitops.git", "acme/gitops"),
        ("ssh://git@gitlab.com/group/sub/gitops", "group/sub/gitops"),
        ("/srv/git/gitops.git", None),
    ],
)
def test_slug_from_remote(url: str, slug: str | None) -> None:
    assert slug_from_remote(url) == slug


def test_unreachable_api_is_retried_then_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    sleeps: list[float] = []
    forge = make_forge("github", f"http://127.0.0.1:{port}", "acme/gitops", sleep=sleeps.append)
    with pytest.raises(
        ForgeApiError,
        match=r"^github api GET /repos/acme/gitops/pulls: failed after 4 attempts "
        r"\(last: ConnectionError\)$",
    ):
        forge.find("gwpipe/prod-abc", "main")
    assert sleeps == [0.5, 1.0, 2.0]
