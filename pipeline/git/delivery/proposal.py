"""Propose one rendered environment: clone, plan, commit on gwpipe/<env>-<hash>, push with a lease, open one PR."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gwpipe.checks.secrets import find_secrets
from gwpipe.engine import Bundle
from gwpipe.errors import CheckError, GitError, Problem, UsageError
from gwpipe.git.delivery import push as pushing
from gwpipe.git.delivery.forge import Forge, ForgeApiError, PullRequest, ensure_pull_request
from gwpipe.git.delivery.remote import (
    check_branch_name,
    marker_ref,
    one_line,
    proposal_branch,
)
from gwpipe.git.message import pull_request_body, pull_request_title
from gwpipe.git.repo import IDENTITY
from gwpipe.routes.behaviour import add_route_changes
from gwpipe.tree.files import read_tree, write_tree
from gwpipe.tree.guards import TreeChange, diff_tree, guard_deletions
from gwpipe.tree.moves import guard_move
from gwpipe.tree.plan import IngressPlan, compute_plan


@dataclass
class Target:
    """Where and how to propose: the remote, the base branch, the forge, the limits."""

    url: str
    shown: str
    base: str
    forge: Forge | None = None
    token: str | None = None
    git_username: str | None = None
    push_to_base: bool = False
    allow_empty: bool = False
    allow_delete: bool = False
    max_clone_mb: int = 512
    attempts: int = 3
    allow_move: bool = False


@dataclass
class Proposal:
    """What proposing one environment did."""

    environment: str
    branch: str
    base: str
    base_sha: str
    status: str
    plan: IngressPlan
    commit: str | None = None
    pushed: bool = False
    pr: PullRequest | None = None
    pr_action: str = ""
    notes: list[str] = field(default_factory=list)
    # a dry run: what would be sent, and the files the commit would add, change and remove
    title: str = ""
    body: str = ""
    files: TreeChange | None = None

    def as_dict(self) -> dict[str, Any]:
        dry_run = {}
        if self.files is not None:
            dry_run = {
                "dry_run": True,
                "title": self.title,
                "body": self.body,
                "files": {"added": self.files.added, "changed": self.files.changed, "removed": self.files.removed},
            }
        return {
            **dry_run,
            "environment": self.environment,
            "status": self.status,
            "branch": self.branch,
            "base": {"branch": self.base, "sha": self.base_sha},
            "commit": self.commit,
            "pushed": self.pushed,
            "pull_request": {"number": self.pr.number, "url": self.pr.url, "action": self.pr_action}
            if self.pr
            else None,
            "counts": self.plan.counts(),
            "changes": [c.as_dict() for c in self.plan.changes],
        }


def commit_text(plan: IngressPlan, limit: int = 50) -> str:
    """A deterministic commit message: environment, counts, each object (capped), the base; one line per item."""
    lines = [one_line(f"{o.action}: {o.ref}") for o in plan.objects if o.path != "kustomization.yaml"]
    shown = lines[:limit] + ([f"... and {len(lines) - limit} more"] if len(lines) > limit else [])
    head = one_line(f"gwpipe: propose {plan.environment} ({plan.summary()})")
    return "\n".join([head, "", *shown, "", f"Base: {plan.base_branch} {plan.base_sha}"]) + "\n"


def refuse_secrets(where: str, **texts: str) -> None:
    """F0 if key material would leave gwpipe in a commit message, PR title or PR body."""
    problems = [
        Problem(where, f"{name.replace('_', ' ')} contains {', '.join(found)}; refusing to send it")
        for name, text in texts.items()
        if (found := find_secrets(text))
    ]
    if problems:
        raise CheckError(*problems)


def propose_bundle(bundle: Bundle, target: Target) -> Proposal:
    """Deliver one bundle; re-runs with the same render change nothing (same branch, same PR, no commit)."""
    env = bundle.spec.name
    branch = proposal_branch(env, bundle.files)
    check_branch_name(target.base, "--base")
    if target.base == branch:
        raise UsageError(Problem(f"{target.shown}/{target.base}", "base and proposal branch are the same"))
    pushed: dict[str, tuple[str | None, str | None]] = {}  # ref -> (before gwpipe, as gwpipe left it)
    for attempt in range(target.attempts):
        with tempfile.TemporaryDirectory(prefix="gwpipe-propose-") as tmp:
            work = Path(tmp)
            env_vars = pushing.git_env(work, target.token, target.git_username)
            clone = pushing.Clone(target.url, target.shown, target.base, work / "clone", env_vars, target.max_clone_mb)
            result = _attempt_once(bundle, target, clone, branch, pushed)
            if result is not None:
                return result
            if attempt == target.attempts - 1:
                _withdraw(clone, pushed, branch)
    base_ref = f"refs/heads/{target.base}"
    raise GitError(
        Problem(
            f"{target.shown}/{target.base}",
            f"base diverged {target.attempts} times while proposing ({base_ref}); re-run",
        )
    )


def dry_run_bundle(bundle: Bundle, target: Target) -> Proposal:
    """What `propose_bundle` would do, from a read-only clone of the base: no commit, no push, no forge call."""
    env = bundle.spec.name
    branch = target.base if target.push_to_base else proposal_branch(env, bundle.files)
    check_branch_name(target.base, "--base")
    with tempfile.TemporaryDirectory(prefix="gwpipe-propose-") as tmp:
        work = Path(tmp)
        env_vars = pushing.git_env(work, target.token, target.git_username)
        clone = pushing.Clone(target.url, target.shown, target.base, work / "clone", env_vars, target.max_clone_mb)
        base_sha = clone.head
        previous = read_tree(clone.path / env)
    plan = _plan(bundle, previous, target.base, base_sha)
    change = diff_tree(previous, bundle.files)
    proposal = Proposal(env, branch, target.base, base_sha, "no changes", plan, files=change)
    if plan.empty:
        return proposal
    where = f"{target.shown}/{branch}"
    guard_deletions(change, where, target.allow_empty, target.allow_delete, bundle.plugins)
    guard_move(previous, bundle.files, where, target.allow_move, bundle.plugins)
    proposal.title, proposal.body = pull_request_title(env, plan), pull_request_body(plan, bundle.files)
    refuse_secrets(
        where, commit_message=commit_text(plan), pull_request_title=proposal.title, pull_request_body=proposal.body
    )
    proposal.status = "dry run"
    return proposal


def _plan(bundle: Bundle, previous: dict[str, bytes], base: str, base_sha: str) -> IngressPlan:
    """The ingress plan of a bundle against the base's folder, reusing the objects the render parsed."""
    parsed = {obj.path: obj.obj for obj in bundle.objects}
    plan = compute_plan(bundle.spec.name, previous, bundle.files, base, base_sha, bundle.plugins, parsed)
    add_route_changes(plan, bundle.spec, previous, bundle.files)
    return plan


