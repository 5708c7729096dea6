"""Commit rendered environments into the GitOps repository: one commit per run, or nothing at all."""

from __future__ import annotations

import os
import sys
from contextlib import suppress
from pathlib import Path
from typing import Any

from gwpipe import fast
from gwpipe.engine import Bundle, Options, PendingChecks, Result, Run
from gwpipe.errors import CheckError, GitError, Problem, WriteError
from gwpipe.git.message import run_message
from gwpipe.git.recovery import DEFAULT_LOCK_TIMEOUT, clear_journal, recover_run, write_journal
from gwpipe.git.repo import GitopsRepo
from gwpipe.git.safety import refuse_foreign
from gwpipe.incremental import Inputs
from gwpipe.parallel import MIN_ITEMS
from gwpipe.record import Rendered, record_rendered
from gwpipe.spec.load import display_path
from gwpipe.tree.files import discard_staged, read_tree, restore_tree, stage_tree, swap_tree
from gwpipe.tree.guards import TreeChange, diff_tree, guard_deletions
from gwpipe.tree.moves import guard_move


def commit_bundle(bundle: Bundle, repo_path: Path, options: Options, create: bool) -> Result:
    """Write one bundle into the GitOps repository and commit it; an unchanged render commits nothing."""
    return commit_bundles([bundle], repo_path, options, create)[0]


def commit_bundles(
    bundles: list[Bundle], repo_path: Path, options: Options, create: bool, lock_timeout: float = DEFAULT_LOCK_TIMEOUT
) -> list[Result]:
    """Write every bundle into the GitOps repository and commit them together, or nothing at all.

    One commit for the whole run: if any environment is refused or the commit fails, every folder
    already written is put back and nothing stays staged, so a failed command leaves no commit.
    """
    return _commit(bundles, None, repo_path, options, create, lock_timeout)


def commit_run(
    run: Run, repo_path: Path, options: Options, create: bool, lock_timeout: float = DEFAULT_LOCK_TIMEOUT
) -> list[Result]:
    """`commit_bundles` of every environment of `run`, checking the last one while its commit is staged.

    A large last environment's checks run on the other core meanwhile; they settle before anything
    is put in place, and their failure is said before any refusal of the commit, as if they had run
    first. With GWPIPE_FAST=0 every check runs first, in this process.
    """
    last = run.unchecked
    if last is None or not fast.enabled() or len(last.objects) < MIN_ITEMS:
        results = _commit(run.bundles(), None, repo_path, options, create, lock_timeout, run)
    else:
        checks = run.pipeline.start_checks(last)
        results = _commit([*run.checked, last], checks, repo_path, options, create, lock_timeout, run)
    freshness = run.freshness
    skipped = [
        Result(
            name,
            freshness.objects(name) if freshness else 0,
            TreeChange(),
            None,
            f"{Path(os.path.abspath(repo_path))}/{name}",
            freshness.findings(name) if freshness else [],
            skipped=True,
        )
        for name in run.skipped
    ]
    return _in_order(results + skipped, run)


def _commit(
    bundles: list[Bundle],
    checks: PendingChecks | None,
    repo_path: Path,
    options: Options,
    create: bool,
    lock_timeout: float,
    run: Run | None = None,
) -> list[Result]:
    """Commit `bundles`; `checks`, when given, are the last bundle's, still running; `run` holds what was skipped."""

    def settle() -> None:
        if checks is not None:
            checks.settle()

    if not (Path(repo_path) / ".git").exists():
        settle()  # a run whose checks fail must not create the repository
    import git

    try:
        with GitopsRepo.open_locked(repo_path, create, lock_timeout) as repo:
            try:
                results = _commit_locked(repo, bundles, checks, options, run)
                if run is not None and run.freshness is not None:
                    _record(repo, bundles, results, run.loaded)
                return results
            except git.GitCommandError as exc:
                raise repo.failure(exc) from None
            except OSError as exc:  # a full disk or a file-size limit while gwpipe itself writes
                raise WriteError(Problem(str(repo.path), f"cannot write: {exc.strerror or exc}")) from None
    except CheckError:
        raise
    except Exception:
        settle()  # as when checks finished before the commit began: their failure is said first
        raise
    except BaseException:
        if checks is not None:
            checks.cancel()
        raise


