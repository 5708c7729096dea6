"""Write an environment's tree: one file per object in small shards, deletion guards, an atomic swap, no symlinks."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import time
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from gwpipe.errors import Problem, WriteError
from gwpipe.model import RenderedObject, ResourceRequest
from gwpipe.render.objects import object_path

_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's emitter is ~10x faster when present
KUSTOMIZATION = "kustomization.yaml"
DELETE_RATIO = 0.5
_GUARDED_KINDS = ("namespace-", "gateway-")
# kustomize build time grows superlinearly with the resources of one build (0.2 s at 250 objects, 50 s at
# 4000: benchmarks/kustomize_build.py), so a larger environment is split into shards of at most this many
MAX_SHARD_OBJECTS = 250
# Argo CD / Flux objects live here, outside the environment's own kustomization: the controller's
# bootstrap applies this folder, and the objects in it point at the environment (or its shards)
GITOPS_FOLDER = "_gitops"
CONTROLLER_GROUPS = frozenset({"argoproj.io", "source.toolkit.fluxcd.io", "kustomize.toolkit.fluxcd.io"})
# tiers give shards (and Argo CD sync waves / Flux dependsOn) their order: installs, then Gateways, then routes
_TIERS = {"Gateway": 1, "VirtualService": 2, "HTTPRoute": 2, "TLSRoute": 2, "TCPRoute": 2, "GRPCRoute": 2}
_TIER_NAMES = ("base", "gateways", "routes")
# above this many seconds per file created, the remaining folders are written on FILE_WRITERS threads
SLOW_FILE_SECONDS = 50e-6
FILE_WRITERS = 4
_GROUP_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@dataclass
class TreeChange:
    """Files added, changed and removed by a render, as paths relative to the environment folder."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    existing: int = 0
    existing_kustomizations: int = 0

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.removed)


def kustomization(paths: Iterable[str]) -> bytes:
    """A kustomization that lists `paths` (files or shard folders), so `kubectl kustomize` builds the folder."""
    doc = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": sorted(paths)}
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False).encode()


def is_controller(request: ResourceRequest) -> bool:
    """True for Argo CD and Flux objects, which go to the `_gitops` folder, not into the environment."""
    return request.api_version.split("/")[0] in CONTROLLER_GROUPS


def tier_of(request: ResourceRequest) -> int:
    """0 for installs, certificates and everything else, 1 for Gateways, 2 for routes."""
    return _TIERS.get(request.kind, 0)


def shard_tier(folder: str) -> int:
    """The tier of a shard folder (`1-gateways-00` is tier 1); the flat root is tier 0."""
    head = folder.split("-", 1)[0]
    return int(head) if head.isdigit() else 0


def layout(requests: Iterable[ResourceRequest], limit: int = MAX_SHARD_OBJECTS) -> dict[tuple[str, str, str], str]:
    """The folder (relative to the environment) of every request: "" (flat), a shard, or `_gitops`.

    An environment with at most `limit` objects stays flat. A larger one is split by tier, routes
    also by gateway, and any group above `limit` into hash buckets: an object's shard depends only
    on its own identity and the bucket count, so adding a host moves no other object.
    """
    requests = list(requests)
    folders = {r.key: GITOPS_FOLDER for r in requests if is_controller(r)}
    objects = [r for r in requests if not is_controller(r)]
    if len(objects) <= limit:
        folders.update({r.key: "" for r in objects})
        return folders
    groups: dict[tuple[int, str], list[ResourceRequest]] = defaultdict(list)
    for request in objects:
        tier = tier_of(request)
        groups[(tier, _group(request) if tier == 2 else _TIER_NAMES[tier])].append(request)
    for (tier, group), members in groups.items():
        prefix = f"{tier}-{group}" if tier != 2 else f"2-routes-{group}"
        for key, bucket in _buckets(members, limit).items():
            folders[key] = f"{prefix}-{bucket:02d}"
    return folders


def _group(request: ResourceRequest) -> str:
    """The gateway a route is bound to (its first non-mesh gateway by name), or `mesh` / `other`."""
    refs = request.values.get("gateways")
    names = sorted(str(g).rsplit("/", 1)[-1] for g in refs if g != "mesh") if isinstance(refs, list) else []
    if not names:
        return "mesh" if isinstance(refs, list) and refs else "other"
    return names[0] if _GROUP_RE.match(names[0]) and len(names[0]) <= 63 else "other"


def _buckets(members: list[ResourceRequest], limit: int) -> dict[tuple[str, str, str], int]:
    """Hash buckets (a power of two of them) so that none holds more than `limit` objects."""
    digests = {r.key: int(hashlib.sha256("/".join(r.key).encode()).hexdigest(), 16) for r in members}
    count = 1
    while True:
        sizes: dict[int, int] = defaultdict(int)
        for digest in digests.values():
            sizes[digest % count] += 1
        if max(sizes.values()) <= limit:
            return {key: digest % count for key, digest in digests.items()}
        count *= 2


