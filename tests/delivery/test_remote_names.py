"""Remote URLs, branch names and one-line texts are checked in Python before git ever runs."""

from __future__ import annotations

import subprocess
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gwpipe.errors import UsageError
from gwpipe.git.delivery.remote import (
    check_branch_name,
    clean_message,
    one_line,
    proposal_branch,
    redact_url,
    tree_hash,
    validate_remote_url,
)


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/acme/gitops.git",
        "ssh://git@github.com:22/acme/gitops.git",
        "git@github.com:acme/gitops.git",
        "file:///srv/git/gitops.git",
        "/srv/git/gitops.git",
        "../gitops.git",
        "http://127.0.0.1:8080/gitops.git",
    ],
)
def test_allowed_remote_urls(url: str) -> None:
    assert validate_remote_url(url) == url


@pytest.mark.parametrize(
    ("url", "what"),
    [
        ("ext::sh -c touch% /tmp/pwned", "whitespace or control characters"),
        ("ext::sh%20-c%20touch", "git transport helpers"),
        ("fd::17", "git transport helpers"),
        ("--upload-pack=touch /tmp/pwned", "whitespace or control characters"),
        ("--upload-pack=/tmp/evil", "starts with '-'"),
        ("-uexploit", "starts with '-'"),
        ("https://ghp_secret@github.com/acme/gitops.git", "embeds credentials"),
        ("https://user:ghp_secret@github.com/acme/gitops.git", "embeds credentials"),
        ("http://github.com/acme/gitops.git", "plain http is allowed only for 127.0.0.1"),
        ("git://github.com/acme/gitops.git", "scheme 'git' is not allowed"),
        ("ext://sh/evil", "scheme 'ext' is not allowed"),
        ("file://evil.example/share", "file:// remotes must be local"),
        ("github.com:acme/gitops", "host:path without a user"),
        ("git@-oProxyCommand=x:acme", "remote looks like host:path without a user"),
        ("", "remote URL is empty"),
        ("https://github.com/acme\n/gitops", "whitespace or control characters"),
    ],
)
def test_refused_remote_urls(url: str, what: str) -> None:
    with pytest.raises(UsageError) as info:
        validate_remote_url(url)
    assert what in info.value.problems[0].what
    assert "ghp_secret" not in str(info.value)


def test_redacted_url_hides_user_info() -> None:
    assert redact_url("https://user:tok@github.com/a/b.git") == "https://***@github.com/a/b.git"
    assert redact_url("https://github.com/a/b.git") == "https://github.com/a/b.git"


@pytest.mark.parametrize(
    "name",
    [
        "-uexploit",
        "a..b",
        "x.lock",
        "a@{1}",
        "gwpipe/../../x",
        "a b",
        "a~1",
        "a^",
        "a:b",
        "@",
        "a/",
        "/a",
        "a//b",
        "a.",
        ".a",
        "a/.b",
        "a\\b",
        "a?",
        "a*",
        "a[",
        "a\x7f",
        "",
        "a/b.lock/c",
    ],
)
def test_bad_branch_names(name: str) -> None:
    with pytest.raises(UsageError):
        check_branch_name(name)


def _git_accepts(name: str) -> bool:
    result = subprocess.run(["git", "check-ref-format", "--branch", name], capture_output=True, check=False)
    return result.returncode == 0


ref_text = st.text(alphabet=st.sampled_from([*list("ab/.-@{}~^:?*[\\ lock"), "\x01", "\x7f"]), max_size=12)


@settings(max_examples=300, deadline=None)
@given(ref_text)
def test_branch_rules_agree_with_git_check_ref_format(name: str) -> None:
    # git --branch also expands @{-1} style names against a repository; those are refused by us either way
    try:
        check_branch_name(name)
        ours = True
    except UsageError:
        ours = False
    if ours:
        assert _git_accepts(name), name
    elif not name.startswith("-") and "@{" not in name and name != "@":
        assert not _git_accepts(name), name


@given(st.dictionaries(st.text(min_size=1, max_size=8), st.binary(max_size=20), max_size=5))
def test_branch_names_are_deterministic_and_prefixed(files: dict[str, bytes]) -> None:
    branch = proposal_branch("prod", files)
    assert branch == proposal_branch("prod", dict(reversed(list(files.items()))))
    assert branch == f"gwpipe/prod-{tree_hash(files)}"
    check_branch_name(branch)


@pytest.mark.parametrize("env", ["-uexploit", "a..b", "x.lock", "a@{1}", "../../x", "Prod", "a/b", ""])
def test_environment_names_that_cannot_name_a_branch(env: str) -> None:
    with pytest.raises(UsageError):
        proposal_branch(env, {})


@given(st.text(max_size=200))
def test_one_line_has_no_control_characters(text: str) -> None:
    line = one_line(text)
    assert not any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in line)
    assert len(line) <= 250


@given(st.text(max_size=200))
def test_clean_message_keeps_only_newlines_as_control_characters(text: str) -> None:
    cleaned = clean_message(text)
    assert all(ch == "\n" or unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp") for ch in cleaned)
    assert cleaned.count("\n") == text.count("\n")
