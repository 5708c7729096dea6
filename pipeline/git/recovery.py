"""Faults around the commit: a waiting lock, the run journal that proves a leftover is gwpipe's, git's own errors."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gwpipe.errors import GitError, Problem

if TYPE_CHECKING:
    from gwpipe.git.repo import GitopsRepo

DEFAULT_LOCK_TIMEOUT = 600.0
_LOCK_POLL_SECONDS = 0.05
# written into the git directory before a run touches the working tree, removed once it has committed or
# put everything back: finding it proves the folders it names hold a killed run's half-done work
JOURNAL = "gwpipe-run.json"
# a git process of the killed run may still be finishing (SIGKILL reaches gwpipe, not its children)
_ORPHAN_GRACE_SECONDS = 2.0


@contextmanager
def hold_lock(path: Path, timeout: float) -> Iterator[None]:
    """An flock on the working tree folder itself (no file appears), waiting up to `timeout` seconds for it.

    Concurrent runs queue here, first use included: the folder exists before `git init` runs under the lock.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise GitError(Problem(str(path), f"cannot open: {exc.strerror or exc}")) from None
    try:
        if not _try_lock(fd):
            print(
                f"gwpipe: {path}: waiting for another gwpipe run on this repository (up to {timeout:g} s)",
                file=sys.stderr,
                flush=True,
            )
            deadline = time.monotonic() + timeout
            while not _try_lock(fd):
                if time.monotonic() >= deadline:
                    raise GitError(
                        Problem(
                            str(path),
                            f"another gwpipe run is writing to this repository; gave up after {timeout:g} s",
                            "raise --lock-timeout to wait longer",
                        )
                    )
                time.sleep(_LOCK_POLL_SECONDS)
        yield
    finally:
        os.close(fd)


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def write_journal(git_dir: Path, envs: list[str], parent: str | None) -> None:
    """Record, before the working tree changes, which folders this run is about to replace and on which commit."""
    path = git_dir / JOURNAL
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({"pid": os.getpid(), "environments": envs, "parent": parent}))
    os.replace(temporary, path)


def recover_run(repo: GitopsRepo) -> str | None:
    """Put back what a killed run left (staged files, half-swapped folders, its index.lock); say what was done.

    Only the folders the journal names are touched, and only real folders: a symlink or anything
    else with gwpipe's names but without a journal is the user's, and the dirty-tree check reports it.
    """
    git_dir = Path(repo.repo.git_dir)
    found = read_journal(git_dir)
    if found is None:
        return None
    pid, envs, parent = found
    wait_for_orphans(git_dir, pid)
    head = repo.head_commit()
    in_head = set(repo.git.ls_tree("--name-only", "HEAD", "--", *envs).splitlines()) if head and envs else set()
    for env in envs:
        repo.unstage(env)
        folder = repo.path / env
        if folder.is_dir() and not folder.is_symlink():
            shutil.rmtree(folder)
        if env in in_head:
            repo.git.checkout("HEAD", "--", env)
        remove_own_leftover(repo.path, f".gwpipe-new-{env}")
        remove_own_leftover(repo.path, f".gwpipe-old-{env}")
    clear_journal(git_dir)
    shown = ", ".join(envs) or "nothing"
    if head is not None and head != parent:
        return f"an interrupted gwpipe run had committed {head[:12]}; {shown} now match it"
    last = f"the last commit ({head[:12]})" if head else "the unborn branch (no commit yet)"
    return f"an interrupted gwpipe run was undone: {shown} restored to {last}"


def clear_journal(git_dir: Path) -> None:
    (git_dir / JOURNAL).unlink(missing_ok=True)
    (git_dir / JOURNAL).with_suffix(".tmp").unlink(missing_ok=True)


def read_journal(git_dir: Path) -> tuple[int, list[str], str | None] | None:
    """(pid, environments, parent commit) of a run that did not finish, or None."""
    try:
        data = json.loads((git_dir / JOURNAL).read_text())
        pid, envs = int(data["pid"]), [str(e) for e in data["environments"]]
        parent = None if data.get("parent") is None else str(data["parent"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return 0, [], None  # never torn (written whole, then renamed), but a stranger's file is not trusted
    return pid, [e for e in envs if e and "/" not in e and e not in (".", "..") and e.lower() != ".git"], parent


def wait_for_orphans(git_dir: Path, pid: int) -> None:
    """Remove the index.lock a killed run's git left, once that run and its git are gone."""
    lock = git_dir / "index.lock"
    deadline = time.monotonic() + _ORPHAN_GRACE_SECONDS
    while lock.exists() and time.monotonic() < deadline:
        time.sleep(_LOCK_POLL_SECONDS)
    if lock.exists() and not _alive(pid):
        lock.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    if pid <= 0 or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_own_leftover(root: Path, name: str) -> None:
    """Remove `root/name` if it is a real folder (a symlink there is somebody else's and stays)."""
    leftover = root / name
    if leftover.is_dir() and not leftover.is_symlink():
        shutil.rmtree(leftover)


def quote_alternate(path: str) -> str:
    """`path` as one entry of GIT_ALTERNATE_OBJECT_DIRECTORIES: C-quoted when it holds the separator or a quote."""
    if ":" not in path and not path.startswith('"'):
        return path
    escaped = path.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"'


def git_problem(repository: str, exc: Any) -> Problem:
    """`git: <repository>` and git's own failing line, with a hint for the failures people can fix."""
    status = getattr(exc, "status", None)
    line = git_failure(getattr(exc, "stderr", ""), status)
    hint = None
    if isinstance(status, int) and status < 0:
        line = f"git {_subcommand(exc)} was killed by {_signal_name(-status)}"
        if -status == signal.SIGXFSZ:
            hint = "the file-size limit (`ulimit -f`) is too small for the repository; raise it and re-run"
    if "No space left on device" in line or "Disk quota exceeded" in line:
        hint = "the disk holding the repository is full; free space and re-run"
    elif "filter" in line and ("clean" in line or "smudge" in line):
        hint = "a clean/smudge filter configured for this repository failed; fix or remove it"
    return Problem(f"git: {repository}", line, hint)


def _subcommand(exc: Any) -> str:
    words = [str(w) for w in getattr(exc, "command", []) or []]
    skip = False
    for word in words[1:]:
        if skip:
            skip = False
        elif word in ("-c", "-C"):
            skip = True
        elif not word.startswith("-"):
            return word
    return "command"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def git_failure(stderr: object, status: object) -> str:
    """The line of git's stderr that says what failed (`fatal:`/`error:`), not its `hint:` advice."""
    lines = [line.strip() for line in str(stderr or "").splitlines() if line.strip()]
    lines = [line.removeprefix("stderr: ").strip("'\" ") for line in lines]
    for prefix in ("fatal:", "error:"):
        for line in lines:
            if line.startswith(prefix):
                return line
    useful = [line for line in lines if not line.startswith("hint:")]
    if len(useful) >= 2 and useful[-2].endswith(":"):
        return f"{useful[-2]} {useful[-1]}"  # a heading and the one item it introduces
    return useful[-1] if useful else f"exit status {status}"
