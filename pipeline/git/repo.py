"""The GitOps repository through GitPython: refuse unsafe states, commit only gwpipe's files, no hooks."""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any

from gwpipe import fast
from gwpipe.errors import GitError, Problem
from gwpipe.git.fastimport import GitSettings, blocker, commit_stream, parse_answers, parse_config_list, stripspace
from gwpipe.git.recovery import DEFAULT_LOCK_TIMEOUT, git_problem, hold_lock, quote_alternate

# repository-supplied code must never run: no hooks, no fsmonitor daemon
SAFE_CONFIG = ["core.hooksPath=/dev/null", "core.fsmonitor=false", "commit.gpgSign=false"]
IDENTITY = {
    "GIT_AUTHOR_NAME": "gwpipe",
    "GIT_AUTHOR_EMAIL": "gwpipe@localhost",
    "GIT_COMMITTER_NAME": "gwpipe",
    "GIT_COMMITTER_EMAIL": "gwpipe@localhost",
}
# glibc otherwise hands the heap back to the kernel after nearly every object git compresses: git add and
# fast-import spend most of their time in page faults (2000 hosts: 0.45 s -> 0.18 s for add)
MALLOC_TUNING = {
    "MALLOC_TOP_PAD_": str(16 << 20),
    "MALLOC_TRIM_THRESHOLD_": str(64 << 20),
    "MALLOC_MMAP_THRESHOLD_": str(32 << 20),
}
# fast-import writes into a quarantine inside the object store; a run killed half way leaves only this
# folder, which the next run (or `git gc`, which prunes stale tmp_* entries) removes
QUARANTINE_PREFIX = "tmp_objdir-gwpipe-"
# every state in which git is half way through a multi-step operation: a commit now would be wrong
SEQUENCER_STATES = (
    "MERGE_HEAD",
    "REBASE_HEAD",
    "CHERRY_PICK_HEAD",
    "REVERT_HEAD",
    "BISECT_LOG",
    "sequencer",
    "rebase-merge",
    "rebase-apply",
)


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
            **MALLOC_TUNING,
        )
        self.objects = common / "objects"

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

    @classmethod
    @contextmanager
    def open_locked(cls, path: Path, create: bool, timeout: float = DEFAULT_LOCK_TIMEOUT) -> Iterator[GitopsRepo]:
        """Wait for gwpipe's lock on the repository at `path` (made first when `create`), then open it."""
        path = Path(os.path.abspath(path))
        if not create and not (path / ".git").exists():
            cls.open(path, create)  # raises: not a repository
        if create and not (path / ".git").exists():
            try:
                path.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise GitError(Problem(str(path), f"cannot create: {exc.strerror or exc}")) from None
        with hold_lock(path, timeout):
            yield cls.open(path, create)

    @contextmanager
    def locked(self, timeout: float = DEFAULT_LOCK_TIMEOUT) -> Iterator[None]:
        """Hold gwpipe's lock on this repository, waiting up to `timeout` seconds for another run to finish."""
        with hold_lock(self.path, timeout):
            yield

    def refuse_unsafe(self) -> None:
        """Raise unless the working tree is clean, unlocked, on a branch and not mid-operation."""
        self.refuse_sequencer()
        lock = Path(self.repo.git_dir) / "index.lock"
        if lock.exists():
            raise GitError(
                Problem(str(lock), "another git process seems to be running (index.lock exists); remove it if none is")
            )
        dirty = uncommitted_paths(self.git)
        if dirty:
            shown = ", ".join(dirty[:10]) + (f" and {len(dirty) - 10} more" if len(dirty) > 10 else "")
            raise GitError(
                Problem(
                    str(self.path),
                    f"working tree has uncommitted changes: {shown}; commit or remove them first",
                    "`git stash --include-untracked` in the repository sets them aside; "
                    "`git reset --hard && git clean -fd` discards them",
                )
            )

    def refuse_sequencer(self) -> None:
        """Raise when a merge, rebase, cherry-pick, revert or bisect is in progress, or HEAD is detached."""
        gitdir = Path(self.repo.git_dir)
        for marker in SEQUENCER_STATES:
            if (gitdir / marker).exists():
                raise GitError(
                    Problem(
                        str(self.path),
                        f"a merge, rebase, cherry-pick, revert or bisect is in progress ({marker}); finish it first",
                    )
                )
        if self.repo.head.is_detached:
            raise GitError(Problem(str(self.path), "HEAD is detached; check out a branch first"))

    def head_commit(self) -> str | None:
        """The commit HEAD's branch points at, from the ref files alone; None on an unborn branch."""
        import git

        try:
            return str(git.SymbolicReference.dereference_recursive(self.repo, "HEAD"))
        except ValueError:
            return None

    def branch(self) -> str:
        return str(self.repo.head.ref.name)

    @contextmanager
    def fast_commit(self, trees: dict[str, dict[str, bytes]], message: str) -> Iterator[FastCommit | None]:
        """Start writing the commit of `trees` (folder -> files) with git fast-import, while the caller writes them.

        Yields None when this repository needs `git add` (filters, eol conversion, an odd identity or
        path...). Whatever happens, the fast-import process is reaped and its quarantine removed.
        """
        pending = self._start_fast_commit(trees, message) if fast.enabled() else None
        try:
            yield pending
        finally:
            if pending is not None:
                pending.close()

    def _start_fast_commit(self, trees: dict[str, dict[str, bytes]], message: str) -> FastCommit | None:
        import git

        try:
            env = self._identity_env()
            settings = GitSettings(
                parse_config_list(self.git.config("--list", "-z")),
                self.git.var("GIT_AUTHOR_IDENT", env=env),
                self.git.var("GIT_COMMITTER_IDENT", env=env),
            )
        except (git.GitCommandError, UnicodeError):
            return None  # the `git add` path reports whatever is wrong
        if blocker(settings) is not None:
            return None
        try:  # the id from the ref files alone: `head.commit` would start a `git cat-file` process
            parent: str | None = git.SymbolicReference.dereference_recursive(self.repo, "HEAD")
        except ValueError:
            parent = None  # an unborn branch
        stream = commit_stream(parent, trees, settings, message)
        if stream is None:
            return None
        try:
            quarantine = Path(tempfile.mkdtemp(prefix=QUARANTINE_PREFIX, dir=self.objects))
        except OSError:
            return None
        try:
            # held while the quarantine is in use: a run on another worktree of this repository (which
            # shares the object store, not our lock) then knows it is no leftover
            claim = os.open(quarantine, os.O_RDONLY)
        except OSError:
            shutil.rmtree(quarantine, ignore_errors=True)
            return None
        fcntl.flock(claim, fcntl.LOCK_EX)  # a folder made just now: nobody else holds it
        source: IO[bytes] | None = None
        try:
            # a file, not a pipe: a killed gwpipe never cuts the stream short; FastCommit.close() closes it
            source = tempfile.TemporaryFile()  # noqa: SIM115
            source.write(stream)
            source.seek(0)
            # git splits this list at ':' unless an entry is C-quoted (a CI workspace may be named `...T10:00`)
            alternates = os.pathsep.join(
                p
                for p in (quote_alternate(str(self.objects)), os.environ.get("GIT_ALTERNATE_OBJECT_DIRECTORIES", ""))
                if p
            )
            process = self.git.fast_import(
                "--quiet",
                "--done",
                istream=source,
                as_process=True,
                env={"GIT_OBJECT_DIRECTORY": str(quarantine), "GIT_ALTERNATE_OBJECT_DIRECTORIES": alternates},
            )
        except (OSError, git.GitCommandError):
            if source is not None:
                with suppress(OSError):  # its unwritten buffer fails again (file too large, disk full)
                    source.close()
            shutil.rmtree(quarantine, ignore_errors=True)
            os.close(claim)
            return None
        return FastCommit(process, source, quarantine, claim, parent, Path(self.repo.git_dir))

    def commit(self, folders: list[str], message: str, pending: FastCommit | None = None) -> str | None:
        """Stage everything under `folders` and commit only them, in one commit; None when nothing changed.

        With `pending` (see `fast_commit`), the objects already exist: `git add` only hashes the files
        and, when the tree it stages is the one fast-import built, the branch moves to that commit
        (compare-and-swap against the parent). Otherwise the commit is made by `git commit` as always.
        """
        import git

        try:
            if pending is not None:
                commit, tree = pending.wait()
                pending.migrate(self.objects)
            self.git.add("-A", "--", *folders)
            if pending is not None and self._index_matches(tree):
                if pending.parent is not None and tree == self.git.rev_parse(f"{pending.parent}^{{tree}}"):
                    return None  # what git sees did not change (an ignored file, eol conversion): no commit
                return self._move_branch(commit, pending.parent, message)
            staged = self.git.diff("--cached", "--name-only", "--", *folders)
            if not staged.strip():
                return None
            self.git.commit("--no-verify", "-q", "-m", message, "--", *folders, env=self._identity_env())
        except git.GitCommandError as exc:
            raise self.failure(exc) from None
        # from the ref files: a `git cat-file` failing after the commit landed would report a failed run
        return self.head_commit()

    def failure(self, exc: Any) -> GitError:
        """`git: <repository>: <git's own line>` (with a hint where one helps) for a failed git command."""
        return GitError(git_problem(str(self.path), exc))

    def _index_matches(self, tree: str) -> bool:
        """True when the index holds exactly `tree` (compared without touching the working tree)."""
        import git

        # not `git write-tree`: rewriting the index right after `git add` re-hashes every file written
        # in the same second (racily clean entries)
        status, _out, err = self.git.diff_index(
            "--cached", "--quiet", tree, "--", with_extended_output=True, with_exceptions=False
        )
        if status not in (0, 1):
            raise git.GitCommandError(["git", "diff-index"], status, err)
        return bool(status == 0)

    def _move_branch(self, commit: str, parent: str | None, message: str) -> str:
        """Point the checked-out branch at `commit` if it still points at `parent`, as `git commit` would log it."""
        import git

        subject = stripspace(message).split("\n", 1)[0]
        action = "commit" if parent else "commit (initial)"
        old = parent or "0" * len(commit)
        self.git.update_ref("-m", f"{action}: {subject}", self.repo.head.ref.path, commit, old)
        with suppress(git.GitCommandError):
            self.git.maintenance("run", "--auto", "--quiet")  # what `git commit` runs after committing
        return commit

    def _identity_env(self) -> dict[str, str] | None:
        return None if self._has_identity() else IDENTITY

    def unstage(self, folder: str) -> None:
        """Drop whatever is staged under `folder` (after a failed commit)."""
        if self.repo.head.is_valid():
            self.git.reset("-q", "--", folder)
        else:
            self.git.rm("-r", "-q", "--cached", "--ignore-unmatch", "--", folder)

    def _has_identity(self) -> bool:
        reader = self.repo.config_reader()
        return bool(reader.get_value("user", "email", "")) and bool(reader.get_value("user", "name", ""))

    def remove_quarantines(self) -> None:
        """Remove what a killed run's fast-import left in the object store (only gwpipe's own, unclaimed folders)."""
        for leftover in self.objects.glob(f"{QUARANTINE_PREFIX}*"):
            try:
                claim = os.open(leftover, os.O_RDONLY)
            except OSError:
                continue
            try:
                fcntl.flock(claim, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # a live run (on another worktree) is using it
            else:
                shutil.rmtree(leftover, ignore_errors=True)
            finally:
                os.close(claim)


class FastCommit:
    """A git fast-import process writing one commit's objects into a quarantine folder."""

    def __init__(
        self, process: Any, source: IO[bytes], quarantine: Path, claim: int, parent: str | None, git_dir: Path
    ) -> None:
        self.process = process
        self.source = source
        self.quarantine = quarantine
        self.claim = claim  # an open descriptor holding the quarantine's flock
        self.parent = parent
        self.git_dir = git_dir
        self.pid: int = process.proc.pid

    def wait(self) -> tuple[str, str]:
        """(commit, root tree) once fast-import has finished; GitCommandError when it failed."""
        import git

        out, err = self.process.proc.communicate()
        status = self.process.proc.returncode
        answers = parse_answers(out.decode("utf-8", "replace")) if status == 0 else None
        if answers is None:
            raise git.GitCommandError(["git", "fast-import"], status, err)
        return answers

    def migrate(self, objects: Path) -> None:
        """Move the quarantined objects into the object store, each pack's index last (as git does)."""
        for folder, _dirs, files in sorted(os.walk(self.quarantine)):
            target = objects / Path(folder).relative_to(self.quarantine)
            target.mkdir(exist_ok=True)
            for name in sorted(files, key=_pack_order):
                source, final = Path(folder) / name, target / name
                try:
                    os.link(source, final)
                except FileExistsError:
                    pass  # the same object (or pack) is already there
                except OSError:
                    os.replace(source, final)

    def close(self) -> None:
        """Reap fast-import, then drop the quarantine, the stream and any crash report of ours."""
        if self.process.proc is not None and self.process.proc.returncode is None:
            self.process.proc.communicate()
        self.source.close()
        shutil.rmtree(self.quarantine, ignore_errors=True)
        os.close(self.claim)
        (self.git_dir / f"fast_import_crash_{self.pid}").unlink(missing_ok=True)


def _pack_order(name: str) -> tuple[int, str]:
    """Loose objects and other files first, then .keep, .pack, .rev and .idx: a pack is readable once its index is."""
    suffixes = (".keep", ".pack", ".rev", ".idx")
    rank = next((i + 1 for i, s in enumerate(suffixes) if name.startswith("pack") and name.endswith(s)), 0)
    return rank, name


def uncommitted_paths(git_cmd: Any) -> list[str]:
    """Paths of the working tree with uncommitted changes, untracked files included (a rename: both paths)."""
    # no optional locks: a `git status` that dies (disk full, file-size limit) must not leave index.lock,
    # and a read-only command (plan) must not take it
    status = git_cmd.status(
        "--porcelain", "--untracked-files=all", "--no-renames", "-z", env={"GIT_OPTIONAL_LOCKS": "0"}
    )
    return sorted({entry[3:] for entry in status.split("\0") if len(entry) > 3})