def _commit_locked(
    repo: GitopsRepo, bundles: list[Bundle], checks: PendingChecks | None, options: Options, run: Run | None = None
) -> list[Result]:
    repo.refuse_sequencer()  # before recovery: a rebase's working tree is not ours to restore
    recovered = recover_run(repo)
    if recovered:
        print(f"gwpipe: {repo.path}: {recovered}", file=sys.stderr, flush=True)
    repo.remove_quarantines()
    repo.refuse_unsafe()
    if run is not None:
        _refuse_moved_head(repo, run)
    planned = []
    refused: list[Problem] = []
    for bundle in bundles:
        env = bundle.spec.name
        current = read_tree(repo.path / env)
        change = diff_tree(current, bundle.files)
        if not change.empty:
            where = display_path(repo.path / env)
            try:
                guard_deletions(change, where, options.allow_empty, options.allow_delete, bundle.plugins)
                guard_move(current, bundle.files, where, options.allow_move, bundle.plugins)
            except WriteError as exc:
                refused.extend(exc.problems)  # every environment's refusal, before anything is written
        planned.append((bundle, current, change))
    if refused:
        raise WriteError(*refused)
    changed = [(b, current, change) for b, current, change in planned if not change.empty]
    sha = None
    if changed:
        refuse_foreign(repo, {b.spec.name: b.files for b, _c, _ch in changed})
        sha = _write_changed(repo, changed, checks)
    if checks is not None:
        settled = checks.settle()
        planned = [(settled if b is checks.bundle else b, current, change) for b, current, change in planned]
    return [
        Result(
            b.spec.name, len(b.objects), change, None if change.empty else sha, f"{repo.path}/{b.spec.name}", b.findings
        )
        for b, _current, change in planned
    ]


def _refuse_moved_head(repo: GitopsRepo, run: Run) -> None:
    """Raise when an environment the run skipped no longer holds, at HEAD, the tree found before rendering."""
    if run.freshness is None or not run.skipped:
        return
    if not run.freshness.still_current(repo.head_commit(), run.skipped):
        raise GitError(Problem(str(repo.path), "the repository changed while this run rendered; run the command again"))


def _record(repo: GitopsRepo, bundles: list[Bundle], results: list[Result], loaded: dict[str, Inputs]) -> None:
    """Record each rendered environment's inputs and findings against the tree its folder now holds at HEAD.

    The commit has landed: a failure here only costs renders later (the record keeps older entries,
    whose tree ids no longer match what changed), so it never fails the run.
    """
    import git

    findings = {r.environment: r.findings for r in results}  # settled: the last bundle's checks may have run late
    rendered = {b.spec.name: Rendered(b.inputs, len(b.objects), findings.get(b.spec.name, [])) for b in bundles}
    with suppress(git.GitCommandError, OSError):
        record_rendered(repo.git, Path(repo.repo.git_dir), repo.head_commit(), rendered, loaded)


def _in_order(results: list[Result], run: Run) -> list[Result]:
    """Results in the order the environments were named (skipped ones among them)."""
    order = {name: i for i, name in enumerate(run.order)}
    return sorted(results, key=lambda r: order.get(r.environment, len(order)))


def _write_changed(
    repo: GitopsRepo, changed: list[tuple[Bundle, dict[str, bytes], Any]], checks: PendingChecks | None
) -> str | None:
    """Write and commit the changed environments; on any failure put every folder back and unstage it.

    The journal names the folders before the first is touched: if this process is killed, the next
    run knows they hold half-done work of gwpipe's and restores them.
    """
    git_dir = Path(repo.repo.git_dir)
    write_journal(git_dir, [b.spec.name for b, _c, _ch in changed], repo.head_commit())
    staged: list[str] = []
    written: list[tuple[str, dict[str, bytes]]] = []
    message = run_message(changed)
    try:
        # git fast-import builds the commit's objects while the files are written, so `git add`
        # finds every object already stored (one pack instead of one loose object per file)
        with repo.fast_commit({b.spec.name: b.files for b, _c, _ch in changed}, message) as pending:
            for bundle, current, _change in changed:
                stage_tree(repo.path, bundle.spec.name, bundle.files, recover_leftovers=False, current=current)
                staged.append(bundle.spec.name)
            if checks is not None:  # checks that ran meanwhile must pass before anything is put in place
                checks.settle()
            for bundle, current, _change in changed:
                swap_tree(repo.path, bundle.spec.name)
                written.append((bundle.spec.name, current))
            sha = repo.commit([env for env, _ in written], message, pending)
    except BaseException as failure:  # an interrupt too: nothing of this run stays in the working tree
        try:
            for env in staged:
                discard_staged(repo.path, env)
            for env, current in written:
                repo.unstage(env)
                restore_tree(repo.path, env, current)
        except Exception:  # noqa: BLE001 - the first failure is the one to report
            # the journal stays, so the next run restores the rest
            raise failure from None
        clear_journal(git_dir)
        raise
    clear_journal(git_dir)
    return sha
