"""The ingress plan (`gwpipe plan`, pull-request bodies): what a render changes for traffic, Atlantis style.

Only files whose bytes differ are read and compared: an unchanged file holds the same facts on both
sides. The new side comes parsed from the render when the caller passes its objects.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

import pluggy

from gwpipe.render.readback import one_line
from gwpipe.tree.layout import KUSTOMIZATION
from gwpipe.tree.moves import find_move
from gwpipe.tree.plan.facts import Facts, Parts, object_facts
from gwpipe.tree.plan.fields import field_changes
from gwpipe.tree.plan.model import CATEGORIES, COMMENT_LIMIT, SIGNS, TITLES, Change, IngressPlan, ObjectChange
from gwpipe.tree.plan.reading import read_objects, ref_of

__all__ = [
    "CATEGORIES",
    "COMMENT_LIMIT",
    "SIGNS",
    "TITLES",
    "Change",
    "IngressPlan",
    "ObjectChange",
    "compute_plan",
]
_Object = dict[str, Any]


def compute_plan(
    environment: str,
    previous: Mapping[str, bytes],
    desired: Mapping[str, bytes],
    base_branch: str | None = None,
    base_sha: str | None = None,
    pm: pluggy.PluginManager | None = None,
    parsed: Mapping[str, _Object] | None = None,
) -> IngressPlan:
    """Compare the environment folder's files before and after a render (`pm`: the run's plugins).

    `parsed`: the render's objects by path, as read back from exactly the bytes in `desired`.
    """
    differing = [p for p in sorted(set(previous) | set(desired)) if previous.get(p) != desired.get(p)]
    if not differing:
        return IngressPlan(environment, [], [], base_branch, base_sha, [])
    old = read_objects({p: previous[p] for p in differing if p in previous})
    given = parsed or {}
    new: dict[str, _Object | None] = {p: given[p] for p in differing if p in given and p in desired}
    new.update(read_objects({p: desired[p] for p in differing if p in desired and p not in new}))
    objects = [
        _object_change(environment, path, previous.get(path), desired.get(path), old.get(path), new.get(path))
        for path in differing
    ]
    changes = _changes(old, new)
    move = find_move(dict(previous), dict(desired), pm)
    warnings = [one_line(f"{move.what()} (render needs --allow-move)")] if move else []
    return IngressPlan(environment, changes, objects, base_branch, base_sha, warnings)


def _object_change(
    environment: str, path: str, old: bytes | None, new: bytes | None, old_obj: _Object | None, new_obj: _Object | None
) -> ObjectChange:
    action = "added" if old is None else "removed" if new is None else "changed"
    ref = ref_of(new_obj if new is not None else old_obj, path)
    diff = "".join(
        difflib.unified_diff(
            _lines(old),
            _lines(new),
            fromfile=f"a/{environment}/{path}" if old is not None else "/dev/null",
            tofile=f"b/{environment}/{path}" if new is not None else "/dev/null",
        )
    )
    return ObjectChange(ref, path, action, diff)


def _lines(data: bytes | None) -> list[str]:
    if data is None:
        return []
    text = data.decode("utf-8", errors="replace")
    return [line if line.endswith("\n") else line + "\n" for line in text.splitlines(keepends=True)]


def _changes(old: Mapping[str, _Object | None], new: Mapping[str, _Object | None]) -> list[Change]:
    """Semantic changes of the differing files: paired by path, then by `Kind namespace/name` (a moved file)."""
    out: list[Change] = []
    for ref, before, after, both in _pairs(old, new):
        out.extend(_object_changes(ref, before, after, both))
    return sorted(out, key=lambda c: (CATEGORIES.index(c.category), c.subject))


def _pairs(
    old: Mapping[str, _Object | None], new: Mapping[str, _Object | None]
) -> list[tuple[str, _Object | None, _Object | None, bool]]:
    def listed(path: str) -> bool:
        return path.rsplit("/", 1)[-1] != KUSTOMIZATION  # it lists files: the object list shows what it adds or drops

    pairs = [(ref_of(new[p] or old[p], p), old[p], new[p], True) for p in sorted(set(old) & set(new)) if listed(p)]
    gone = {ref_of(old[p], p): old[p] for p in sorted(set(old) - set(new)) if listed(p)}
    came = {ref_of(new[p], p): new[p] for p in sorted(set(new) - set(old)) if listed(p)}
    pairs += [(ref, gone.get(ref), came.get(ref), ref in gone and ref in came) for ref in sorted(set(gone) | set(came))]
    return pairs


def _object_changes(ref: str, old: _Object | None, new: _Object | None, both: bool) -> list[Change]:
    """The changes of one object; an object in both trees always gets at least one."""
    facts_old, facts_new = Facts(), Facts()
    if old is not None:
        object_facts(ref, old, facts_old)
    if new is not None:
        object_facts(ref, new, facts_new)
    changes = _compare(facts_old, facts_new)
    if not both:
        return changes
    if old is None or new is None:
        return [*changes, Change("fields", "changed", ref, detail="not a YAML mapping on one side; see the diff")]
    fields = field_changes(old, new) or ([] if changes else field_changes(old, new, everything=True))
    changes += [_field_change(ref, path, before, after) for path, before, after in fields]
    if not changes:
        changes.append(Change("fields", "changed", ref, detail="same values, different text (formatting or comments)"))
    return changes


def _field_change(ref: str, path: str, before: str | None, after: str | None) -> Change:
    subject = one_line(f"{ref} {path}")
    if before is None:
        return Change("fields", "added", subject, "", one_line(after or ""))
    if after is None:
        return Change("fields", "removed", subject, one_line(before), "")
    return Change("fields", "changed", subject, one_line(before), one_line(after))


def _compare(old: Facts, new: Facts) -> list[Change]:
    out = []
    for key in set(old.values) | set(new.values):
        anchor = old.anchors.get(key) or new.anchors.get(key)
        if anchor is not None and (anchor not in old.values or anchor not in new.values):
            continue  # a detail of a part added or removed as a whole

        category, subject = key[0], one_line(key[1])
        before = None if key not in old.values else one_line(old.values[key])
        after = None if key not in new.values else one_line(new.values[key])
        if before == after:
            continue
        if before is None:
            out.append(Change(category, "added", subject, "", after or ""))
        elif after is None:
            out.append(Change(category, "removed", subject, before, ""))
        else:
            detail = _parts_detail(old.parts.get(key), new.parts.get(key))
            out.append(Change(category, "changed", subject, before, after, one_line(detail)))
    return out


def _parts_detail(old: Parts | None, new: Parts | None) -> str:
    """`api-v1 95→90, api-v2 5→10` when the same parts changed values; else nothing (before and after say it)."""
    if not old or not new or [label for label, _ in old] != [label for label, _ in new]:
        return ""
    return ", ".join(
        f"{label} {a or '-'}→{b or '-'}" if a != b else (f"{label} {a}" if a else label)
        for (label, a), (_, b) in zip(old, new, strict=True)
    )
