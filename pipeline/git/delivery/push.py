"""A gwpipe-owned shallow clone of the GitOps remote: commit one environment, push it with a lease."""

from __future__ import annotations

import logging
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gwpipe.errors import GitError, Problem
from gwpipe.git.delivery.remote import BRANCH_PREFIX, MARKER_PREFIX
from gwpipe.git.repo import IDENTITY

# repository-supplied code must never run, in the clone or anywhere else: set for every git process via env
SAFE_CONFIG = (
    ("core.hooksPath", "/dev/null"),
    ("core.fsmonitor", "false"),
    ("commit.gpgSign", "false"),
    ("protocol.ext.allow", "never"),
    ("protocol.fd.allow", "never"),
    ("credential.helper", ""),
)
_ASKPASS = """#!/bin/sh
case "$1" in
  Username*) printf '%s\\n' "${GWPIPE_GIT_USERNAME:-gwpipe}" ;;
  *) printf '%s\\n' "$GWPIPE_GIT_PASSWORD" ;;
esac
"""
logging.getLogger("git").addHandler(logging.NullHandler())  # GitPython must not print push errors itself


@dataclass(frozen=True)
class RefUpdate:
    """Move `ref` on the remote to `new`, only if it still points at `expected` (None: must not exist)."""

    ref: str
    new: str | None  # None: delete the ref
    expected: str | None


def git_env(workdir: Path, token: str | None, username: str | None) -> dict[str, str]:
    """Environment for every git process: safe config, no prompts, identity, and the token only via askpass."""
    env = {
        "GIT_CONFIG_COUNT": str(len(SAFE_CONFIG)),
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_HTTP_LOW_SPEED_LIMIT": "1000",
        "GIT_HTTP_LOW_SPEED_TIME": "60",
        "GIT_SSH_COMMAND": "ssh -o BatchMode=yes",
        **IDENTITY,
    }
    for index, (key, value) in enumerate(SAFE_CONFIG):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    if token:
        script = workdir / "askpass.sh"
        script.write_text(_ASKPASS, encoding="utf-8")
        script.chmod(stat.S_IRWXU)
        env.update(GIT_ASKPASS=str(script), GWPIPE_GIT_PASSWORD=token, GWPIPE_GIT_USERNAME=username or "gwpipe")
    return env


class Clone:
    """A fresh shallow clone of one branch of the remote, in a folder gwpipe owns."""

    def __init__(self, url: str, shown: str, base: str, path: Path, env: dict[str, str], max_mb: int) -> None:
        import git

        self.url, self.shown, self.base, self.path = url, shown, base, path
        if "://" not in url and not re.match(r"^[^/]+@[^/]+:", url):
            # a plain-path clone ignores --depth and hardlinks the source's objects; a file:// clone does neither
            url = Path(os.path.abspath(url)).as_uri()
        try:
            self.repo = git.Repo.clone_from(
                url, path, env=env, multi_options=["--depth=1", "--single-branch", f"--branch={base}", "--no-tags"]
            )
        except git.GitCommandError as exc:
            raise GitError(Problem(f"{shown}/{base}", _clone_failure(exc, base))) from None
        self.git = self.repo.git
        size = _size_mb(Path(self.repo.git_dir))
        if size > max_mb:
            raise GitError(Problem(shown, f"clone is {size} MiB, over the budget of {max_mb} MiB (--max-clone-mb)"))

    @property
    def head(self) -> str:
        return str(self.repo.head.commit.hexsha)

    def remote_refs(self, *refs: str) -> dict[str, str]:
        """Current values of `refs` on the remote (absent refs are left out)."""
        import git

        try:
            out = str(self.git.ls_remote("--", "origin", *refs))
        except git.GitCommandError as exc:
            raise GitError(Problem(self.shown, f"cannot list remote refs: {_stderr(exc)}")) from None
        found = {}
        for line in out.splitlines():
            sha, _, name = line.partition("\t")
            if name in refs:
                found[name] = sha
        return found

    def fetch(self, ref: str) -> str:
        """Fetch `ref` (tip only) and return the commit it points at."""
        import git

        local = f"refs/gwpipe-fetched/{ref.removeprefix('refs/')}"
        try:
            self.git.fetch("--depth=1", "--no-tags", "origin", f"+{ref}:{local}")
        except git.GitCommandError as exc:
            raise GitError(Problem(f"{self.shown}/{ref}", f"cannot fetch: {_stderr(exc)}")) from None
        return str(self.git.rev_parse(local))

    def files_at(self, sha: str, folder: str) -> dict[str, bytes] | None:
        """The files under `folder` in commit `sha`; None if the folder is absent."""
        commit = self.repo.commit(sha)
        try:
            tree = commit.tree / folder
        except KeyError:
            return None
        import git

        return {
            str(item.path)[len(folder) + 1 :]: item.data_stream.read()
            for item in tree.traverse()
            if isinstance(item, git.Blob)
        }

    def author_of(self, sha: str) -> str:
        return str(self.repo.commit(sha).author.email)

    def parent_of(self, sha: str) -> str | None:
        parents = self.repo.commit(sha).parents
        return str(parents[0].hexsha) if parents else None

    def commit(self, folder: str, message: str) -> str:
        """Stage exactly `folder` and commit it on top of the clone's HEAD."""
        self.git.add("-A", "--", folder)
        self.git.commit("--no-verify", "-q", "-m", message)
        return self.head


