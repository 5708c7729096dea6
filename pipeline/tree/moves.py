"""Moving an environment (hostile-inputs row 72): controllers repointed at another folder; refused unless allowed.

The environment folder in the GitOps repository is always `<env>`; what moves is the folder the
Argo CD Applications / ApplicationSet and Flux Kustomizations in `<env>/_gitops` point at
(`gitops.path`). Repointing them makes the controllers prune what the old folder applied and
apply it again from the new one, so a render that does it needs `--allow-move`.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from gwpipe.errors import Problem, WriteError
from gwpipe.render.readback import Loader, one_line
from gwpipe.tree.layout import GITOPS_FOLDER, KUSTOMIZATION


@dataclass(frozen=True)
class Move:
    """The environment's controller objects point at `new` instead of `old`; `objects` files exist in both trees."""

    old: str
    new: str
    objects: int

    def what(self) -> str:
        return f"moves {self.objects} objects from {self.old} to {self.new}; this deletes and recreates them in the cluster"


def find_move(previous: dict[str, bytes], desired: dict[str, bytes]) -> Move | None:
    """The move a render makes, if the folder its controller objects sync differs from the committed one."""
    old, new = synced_roots(previous), synced_roots(desired)
    if not old or not new or old == new:
        return None
    kept = _object_identities(previous) & _object_identities(desired)
    if not kept:
        return None
    return Move(one_line(", ".join(sorted(old))), one_line(", ".join(sorted(new))), len(kept))


def guard_move(previous: dict[str, bytes], desired: dict[str, bytes], where: str, allow_move: bool) -> None:
    """Refuse a render that repoints the controllers at another folder, unless `allow_move`."""
    move = None if allow_move else find_move(previous, desired)
    if move is not None:
        raise WriteError(Problem(where, f"render {move.what()}; pass --allow-move"))


def synced_roots(files: dict[str, bytes]) -> set[str]:
    """The folders (without a shard suffix) that the controller objects in `_gitops/` sync."""
    shards = {p.split("/", 1)[0] for p in files if p.count("/") == 1 and p.endswith(f"/{KUSTOMIZATION}")}
    shards.discard(GITOPS_FOLDER)
    roots: set[str] = set()
    for path, data in files.items():
        if not path.startswith(f"{GITOPS_FOLDER}/") or path.endswith(f"/{KUSTOMIZATION}"):
            continue
        for synced in _synced_paths(data):
            head, _, last = synced.strip("/").rpartition("/")
            roots.add(head if head and last in shards else synced.strip("/"))
    return roots


def _synced_paths(data: bytes) -> list[str]:
    """spec.source.path (Application), spec.path (Flux Kustomization), git directories (ApplicationSet)."""
    try:
        doc = yaml.load(data, Loader=Loader)
    except yaml.YAMLError:
        return []
    spec = doc.get("spec") if isinstance(doc, dict) else None
    if not isinstance(spec, dict):
        return []
    kind = doc.get("kind")
    if kind == "Application":
        source = spec.get("source")
        return [str(source["path"])] if isinstance(source, dict) and source.get("path") else []
    if kind == "Kustomization" and spec.get("path"):
        return [str(spec["path"]).removeprefix("./")]
    if kind == "ApplicationSet":
        found = []
        for generator in spec.get("generators") or []:
            git = generator.get("git") if isinstance(generator, dict) else None
            for entry in (git or {}).get("directories") or []:
                if isinstance(entry, dict) and entry.get("path") and not entry.get("exclude"):
                    found.append(str(entry["path"]).removesuffix("/*"))
        return found
    return []


def _object_identities(files: dict[str, bytes]) -> set[str]:
    """`<namespace>/<kind>-<name>.yaml` of every object file outside `_gitops` (a shard change is no move)."""
    return {
        "/".join(p.split("/")[-2:])
        for p in files
        if not p.startswith(f"{GITOPS_FOLDER}/") and p.rsplit("/", 1)[-1] != KUSTOMIZATION
    }
