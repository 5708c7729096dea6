"""Where each object goes in an environment folder: flat or sharded by tier, side folders, kustomizations."""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable

from gwpipe.model import ROUTES_TIER, TIERS, RenderedObject, ResourceRequest

KUSTOMIZATION = "kustomization.yaml"


# kustomize build time grows superlinearly with the resources of one build (0.2 s at 250 objects, 50 s at
# 4000: benchmarks/kustomize_build.py), so a larger environment is split into shards of at most this many
MAX_SHARD_OBJECTS = 250


_GROUP_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def object_path(request: ResourceRequest) -> str:
    """One file per object, with a stable name: `<namespace>/<kind>-<name>.yaml`."""
    folder = request.namespace or "_cluster"
    return f"{folder}/{request.kind.lower()}-{request.name}.yaml"


def kustomization(paths: Iterable[str]) -> bytes:
    """A kustomization that lists `paths` (files or shard folders), so `kubectl kustomize` builds the folder."""
    doc = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": sorted(paths)}
    import yaml  # only when files are written: `gwpipe --help` loads this module through the gitops plugin

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's emitter is ~10x faster when present
    return yaml.dump(doc, Dumper=dumper, sort_keys=False).encode()


def is_side_folder(folder: str) -> bool:
    """A top-level folder of its own (a request's `placement.folder`), outside the environment's kustomization."""
    return folder.startswith("_") and "/" not in folder


def side_folders(files: Iterable[str]) -> set[str]:
    """The side folders of a written tree: top-level `_name` folders with a kustomization of their own.

    `_cluster` (cluster-scoped objects of a flat environment) starts with "_" too, but never has one.
    """
    tops = {p.split("/", 1)[0] for p in files if p.count("/") == 1 and p.endswith(f"/{KUSTOMIZATION}")}
    return {top for top in tops if is_side_folder(top)}


def shard_tier(folder: str) -> int:
    """The tier of a shard folder (`1-gateways-00` is tier 1); the flat root is tier 0."""
    head = folder.split("-", 1)[0]
    return int(head) if head.isdigit() else 0


def layout(requests: Iterable[ResourceRequest], limit: int = MAX_SHARD_OBJECTS) -> dict[tuple[str, str, str], str]:
    """The folder (relative to the environment) of every request: "" (flat), a shard, or its side folder.

    An environment with at most `limit` objects stays flat. A larger one is split by tier, routes
    also by their group, and any group above `limit` into hash buckets: an object's shard depends
    only on its own identity and the bucket count, so adding a host moves no other object.
    """
    requests = list(requests)
    folders = {r.key: r.placement.folder for r in requests if r.placement.folder}
    objects = [r for r in requests if not r.placement.folder]
    if len(objects) <= limit:
        folders.update({r.key: "" for r in objects})
        return folders
    groups: dict[tuple[int, str], list[ResourceRequest]] = defaultdict(list)
    for request in objects:
        tier = request.placement.tier
        groups[(tier, _group(request) if tier == ROUTES_TIER else "")].append(request)
    for (tier, group), members in groups.items():
        prefix = f"{tier}-{TIERS[tier]}" + (f"-{group}" if group else "")
        for key, bucket in _buckets(members, limit).items():
            folders[key] = f"{prefix}-{bucket:02d}"
    return folders


def environment_folders(requests: Iterable[ResourceRequest]) -> list[str]:
    """The folders of the environment's own tree, sorted: its shards, or [""] when it is flat."""
    return sorted({f for f in layout(requests).values() if not is_side_folder(f)}) or [""]


def _group(request: ResourceRequest) -> str:
    """The route's declared group when it can name a folder, else `other`."""
    group = request.placement.group
    return group if group and _GROUP_RE.match(group) and len(group) <= 63 else "other"


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
    the shard folders (sharded), never a side folder, which has a kustomization of its own.
    """
    folders = layout(obj.request for obj in objects)
    members: dict[str, list[str]] = defaultdict(list)
    files: dict[str, bytes] = {}
    for obj in objects:
        folder, base = folders[obj.request.key], object_path(obj.request)
        obj.path = f"{folder}/{base}" if folder else base
        members[folder].append(base)
        files[obj.path] = obj.text.encode()
    for folder in sorted(f for f in members if f):
        files[f"{folder}/{KUSTOMIZATION}"] = kustomization(members[folder])
    shards = sorted(f for f in members if f and not is_side_folder(f))
    files[KUSTOMIZATION] = kustomization(shards or members[""])
    return dict(sorted(files.items()))
