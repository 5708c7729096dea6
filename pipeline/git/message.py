"""Commit messages: deterministic, naming the environment and every changed object (capped)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gwpipe.render.readback import object_ref, one_line
from gwpipe.tree.guards import TreeChange

if TYPE_CHECKING:
    from gwpipe.engine import Bundle
    from gwpipe.tree.plan import IngressPlan


def run_message(changed: list[tuple[Bundle, dict[str, bytes], TreeChange]]) -> str:
    """The commit message of a run: one environment's own message, or each environment's lines under a joint subject."""
    if len(changed) == 1:
        bundle, current, change = changed[0]
        return commit_message(bundle.spec.name, change, bundle, current)
    totals = [sum(len(getattr(c, verb)) for _b, _p, c in changed) for verb in ("added", "changed", "removed")]
    names = ", ".join(b.spec.name for b, _p, _c in changed)
    body: list[str] = []
    for bundle, current, change in changed:
        lines = commit_message(bundle.spec.name, change, bundle, current).split("\n\n", 1)[1]
        body.extend(f"{bundle.spec.name}: {line}" for line in lines.splitlines())
    return (
        f"gwpipe: render {names} ({totals[0]} added, {totals[1]} changed, {totals[2]} removed)\n\n"
        + "\n".join(body)
        + "\n"
    )


def commit_message(env: str, change: TreeChange, bundle: Bundle, previous: dict[str, bytes], limit: int = 50) -> str:
    """A deterministic message naming the environment and every changed object (capped)."""
    by_path = {obj.path: obj.ref for obj in bundle.objects}
    lines = []
    for verb, paths in (("added", change.added), ("changed", change.changed), ("removed", change.removed)):
        for path in paths:
            ref = by_path.get(path) or _ref_of(previous.get(path, b""), path)
            if ref:
                lines.append(f"{verb}: {one_line(ref)}")
    shown = lines[:limit]
    if len(lines) > limit:
        shown.append(f"... and {len(lines) - limit} more")
    summary = f"{len(change.added)} added, {len(change.changed)} changed, {len(change.removed)} removed"
    return f"gwpipe: render {env} ({summary})\n\n" + "\n".join(shown) + "\n"


def _ref_of(data: bytes, path: str) -> str | None:
    """The object an old file held, for the commit message; None for a kustomization."""
    if not path.endswith(".yaml") or path.rsplit("/", 1)[-1] == "kustomization.yaml":
        return None
    return object_ref(data, path)


def pull_request_title(env: str, plan: IngressPlan) -> str:
    """The pull request's title: the environment and the plan's counts, on one line."""
    from gwpipe.git.delivery.remote import one_line as capped_line

    return capped_line(f"gwpipe: {env} ({plan.summary()})", limit=200)


def pull_request_body(plan: IngressPlan, files: dict[str, bytes]) -> str:
    """The pull request's body, as `propose` sends it and `plan -o markdown` prints it.

    The ingress plan in markdown, then the branch, base and tree it was computed for, under GitHub's
    body limit.
    """
    from gwpipe.git.delivery.remote import clean_message, proposal_branch, tree_hash
    from gwpipe.tree.plan import COMMENT_LIMIT

    branch = proposal_branch(plan.environment, files)
    # a plan of a folder that is no git checkout has no base to name
    base = f" against `{plan.base_branch}` at `{plan.base_sha}`" if plan.base_branch and plan.base_sha else ""
    footer = (
        f"\n---\nProposed by gwpipe: branch `{branch}`{base}.\n"
        f"<!-- gwpipe: environment={plan.environment} base={plan.base_sha} tree={tree_hash(files)} -->\n"
    )
    return clean_message(plan.to_markdown(limit=COMMENT_LIMIT - len(footer) - 100) + footer)