def push_with_lease(clone: Clone, updates: list[RefUpdate], branch: str, allowed_base: str | None = None) -> None:
    """`git push --atomic --force-with-lease=<ref>:<expected>` for each update; F0 'remote moved' when refused."""
    import git

    where = f"{clone.shown}/{branch}"
    for update in updates:
        own = update.ref.startswith(("refs/heads/" + BRANCH_PREFIX, MARKER_PREFIX))
        if not own and update.ref != allowed_base:
            raise GitError(
                Problem(where, f"refusing to push to {update.ref}; gwpipe pushes only its own gwpipe/ branches")
            )
    refspecs, leases = [], []
    for index, update in enumerate(updates):
        if update.new is None:
            refspecs.append(f":{update.ref}")
        else:
            local = f"refs/gwpipe-out/{index}"
            clone.git.update_ref(local, update.new)
            refspecs.append(f"{local}:{update.ref}")
        leases.append(f"{update.ref}:{update.expected or ''}")
    origin = clone.repo.remote("origin")
    failed: list[Any] = []
    error: Any = None
    results: Any = []
    try:
        results = origin.push(refspecs, force_with_lease=leases, atomic=True)
        failed = [r for r in results if r.flags & (r.REJECTED | r.REMOTE_REJECTED | r.REMOTE_FAILURE | r.ERROR)]
        error = results.error if hasattr(results, "error") else None
    except git.GitCommandError as exc:
        failed, error = [None], exc
    if not failed and error is None and len(results) == len(updates):
        return
    current = clone.remote_refs(*(u.ref for u in updates))
    if all(current.get(u.ref) == u.new for u in updates):
        return  # a concurrent run pushed the byte-identical commit: the remote is exactly as we wanted it
    for update in updates:
        found = current.get(update.ref)
        if found != update.expected and found != update.new:
            raise GitError(
                Problem(
                    where, f"remote moved: expected {update.expected or 'none'}, found {found or 'none'} ({update.ref})"
                )
            )
    detail = _stderr(error) if isinstance(error, git.GitCommandError) else "rejected"
    raise GitError(Problem(where, f"push rejected: {detail}"))


def _stderr(exc: Any) -> str:
    from gwpipe.checks.secrets import redact

    text = str(getattr(exc, "stderr", "") or exc).strip().strip("'").strip()
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("hint:")]
    last = lines[-1] if lines else "git failed"
    return redact(last.removeprefix("stderr: ").strip("'").strip())


def _clone_failure(exc: Any, base: str) -> str:
    text = str(getattr(exc, "stderr", "") or "")
    if f"Remote branch {base} not found" in text:
        return "base branch not found on the remote"
    if "does not appear to be a git repository" in text or ("repository" in text and "not found" in text):
        return "no git repository at this remote"
    if "Authentication failed" in text or "could not read Username" in text or "403" in text:
        return "authentication failed (token from GITHUB_TOKEN/GITLAB_TOKEN/GITEA_TOKEN, never from the URL)"
    return f"cannot clone: {_stderr(exc)}"


def _size_mb(folder: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            total += os.lstat(os.path.join(dirpath, name)).st_size
    return total // (1024 * 1024)