def _withdraw(clone: pushing.Clone, pushed: dict[str, tuple[str | None, str | None]], branch: str) -> None:
    """Put back every ref this run pushed (built on a base that moved again): nothing stale stays on the remote."""
    updates = [pushing.RefUpdate(ref, before, ours) for ref, (before, ours) in sorted(pushed.items()) if before != ours]
    if updates:
        pushing.push_with_lease(clone, updates, branch)


def _attempt_once(
    bundle: Bundle,
    target: Target,
    clone: pushing.Clone,
    branch: str,
    pushed: dict[str, tuple[str | None, str | None]],
) -> Proposal | None:
    env = bundle.spec.name
    base_sha = clone.head
    previous = read_tree(clone.path / env)
    plan = _plan(bundle, previous, target.base, base_sha)
    proposal = Proposal(env, branch, target.base, base_sha, "no changes", plan)
    if plan.empty:
        return proposal
    change = diff_tree(previous, bundle.files)
    where = f"{target.shown}/{branch}"
    guard_deletions(change, where, target.allow_empty, target.allow_delete, bundle.plugins)
    guard_move(previous, bundle.files, where, target.allow_move, bundle.plugins)
    message = commit_text(plan)
    title, body = pull_request_title(env, plan), pull_request_body(plan, bundle.files)
    refuse_secrets(where, commit_message=message, pull_request_title=title, pull_request_body=body)
    base_ref = f"refs/heads/{target.base}"
    if target.push_to_base:
        write_tree(clone.path, env, bundle.files)
        proposal.commit = clone.commit(env, message)
        pushing.push_with_lease(clone, [pushing.RefUpdate(base_ref, proposal.commit, base_sha)], target.base, base_ref)
        proposal.pushed, proposal.status, proposal.branch = True, "pushed to base", target.base
        return proposal
    branch_ref, marker = f"refs/heads/{branch}", marker_ref(env)
    remote = clone.remote_refs(branch_ref, marker, base_ref)
    if remote.get(base_ref) != base_sha:
        return None
    existing = remote.get(branch_ref)
    if existing is None or not _is_current(clone, branch_ref, existing, env, bundle.files, base_sha):
        write_tree(clone.path, env, bundle.files)
        proposal.commit = clone.commit(env, message)
        updates = [pushing.RefUpdate(branch_ref, proposal.commit, existing)]
        if remote.get(marker) != proposal.commit:
            updates.append(pushing.RefUpdate(marker, proposal.commit, remote.get(marker)))
        pushing.push_with_lease(clone, updates, branch)
        for update in updates:
            pushed[update.ref] = (pushed.get(update.ref, (update.expected, None))[0], update.new)
        proposal.pushed = True
    if clone.remote_refs(base_ref).get(base_ref) != base_sha:
        return None
    proposal.status = "proposed" if proposal.pushed else "no changes"
    if target.forge is None:
        proposal.notes.append(f"no forge configured; open a pull request for {branch} yourself")
        return proposal
    try:
        proposal.pr, proposal.pr_action = ensure_pull_request(target.forge, branch, target.base, title, body)
    except ForgeApiError as exc:
        what = "; ".join(str(p) for p in exc.problems)
        then = "branch pushed; re-run to open the pull request" if proposal.pushed else "re-run to retry"
        raise ForgeApiError(Problem(where, f"{what} ({then})"), exc.status, exc.payload) from None
    if proposal.pr_action != "unchanged":
        proposal.status = "proposed"
    return proposal


def _is_current(clone: pushing.Clone, ref: str, sha: str, env: str, files: dict[str, bytes], base_sha: str) -> bool:
    """The remote branch already holds exactly this render on top of the current base."""
    if clone.fetch(ref) != sha:
        return False
    author = clone.author_of(sha)
    if author != IDENTITY["GIT_AUTHOR_EMAIL"]:
        branch = ref.removeprefix("refs/heads/")
        raise GitError(
            Problem(
                f"{clone.shown}/{branch}",
                f"branch holds commit {sha} by {author!r}, not by gwpipe; refusing to replace it",
            )
        )
    return clone.parent_of(sha) == base_sha and clone.files_at(sha, env) == files