def desired_files(objects: list[RenderedObject]) -> dict[str, bytes]:
    """The exact bytes of every file the environment folder should hold; sets each object's final `path`.

    Besides the object files: a kustomization per folder; the root one lists the objects (flat) or
    the shard folders (sharded), never `_gitops`, which has a kustomization of its own.
    """
    folders = layout(obj.request for obj in objects)
    members: dict[str, list[str]] = defaultdict(list)
    files: dict[str, bytes] = {}
    for obj in objects:
        folder, base = folders[obj.request.key], object_path(obj.request)
        obj.path = f"{folder}/{base}" if folder else base
        members[folder].append(base)
        files[obj.path] = obj.text.encode()
    shards = sorted(f for f in members if f not in ("", GITOPS_FOLDER))
    for folder in shards:
        files[f"{folder}/{KUSTOMIZATION}"] = kustomization(members[folder])
    if GITOPS_FOLDER in members:
        files[f"{GITOPS_FOLDER}/{KUSTOMIZATION}"] = kustomization(members[GITOPS_FOLDER])
    files[KUSTOMIZATION] = kustomization(shards or members[""])
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


def diff_tree(current: dict[str, bytes], desired: dict[str, bytes]) -> TreeChange:
    """What a write would do to `current` to make it `desired`."""
    return TreeChange(
        added=sorted(p for p in desired if p not in current),
        changed=sorted(p for p in desired if p in current and current[p] != desired[p]),
        removed=sorted(p for p in current if p not in desired),
        existing=len(current),
        existing_kustomizations=sum(1 for p in current if not _is_object(p)),
    )


def _is_object(path: str) -> bool:
    return path.rpartition("/")[2] != KUSTOMIZATION  # not Path(path).name: called for every file of a render


def _identity(path: str) -> str:
    """`<namespace>/<kind>-<name>.yaml`: the same object in another shard folder is a move, not a deletion."""
    return "/".join(path.split("/")[-2:])


def guard_deletions(change: TreeChange, where: str, allow_empty: bool, allow_delete: bool) -> None:
    """Refuse a render that empties the folder, deletes most of it, or removes a Gateway or Namespace."""
    kept = {_identity(p) for p in change.added if _is_object(p)}
    objects = [p for p in change.removed if _is_object(p) and _identity(p) not in kept]
    existing = change.existing - change.existing_kustomizations
    remaining = (
        existing
        - len(objects)
        + len([p for p in change.added if _is_object(p)])
        - len([p for p in change.removed if _is_object(p) and _identity(p) in kept])
    )
    if objects and remaining == 0 and not allow_empty:
        raise WriteError(
            Problem(where, f"render would delete all {len(objects)} object files"),
            Problem(where, "refusing to empty an environment; pass --allow-empty if that is intended"),
        )
    # --allow-empty already confirmed deleting everything; asking again for --allow-delete helps no one
    if allow_delete or not objects or (remaining == 0 and allow_empty):
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
    stage_tree(root, env, desired)
    return swap_tree(root, env)


def stage_tree(root: Path, env: str, desired: dict[str, bytes]) -> None:
    """Write `desired` into the staging folder beside `root/env`; nothing in `root/env` changes yet."""
    root = Path(os.path.abspath(root))
    if root.is_symlink():
        raise WriteError(Problem(str(root), "refusing to write through symlink"))
    if any(part.lower() == ".git" for part in root.parts):
        raise WriteError(Problem(str(root), "refusing to write inside a .git folder"))
    folder = env_folder(root, env)
    try:
        root.mkdir(parents=True, exist_ok=True)
        recover(root, env)
    except OSError as exc:
        raise WriteError(Problem(str(root), f"cannot write: {exc.strerror or exc}")) from None
    for rel in desired:
        parts = rel.split("/")
        if ".." in parts or ".git" in parts or rel.startswith("/"):
            raise WriteError(Problem(rel, "refusing a path that leaves the environment folder"))
    new = root / f".gwpipe-new-{env}"
    try:
        _write_files(str(new), desired)
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


def _write_files(base: str, files: dict[str, bytes]) -> None:
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
    if not batches:
        return
    started = time.perf_counter()
    _write_folder(base, batches[0])
    slow = (time.perf_counter() - started) / len(batches[0]) > SLOW_FILE_SECONDS
    if slow and len(batches) > 2:
        with ThreadPoolExecutor(FILE_WRITERS) as pool:
            for _done in pool.map(lambda batch: _write_folder(base, batch), batches[1:]):
                pass  # the first failing folder, in order, raises here
    else:
        for batch in batches[1:]:
            _write_folder(base, batch)


def _write_folder(base: str, batch: list[tuple[str, bytes]]) -> None:
    """Create one folder (just before its first file, so a folder appears as it fills) and write its files."""
    folder = batch[0][0].rpartition("/")[0]
    if folder:
        os.makedirs(f"{base}/{folder}", exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    for rel, data in batch:
        # plain os calls: open()'s buffered file objects cost 4x the time
        fd = os.open(f"{base}/{rel}", flags, 0o666)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)


def restore_tree(root: Path, env: str, previous: dict[str, bytes]) -> None:
    """Put back the files a failed commit replaced (or remove the folder if there were none)."""
    if previous:
        write_tree(root, env, previous)
    else:
        shutil.rmtree(env_folder(Path(os.path.abspath(root)), env), ignore_errors=True)
