"""Write an environment's tree: one file per object, deletion guards, an atomic swap, no symlinks."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .errors import Problem, WriteError
from .model import RenderedObject

KUSTOMIZATION = "kustomization.yaml"
DELETE_RATIO = 0.5
_GUARDED_KINDS = ("namespace-", "gateway-")


@dataclass
class TreeChange:
    """Files added, changed and removed by a render, as paths relative to the environment folder."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    existing: int = 0

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.removed)


def kustomization(paths: list[str]) -> bytes:
    """A kustomization that lists every object file, so `kubectl kustomize` builds the folder."""
    doc = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": sorted(paths)}
    return yaml.safe_dump(doc, sort_keys=False).encode()


def desired_files(objects: list[RenderedObject]) -> dict[str, bytes]:
    """The exact bytes of every file the environment folder should hold."""
    files = {obj.path: obj.text.encode() for obj in objects}
    files[KUSTOMIZATION] = kustomization(list(files))
    return dict(sorted(files.items()))


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
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        for name in dirnames + filenames:
            full = Path(dirpath) / name
            if full.is_symlink():
                raise WriteError(Problem(str(full), "refusing to write through symlink"))
            if name == ".git":
                raise WriteError(Problem(str(full), "a .git entry inside an environment folder is refused"))
        for name in filenames:
            full = Path(dirpath) / name
            files[full.relative_to(folder).as_posix()] = full.read_bytes()
    return files


def diff_tree(current: dict[str, bytes], desired: dict[str, bytes]) -> TreeChange:
    """What a write would do to `current` to make it `desired`."""
    return TreeChange(
        added=sorted(p for p in desired if p not in current),
        changed=sorted(p for p in desired if p in current and current[p] != desired[p]),
        removed=sorted(p for p in current if p not in desired),
        existing=len(current),
    )


def guard_deletions(change: TreeChange, where: str, allow_empty: bool, allow_delete: bool) -> None:
    """Refuse a render that empties the folder, deletes most of it, or removes a Gateway or Namespace."""
    objects = [p for p in change.removed if p != KUSTOMIZATION]
    existing = change.existing - (1 if change.existing else 0)
    remaining = existing - len(objects) + len([p for p in change.added if p != KUSTOMIZATION])
    if objects and remaining == 0 and not allow_empty:
        raise WriteError(
            Problem(where, f"render would delete all {len(objects)} object files"),
            Problem(where, "refusing to empty an environment; pass --allow-empty if that is intended"),
        )
    if allow_delete or not objects:
        return
    guarded = [p for p in objects if Path(p).name.startswith(_GUARDED_KINDS)]
    if existing and len(objects) / existing > DELETE_RATIO:
        raise WriteError(
            Problem(where, f"render would delete {len(objects)} of {existing} object files: {', '.join(objects[:10])}"),
            Problem(where, "pass --allow-delete to confirm"),
        )
    if guarded:
        raise WriteError(Problem(where, f"render would delete {', '.join(guarded)}; pass --allow-delete to confirm"))


def recover(root: Path, env: str) -> None:
    """Finish or undo a swap that a killed run left half done."""
    old, new, folder = root / f".gwpipe-old-{env}", root / f".gwpipe-new-{env}", root / env
    if old.exists() and not folder.exists():
        os.rename(old, folder)
    for leftover in (old, new):
        if leftover.exists():
            shutil.rmtree(leftover)


def write_tree(root: Path, env: str, desired: dict[str, bytes]) -> Path:
    """Replace `root/env` with exactly `desired`, atomically from a reader's point of view."""
    root = Path(os.path.abspath(root))
    if root.is_symlink():
        raise WriteError(Problem(str(root), "refusing to write through symlink"))
    root.mkdir(parents=True, exist_ok=True)
    folder = env_folder(root, env)
    recover(root, env)
    new, old = root / f".gwpipe-new-{env}", root / f".gwpipe-old-{env}"
    try:
        for rel, data in desired.items():
            if ".." in rel.split("/") or ".git" in rel.split("/") or rel.startswith("/"):
                raise WriteError(Problem(rel, "refusing a path that leaves the environment folder"))
            target = new / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "wb") as handle:
                handle.write(data)
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


def restore_tree(root: Path, env: str, previous: dict[str, bytes]) -> None:
    """Put back the files a failed commit replaced (or remove the folder if there were none)."""
    if previous:
        write_tree(root, env, previous)
    else:
        shutil.rmtree(env_folder(Path(os.path.abspath(root)), env), ignore_errors=True)
