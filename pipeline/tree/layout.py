"""Where each object goes in an environment folder: flat or sharded by tier, `_gitops`, kustomizations."""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable

import yaml

from gwpipe.model import RenderedObject, ResourceRequest
from gwpipe.render.objects import object_path

_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's emitter is ~10x faster when present


KUSTOMIZATION = "kustomization.yaml"


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


_GROUP_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


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
