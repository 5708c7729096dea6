"""What a write changes (added, changed, removed files) and the guards against deleting too much."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pluggy

from gwpipe.errors import Problem, WriteError
from gwpipe.tree.declared import protected_kinds
from gwpipe.tree.layout import KUSTOMIZATION

DELETE_RATIO = 0.5


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


def guard_deletions(
    change: TreeChange, where: str, allow_empty: bool, allow_delete: bool, pm: pluggy.PluginManager | None = None
) -> None:
    """Refuse a render that empties the folder, deletes most of it, or removes an object of a protected kind.

    The protected kinds are those the run's plugins `pm` declare (`gwpipe_protected_kinds`).
    """
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
    if existing and len(objects) / existing > DELETE_RATIO:
        raise WriteError(
            Problem(where, f"render would delete {len(objects)} of {existing} object files: {', '.join(objects[:10])}"),
            Problem(where, "pass --allow-delete to confirm"),
        )
    # object files are named `<kind lower-case>-<name>.yaml` (render.objects.object_path)
    prefixes = tuple(f"{kind.lower()}-" for kind in sorted(protected_kinds(pm)))
    guarded = [p for p in objects if prefixes and Path(p).name.startswith(prefixes)]
    if guarded:
        raise WriteError(Problem(where, f"render would delete {', '.join(guarded)}; pass --allow-delete to confirm"))
