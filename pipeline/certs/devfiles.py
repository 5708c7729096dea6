"""Write development keys and certificates to a folder that no git repository can pick up."""

from __future__ import annotations

import os
from pathlib import Path

from gwpipe.errors import Problem, UsageError, WriteError
from gwpipe.tree.files import write_file_atomically


def enclosing_repository(path: Path) -> Path | None:
    """The nearest folder at or above `path` holding `.git` (a folder, or a file for worktrees)."""
    for folder in (path, *path.parents):
        if (folder / ".git").exists():
            return folder
    return None


def refuse_repositories(out: Path, gitops: Path) -> Path:
    """`out` made absolute, or UsageError when it lies in a git repository or the GitOps repository."""
    target = Path(os.path.abspath(out)).resolve()
    repo = Path(os.path.abspath(gitops)).resolve()
    if target == repo or repo in target.parents:
        raise UsageError(
            Problem(
                str(out),
                f"is inside the GitOps repository {repo}; private keys must never enter it",
                "choose a folder outside any git repository, e.g. ~/.gwpipe-dev-certs",
            )
        )
    found = enclosing_repository(target)
    if found is not None:
        raise UsageError(
            Problem(
                str(out),
                f"is inside the git repository {found}; private keys must never enter a repository",
                "choose a folder outside any git repository, e.g. ~/.gwpipe-dev-certs",
            )
        )
    if target.exists() and not target.is_dir():
        raise UsageError(Problem(str(out), "exists and is not a folder"))
    return target


def write_files(folder: Path, files: dict[str, bytes]) -> list[Path]:
    """Write each file atomically; `*.key` files are created 0600 and never exist with wider permissions."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteError(Problem(str(folder), f"cannot create folder: {exc.strerror}")) from None
    if folder.is_symlink() or not folder.is_dir():
        raise WriteError(Problem(str(folder), "is not a folder (symlinks are refused)"))
    written = []
    for name, data in sorted(files.items()):
        mode = 0o600 if name.endswith(".key") else 0o644
        written.append(write_file_atomically(folder / name, data, mode))
    return written
