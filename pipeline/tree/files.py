"""Files on disk: read an environment folder, stage the new one beside it and swap it in atomically."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from gwpipe import fast
from gwpipe.errors import Problem, WriteError

# above this many seconds per file created, the remaining folders are written on FILE_WRITERS threads
SLOW_FILE_SECONDS = 50e-6


FILE_WRITERS = 4


def env_folder(root: Path, env: str) -> Path:
    """`root/env`, refusing names that could leave the root or reach into `.git`."""
    if not env or "/" in env or "\\" in env or env in (".", "..") or env.lower() == ".git":
        raise WriteError(Problem(str(root), f"refusing environment folder name {env!r}"))
    return root / env


def read_tree(folder: Path) -> dict[str, bytes]:
    """Every regular file below `folder`; a symlink anywhere is refused, never followed."""
    if folder.is_symlink():
        raise WriteError(Problem(str(folder), "refusing to write through symlink"))
    files: dict[str, bytes] = {}
    if not folder.exists():
        return files
    if not folder.is_dir():
        raise WriteError(Problem(str(folder), "exists and is not a folder; refusing to replace it"))
    _read_folder(str(folder), "", files)
    return files


def _read_folder(top: str, prefix: str, files: dict[str, bytes]) -> None:
    """os.walk's order and leniency (an unreadable folder is skipped), without a Path per file."""
    try:
        with os.scandir(top) as listing:
            entries = list(listing)
    except OSError:
        return
    folders = [e for e in entries if _is_dir(e)]
    others = [e for e in entries if not _is_dir(e)]
    for entry in folders + others:
        if entry.is_symlink():
            raise WriteError(Problem(entry.path, "refusing to write through symlink"))
        if entry.name == ".git":
            raise WriteError(Problem(entry.path, "a .git entry inside an environment folder is refused"))
    for entry in others:
        try:
            with open(entry.path, "rb", buffering=0) as handle:
                files[prefix + entry.name] = handle.readall()
        except OSError as exc:
            raise WriteError(Problem(entry.path, f"cannot read: {exc.strerror or exc}")) from None
    for entry in folders:
        _read_folder(entry.path, f"{prefix}{entry.name}/", files)


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def recover(root: Path, env: str) -> None:
    """Finish or undo a swap that a killed run left half done (`--out` folders; a repository uses its journal).

    Only real folders are gwpipe's: a symlink with one of its names is refused, never followed or moved.
    """
    old, new, folder = root / f".gwpipe-old-{env}", root / f".gwpipe-new-{env}", root / env
    _refuse_foreign_leftovers(root, env)
    if old.is_dir() and not os.path.lexists(folder):
        os.rename(old, folder)
    for leftover in (old, new):
        if leftover.is_dir():
            shutil.rmtree(leftover)


def _refuse_foreign_leftovers(root: Path, env: str) -> None:
    for name in (f".gwpipe-new-{env}", f".gwpipe-old-{env}"):
        leftover = root / name
        if leftover.is_symlink() or (os.path.lexists(leftover) and not leftover.is_dir()):
            raise WriteError(Problem(str(leftover), "is not a folder gwpipe made; move it away"))


def write_tree(root: Path, env: str, desired: dict[str, bytes], current: dict[str, bytes] | None = None) -> Path:
    """Replace `root/env` with exactly `desired`, atomically from a reader's point of view (see `stage_tree`)."""
    stage_tree(root, env, desired, current=current)
    return swap_tree(root, env)


def stage_tree(
    root: Path,
    env: str,
    desired: dict[str, bytes],
    recover_leftovers: bool = True,
    current: dict[str, bytes] | None = None,
) -> None:
    """Write `desired` into the staging folder beside `root/env`; nothing in `root/env` changes yet.

    Without `recover_leftovers` (a repository, whose journal already recovered), any leftover is refused.
    A file whose bytes `current` (what `root/env` holds) already has is linked, not written: after the
    swap it is the same file, with its inode and modification time.
    """
    root = Path(os.path.abspath(root))
    if root.is_symlink():
        raise WriteError(Problem(str(root), "refusing to write through symlink"))
    if any(part.lower() == ".git" for part in root.parts):
        raise WriteError(Problem(str(root), "refusing to write inside a .git folder"))
    folder = env_folder(root, env)
    try:
        root.mkdir(parents=True, exist_ok=True)
        if recover_leftovers:
            recover(root, env)
        else:
            _refuse_foreign_leftovers(root, env)
            for name in (f".gwpipe-new-{env}", f".gwpipe-old-{env}"):
                if os.path.lexists(root / name):
                    raise WriteError(Problem(str(root / name), "exists and is not this run's; move it away"))
    except OSError as exc:
        raise WriteError(Problem(str(root), f"cannot write: {exc.strerror or exc}")) from None
    for rel in desired:
        parts = rel.split("/")
        if ".." in parts or ".git" in parts or rel.startswith("/"):
            raise WriteError(Problem(rel, "refusing a path that leaves the environment folder"))
    new = root / f".gwpipe-new-{env}"
    same = {rel for rel, data in current.items() if desired.get(rel) == data} if current else set()
    try:
        _write_files(str(new), desired, str(folder), same)
    except OSError as exc:
        shutil.rmtree(new, ignore_errors=True)
        raise WriteError(Problem(str(folder), f"cannot write: {exc.strerror or exc}")) from None


