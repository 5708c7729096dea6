"""The GitOps repository through GitPython: refuse unsafe states, commit only gwpipe's files, no hooks."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import GitError, Problem

# repository-supplied code must never run: no hooks, no fsmonitor daemon
SAFE_CONFIG = ["core.hooksPath=/dev/null", "core.fsmonitor=false", "commit.gpgSign=false"]
IDENTITY = {
    "GIT_AUTHOR_NAME": "gwpipe",
    "GIT_AUTHOR_EMAIL": "gwpipe@localhost",
    "GIT_COMMITTER_NAME": "gwpipe",
    "GIT_COMMITTER_EMAIL": "gwpipe@localhost",
}


class GitopsRepo:
    """A local GitOps working tree that gwpipe commits rendered environments to."""

    def __init__(self, path: Path) -> None:
        import git

        self.path = path
        try:
            self.repo = git.Repo(path)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            raise GitError(Problem(str(path), "not a git repository")) from None
        if self.repo.bare:
            raise GitError(Problem(str(path), "is a bare repository; gwpipe needs a working tree"))
        self.git = self.repo.git(c=SAFE_CONFIG)
        # pin git to this repository: GIT_DIR/GIT_INDEX_FILE inherited from a hook or `rebase -x`
        # would otherwise point every command at another repository or index
        common = Path(self.repo.common_dir)
        self.git.update_environment(
            GIT_DIR=str(self.repo.git_dir),
            GIT_WORK_TREE=str(path),
            GIT_INDEX_FILE=str(Path(self.repo.git_dir) / "index"),
            GIT_COMMON_DIR=str(common),
            GIT_OBJECT_DIRECTORY=str(common / "objects"),
        )

    @classmethod
    def open(cls, path: Path, create: bool) -> GitopsRepo:
        """Open the repository at `path`, creating it (branch main) when `create` and it is absent."""
        path = Path(os.path.abspath(path))
        if not (path / ".git").exists():
            if not create:
                raise GitError(Problem(str(path), "not a git repository (pass an existing GitOps checkout)"))
            if path.exists() and any(path.iterdir()):
                raise GitError(Problem(str(path), "exists, is not empty and is not a git repository"))
            import git

            path.mkdir(parents=True, exist_ok=True)
            git.Repo.init(path, initial_branch="main")
        return cls(path)

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold gwpipe's lock on this repository: a second run would recover (delete) our half-written tree.

        The lock is an flock on the git directory itself, so no file appears in the repository.
        """
        fd = os.open(self.repo.git_dir, os.O_RDONLY)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise GitError(
                    Problem(str(self.path), "another gwpipe run is writing to this repository; wait for it to finish")
                ) from None
            yield
        finally:
            os.close(fd)

    def refuse_unsafe(self) -> None:
        """Raise unless the working tree is clean, unlocked and not mid-merge."""
        gitdir = Path(self.repo.git_dir)
        lock = gitdir / "index.lock"
        if lock.exists():
            raise GitError(
                Problem(str(lock), "another git process seems to be running (index.lock exists); remove it if none is")
            )
        for marker in ("MERGE_HEAD", "REBASE_HEAD", "CHERRY_PICK_HEAD", "rebase-merge", "rebase-apply"):
            if (gitdir / marker).exists():
                raise GitError(Problem(str(self.path), f"a merge or rebase is in progress ({marker}); finish it first"))
        if self.repo.head.is_detached:
            raise GitError(Problem(str(self.path), "HEAD is detached; check out a branch first"))
        status = self.git.status("--porcelain", "--untracked-files=all", "-z")
        dirty = sorted({entry[3:] for entry in status.split("\0") if len(entry) > 3})
        if dirty:
            shown = ", ".join(dirty[:10]) + (f" and {len(dirty) - 10} more" if len(dirty) > 10 else "")
            raise GitError(
                Problem(
                    str(self.path),
                    f"working tree has uncommitted changes: {shown}; commit or remove them first",
                    "after an interrupted gwpipe run, `git checkout -- . && git clean -fd` in the repository restores HEAD",
                )
            )

    def branch(self) -> str:
        return str(self.repo.head.ref.name)

    def commit(self, folders: list[str], message: str) -> str | None:
        """Stage everything under `folders` and commit only them, in one commit; None when nothing changed."""
        import git

        try:
            self.git.add("-A", "--", *folders)
            staged = self.git.diff("--cached", "--name-only", "--", *folders)
            if not staged.strip():
                return None
            env = dict(os.environ) if self._has_identity() else {**os.environ, **IDENTITY}
            self.git.commit("--no-verify", "-q", "-m", message, "--", *folders, env=env)
        except git.GitCommandError as exc:
            what = git_failure(exc.stderr, exc.status)
            raise GitError(Problem(f"{self.path} ({self.branch()})", f"cannot commit: {what}")) from None
        return str(self.repo.head.commit.hexsha)

    def unstage(self, folder: str) -> None:
        """Drop whatever is staged under `folder` (after a failed commit)."""
        if self.repo.head.is_valid():
            self.git.reset("-q", "--", folder)
        else:
            self.git.rm("-r", "-q", "--cached", "--ignore-unmatch", "--", folder)

    def _has_identity(self) -> bool:
        reader = self.repo.config_reader()
        return bool(reader.get_value("user", "email", "")) and bool(reader.get_value("user", "name", ""))


def git_failure(stderr: object, status: object) -> str:
    """The line of git's stderr that says what failed (`fatal:`/`error:`), not its `hint:` advice."""
    lines = [line.strip() for line in str(stderr or "").splitlines() if line.strip()]
    lines = [line.removeprefix("stderr: ").strip("'\" ") for line in lines]
    for prefix in ("fatal:", "error:"):
        for line in lines:
            if line.startswith(prefix):
                return line
    useful = [line for line in lines if not line.startswith("hint:")]
    return useful[-1] if useful else f"exit status {status}"
