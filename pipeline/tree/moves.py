"""Moving an environment: controllers repointed at another folder; refused unless allowed.

The environment folder in the GitOps repository is always `<env>`; what moves is the folder the
controller objects in its side folders point at (the gitops plugin's `gitops.path`), as their
plugins tell through `gwpipe_synced_folders`. Repointing them makes the controllers prune what the
old folder applied and apply it again from the new one, so a render that does it needs `--allow-move`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pluggy

from gwpipe.errors import Problem, WriteError
from gwpipe.render.readback import one_line
from gwpipe.tree.declared import synced_folders
from gwpipe.tree.layout import KUSTOMIZATION, side_folders


@dataclass(frozen=True)
class Move:
    """The environment's controller objects point at `new` instead of `old`; `objects` files exist in both trees."""

    old: str
    new: str
    objects: int

    def what(self) -> str:
        return f"moves {self.objects} objects from {self.old} to {self.new}; this deletes and recreates them in the cluster"


def find_move(
    previous: dict[str, bytes], desired: dict[str, bytes], pm: pluggy.PluginManager | None = None
) -> Move | None:
    """The move a render makes, if the folder its controller objects sync differs from the committed one."""
    old, new = synced_roots(previous, pm), synced_roots(desired, pm)
    if not old or not new or old == new:
        return None
    kept = _object_identities(previous) & _object_identities(desired)
    if not kept:
        return None
    return Move(one_line(", ".join(sorted(old))), one_line(", ".join(sorted(new))), len(kept))


def guard_move(
    previous: dict[str, bytes],
    desired: dict[str, bytes],
    where: str,
    allow_move: bool,
    pm: pluggy.PluginManager | None = None,
) -> None:
    """Refuse a render that repoints the controllers at another folder, unless `allow_move`."""
    move = None if allow_move else find_move(previous, desired, pm)
    if move is not None:
        raise WriteError(Problem(where, f"render {move.what()}; pass --allow-move"))


def synced_roots(files: dict[str, bytes], pm: pluggy.PluginManager | None = None) -> set[str]:
    """The folders (without a shard suffix) that the controller objects of the tree sync."""
    shards = {p.split("/", 1)[0] for p in files if p.count("/") == 1 and p.endswith(f"/{KUSTOMIZATION}")}
    shards -= side_folders(files)
    roots: set[str] = set()
    for synced in synced_folders(files, pm):
        head, _, last = synced.strip("/").rpartition("/")
        roots.add(head if head and last in shards else synced.strip("/"))
    return roots


def _object_identities(files: dict[str, bytes]) -> set[str]:
    """`<namespace>/<kind>-<name>.yaml` of every object file outside side folders (a shard change is no move)."""
    sides = side_folders(files)
    return {
        "/".join(p.split("/")[-2:])
        for p in files
        if p.split("/", 1)[0] not in sides and p.rsplit("/", 1)[-1] != KUSTOMIZATION
    }