def swap_tree(root: Path, env: str) -> Path:
    """Put the folder `stage_tree` wrote in place of `root/env`, by rename."""
    root = Path(os.path.abspath(root))
    folder = env_folder(root, env)
    new, old = root / f".gwpipe-new-{env}", root / f".gwpipe-old-{env}"
    try:
        if folder.exists():
            os.rename(folder, old)
        os.rename(new, folder)
    except OSError as exc:
        if old.exists() and not folder.exists():
            os.rename(old, folder)
        shutil.rmtree(new, ignore_errors=True)
        raise WriteError(Problem(str(folder), f"cannot write: {exc.strerror or exc}")) from None
    shutil.rmtree(old, ignore_errors=True)
    return folder


def discard_staged(root: Path, env: str) -> None:
    """Remove what `stage_tree` wrote, when the render stops before the swap."""
    shutil.rmtree(Path(os.path.abspath(root)) / f".gwpipe-new-{env}", ignore_errors=True)


def _write_files(
    base: str, files: dict[str, bytes], old: str = "", same: set[str] | frozenset[str] = frozenset()
) -> None:
    """Create `base` and every file below it, folder by folder; where creating a file is slow, on threads.

    Creating a file costs ~10 µs on tmpfs but ~300 µs of kernel time on an ext4 disk (measured on the
    CI machine), and kernel work runs in parallel across threads while Python's does not; so the first
    folder is written alone and timed, and the rest go to a few threads only when files proved slow.
    """
    os.makedirs(base)
    folders: dict[str, list[tuple[str, bytes]]] = {}
    for rel, data in files.items():
        folders.setdefault(rel.rpartition("/")[0], []).append((rel, data))
    batches = list(folders.values())
    if not fast.enabled():
        for batch in batches:
            _write_folder(base, batch, old, same)
        return
    if not batches:
        return
    started = time.perf_counter()
    _write_folder(base, batches[0], old, same)
    slow = (time.perf_counter() - started) / len(batches[0]) > SLOW_FILE_SECONDS
    if slow and len(batches) > 2:
        with ThreadPoolExecutor(FILE_WRITERS) as pool:
            for _done in pool.map(lambda batch: _write_folder(base, batch, old, same), batches[1:]):
                pass  # the first failing folder, in order, raises here
    else:
        for batch in batches[1:]:
            _write_folder(base, batch, old, same)


def _write_folder(
    base: str, batch: list[tuple[str, bytes]], old: str = "", same: set[str] | frozenset[str] = frozenset()
) -> None:
    """Create one folder (just before its first file, so a folder appears as it fills) and write its files.

    Files in `same` are hard links to their twins below `old` (unchanged bytes keep their file).
    """
    folder = batch[0][0].rpartition("/")[0]
    if folder:
        os.makedirs(f"{base}/{folder}", exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    for rel, data in batch:
        if rel in same and _link_unchanged(f"{old}/{rel}", f"{base}/{rel}"):
            continue
        # plain os calls: open()'s buffered file objects cost 4x the time
        fd = os.open(f"{base}/{rel}", flags, 0o666)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)


def _link_unchanged(source: str, target: str) -> bool:
    """Hard-link a file gwpipe wrote before; False (write it instead) for a file linked elsewhere or executable."""
    try:
        info = os.lstat(source)
        # git records the executable bit: such a file is written anew, with the mode gwpipe gives
        if info.st_nlink != 1 or info.st_mode & 0o111 or not stat.S_ISREG(info.st_mode):
            return False
        os.link(source, target, follow_symlinks=False)
    except OSError:  # no hard links here (another file system, a link limit)
        return False
    return True


def restore_tree(root: Path, env: str, previous: dict[str, bytes]) -> None:
    """Put back the files a failed commit replaced (or remove the folder if there were none)."""
    if previous:
        write_tree(root, env, previous)
    else:
        shutil.rmtree(env_folder(Path(os.path.abspath(root)), env), ignore_errors=True)


def write_file_atomically(path: Path, data: bytes, mode: int = 0o644) -> Path:
    """Write one file outside any environment tree: a temporary beside it, fsync, then rename over it."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mkstemp creates 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)  # replaces a symlink itself, never writes through it
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise WriteError(Problem(str(path), f"cannot write: {exc.strerror}")) from None
    return path
