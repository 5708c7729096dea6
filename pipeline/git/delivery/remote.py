"""Validate remote URLs, branch names and one-line texts before any git process or API call sees them."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from urllib.parse import urlsplit

from gwpipe.errors import Problem, UsageError

BRANCH_PREFIX = "gwpipe/"
MARKER_PREFIX = "refs/gwpipe/"
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")
_SCP = re.compile(r"^(?P<user>[A-Za-z0-9._-]+)@(?P<host>[A-Za-z0-9][A-Za-z0-9.-]*):(?P<path>[^:].*)$")
_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$|^\[[0-9A-Fa-f:.]+\]$")
_FORBIDDEN_REF_CHARS = set(" ~^:?*[\\")


def redact_url(url: str) -> str:
    """`url` with any user information replaced by `***` (https://***@host/path)."""
    parts = urlsplit(url) if "://" in url else None
    if parts is None or "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return parts._replace(netloc=f"***@{host}").geturl()


def validate_remote_url(url: str) -> str:
    """Return `url` if it is an https, ssh, scp-like, file or local-path remote; raise UsageError otherwise."""
    shown = redact_url(url)

    def refuse(what: str) -> UsageError:
        return UsageError(
            Problem(
                shown or "remote", what, "allowed: https://host/path, ssh://host/path, git@host:path, file://, a path"
            )
        )

    if not url:
        raise refuse("remote URL is empty")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") or ch.isspace() for ch in url):
        raise refuse("remote URL contains whitespace or control characters")
    if url.startswith("-"):
        raise refuse("remote URL starts with '-' (would be read as a git option)")
    if "::" in url.split("/", 1)[0] or re.match(r"^[A-Za-z][A-Za-z0-9+.-]*::", url):
        raise refuse("git transport helpers (<transport>::<address>, e.g. ext::) are refused")
    if "://" in url:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme == "file":
            if parts.netloc not in ("", "localhost"):
                raise refuse("file:// remotes must be local")
            return url
        if scheme not in ("https", "ssh", "http"):
            raise refuse(f"scheme {scheme!r} is not allowed")
        if scheme == "http" and parts.hostname not in LOOPBACK:
            raise refuse("plain http is allowed only for 127.0.0.1 (tests); use https")
        if scheme in ("https", "http") and "@" in parts.netloc:
            raise refuse("remote URL embeds credentials; put the token in GITHUB_TOKEN, GITLAB_TOKEN or GITEA_TOKEN")
        if scheme == "ssh" and parts.password is not None:
            raise refuse("remote URL embeds a password")
        host = parts.netloc.rsplit("@", 1)[-1]
        host = re.sub(r":\d+$", "", host)
        if not _HOST.match(host) or not parts.path or parts.path.startswith("/-"):
            raise refuse("remote URL has no usable host and path")
        return url
    scp = _SCP.match(url)
    if scp:
        if scp["path"].startswith("-") or scp["host"].startswith("-"):
            raise refuse("remote host or path starts with '-'")
        return url
    if ":" in url.split("/", 1)[0]:
        raise refuse("remote looks like host:path without a user; write git@host:path or ssh://host/path")
    return url


def check_branch_name(name: str, where: str = "branch") -> str:
    """Apply `git check-ref-format --branch` rules in Python so a bad name never reaches git."""

    def refuse(what: str) -> UsageError:
        return UsageError(Problem(f"{where} {name!r}", what))

    if not name:
        raise refuse("branch name is empty")
    if name.startswith("-"):
        raise refuse("branch name starts with '-'")
    if name == "@":
        raise refuse("branch name '@' is reserved")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name):
        raise refuse("branch name contains control characters")
    bad = sorted({ch for ch in name if ch in _FORBIDDEN_REF_CHARS})
    if bad:
        raise refuse(f"branch name contains {''.join(bad)!r}")
    if ".." in name or "@{" in name:
        raise refuse("branch name contains '..' or '@{'")
    if name.startswith("/") or name.endswith("/") or "//" in name:
        raise refuse("branch name has an empty path component")
    if name.endswith("."):
        raise refuse("branch name ends with '.'")
    for part in name.split("/"):
        if part.startswith("."):
            raise refuse("a branch name component starts with '.'")
        if part.endswith(".lock"):
            raise refuse("a branch name component ends with '.lock'")
    return name


def check_environment(env: str) -> str:
    """An environment name usable in a branch and a ref: a DNS-1123 label."""
    if not re.fullmatch(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", env):
        raise UsageError(Problem(f"environment {env!r}", "must be a DNS-1123 label to name a branch"))
    return env


def tree_hash(files: dict[str, bytes]) -> str:
    """A short, deterministic hash of an environment's rendered files."""
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.encode() + b"\0" + hashlib.sha256(files[path]).digest())
    return digest.hexdigest()[:12]


def proposal_branch(env: str, files: dict[str, bytes]) -> str:
    """`gwpipe/<env>-<tree hash>`, checked like git would check it."""
    name = f"{BRANCH_PREFIX}{check_environment(env)}-{tree_hash(files)}"
    check_branch_name(name)
    if not name.startswith(BRANCH_PREFIX) or name.count("/") != 1:
        raise UsageError(Problem(f"branch {name!r}", f"must be one component under {BRANCH_PREFIX}"))
    return name


def marker_ref(env: str) -> str:
    """The ref every proposal for `env` moves atomically with its branch: the per-environment lease."""
    return f"{MARKER_PREFIX}{check_environment(env)}"


def one_line(text: str, limit: int = 250) -> str:
    """`text` as one line: control and format characters escaped, length capped."""
    out = []
    for ch in text:
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            out.append(ch.encode("unicode_escape").decode("ascii") if ord(ch) < 0x10000 else "?")
        else:
            out.append(ch)
    line = "".join(out)
    return line if len(line) <= limit else line[: limit - 3] + "..."


def clean_message(text: str) -> str:
    """A commit message or PR body whose lines carry no control characters (newlines stay line breaks)."""
    return "\n".join(one_line(line, limit=10_000) for line in text.split("\n"))
