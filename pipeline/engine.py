"""The stages end to end: load, validate, plan, render, check, then write to a folder or commit."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import pluggy
from gwpipe.checks.core import run_checks
from gwpipe.errors import CheckError, PluginError, Problem, SpecError, WriteError
from gwpipe.hooks.manager import call_each, create_manager
from gwpipe.model import Finding, RenderedObject, ResourceRequest, Resources, level_at_least
from gwpipe.parallel import MIN_ITEMS, Pending, start
from gwpipe.render.objects import make_environment, render_requests
from gwpipe.render.readback import object_ref, one_line
from gwpipe.spec.load import Spec, display_path, load_spec
from gwpipe.spec.validate import SpecSchema, build_schema, validate_spec
from gwpipe.tree.moves import guard_move
from gwpipe.tree.write import (
    TreeChange,
    desired_files,
    diff_tree,
    discard_staged,
    guard_deletions,
    read_tree,
    restore_tree,
    stage_tree,
    swap_tree,
    write_tree,
)

if TYPE_CHECKING:
    from gwpipe.git.repo import GitopsRepo


@dataclass
class Options:
    """What a run may do beyond the defaults."""

    templates: list[Path] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    allow_empty: bool = False
    allow_delete: bool = False
    allow_move: bool = False  # let the controller objects sync another folder (hostile-inputs row 72)
    fail_level: str = "Error"


@dataclass
class Bundle:
    """One environment rendered and checked (or being checked: see `settle`), ready to be written."""

    spec: Spec
    objects: list[RenderedObject]
    findings: list[Finding]
    files: dict[str, bytes]
    # checks still running on the other core, and the level at which their findings stop the run
    checks: Pending[list[Finding]] | None = field(default=None, repr=False, compare=False)
    fail_level: str = "Error"

    def settle(self) -> None:
        """Wait for checks still running; findings at the fail level raise CheckError (every time asked)."""
        if self.checks is None:
            return
        findings = self.checks.result()
        blocking = [f for f in findings if level_at_least(f.level, self.fail_level)]
        if blocking:
            raise CheckError(*(Problem(_finding_where(f), f"{f.code} {f.resource}: {f.message}") for f in blocking))
        self.findings, self.checks = findings, None

    def cancel(self) -> None:
        """Stop checks still running (an interrupted run)."""
        if self.checks is not None:
            self.checks.cancel()


@dataclass
class Result:
    """What writing or committing one bundle did."""

    environment: str
    objects: int
    change: TreeChange
    commit: str | None = None
    target: str = ""
    findings: list[Finding] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "objects": self.objects,
            "target": self.target,
            "commit": self.commit,
            "changed": not self.change.empty,
            "added": self.change.added,
            "changed_files": self.change.changed,
            "removed": self.change.removed,
            "findings": [f.as_dict() for f in self.findings],
        }


class Pipeline:
    """A plugin manager, the merged spec schema and a jinja2 environment, shared by every environment."""

    def __init__(self, options: Options | None = None, pm: pluggy.PluginManager | None = None) -> None:
        self.options = options or Options()
        self.pm = pm or create_manager(blocked=self.options.blocked)
        self.schema: SpecSchema = build_schema(self.pm)
        self._environments: dict[tuple[object, ...], jinja2.Environment] = {}

    def load(self, path: str | os.PathLike[str], root: str | os.PathLike[str] | None = None) -> Spec:
        """Load and validate one spec."""
        spec = load_spec(path, root)
        validate_spec(spec, self.schema, self.pm)
        return spec

    def plan(self, spec: Spec) -> Resources:
        """Every plugin's requests, after every plugin's modifications; duplicates are errors."""
        resources = Resources()
        for plugin, requests in call_each(self.pm, "gwpipe_resources", spec=spec):
            if not isinstance(requests, list) or not all(isinstance(r, ResourceRequest) for r in requests):
                raise PluginError(
                    Problem(f"plugin {plugin!r}: gwpipe_resources", "must return a list of ResourceRequest")
                )
            for request in requests:
                resources.add(request)
        call_each(self.pm, "gwpipe_modify_resources", spec=spec, resources=resources)
        if resources.duplicates:
            raise PluginError(
                *(
                    Problem(
                        f"plugin {b.plugin!r}: gwpipe_resources", f"{b.ref} is also produced by plugin {a.plugin!r}"
                    )
                    for a, b in resources.duplicates
                )
            )
        return resources

    def render(self, spec: Spec) -> list[RenderedObject]:
        """Plan and render one validated spec, every document parsed back and matched to its request; no checks.

        Each object's `path` is its final place in the environment folder (its shard, when sharded).
        """
        return self._render_files(spec)[0]

    def _render_files(self, spec: Spec) -> tuple[list[RenderedObject], dict[str, bytes]]:
        resources = self.plan(spec)
        objects = render_requests(spec, list(resources), self._environment(spec))
        return objects, desired_files(objects)  # settles each object's final (shard) path

    def build(self, spec: Spec, defer_checks: bool = False) -> Bundle:
        """Plan, render, parse back and check one validated spec; Error findings raise CheckError.

        With `defer_checks`, a large environment's checks run on the other core while the caller
        prepares the commit; `Bundle.settle()` then waits for them and raises what `build` would have.
        """
        objects, files = self._render_files(spec)
        defer = defer_checks and len(objects) >= MIN_ITEMS
        checks = start(lambda: run_checks(self.pm, spec, objects), fork=defer)
        bundle = Bundle(spec, objects, [], files, checks, self.options.fail_level)
        if not defer:
            bundle.settle()
        return bundle

    def _environment(self, spec: Spec) -> jinja2.Environment:
        """One jinja2 environment per template search path, so templates compile once per run."""
        overrides, folders = self._template_overrides(spec), self._template_folders()
        key = (tuple(overrides), tuple(sorted(folders.items())))
        if key not in self._environments:
            self._environments[key] = make_environment(overrides, folders)
        return self._environments[key]

    def _template_folders(self) -> dict[str, str]:
        folders: dict[str, str] = {}
        for plugin, result in call_each(self.pm, "gwpipe_template_folders"):
            if not isinstance(result, dict | None) or not all(isinstance(v, str) for v in (result or {}).values()):
                where = f"plugin {plugin!r}: gwpipe_template_folders"
                raise PluginError(
                    Problem(where, f"must return a dict of prefix to folder, got {type(result).__name__}")
                )
            folders.update(result or {})
        return folders

    def _template_overrides(self, spec: Spec) -> list[Path]:
        folders = list(self.options.templates)
        if spec.get("templates"):
            folder = spec.resolve_path(("templates",), "template folder")
            if not folder.is_dir():
                raise SpecError(spec.problem(("templates",), "template folder is not a folder"))
            folders.append(folder)
        return folders


def _finding_where(f: Finding) -> str:
    return f"{f.file}:{f.line}" if f.file and f.line else (f.file or f.resource)


def preflight(bundles: list[Bundle], root: Path, options: Options) -> None:
    """Refuse before anything is written when the write of any one environment would be refused."""
    _settle(bundles)
    problems: list[Problem] = []
    for bundle in bundles:
        target = root / bundle.spec.name
        try:
            current = read_tree(target)
            change = diff_tree(current, bundle.files)
            if not change.empty:
                guard_deletions(change, str(target), options.allow_empty, options.allow_delete)
                guard_move(current, bundle.files, str(target), options.allow_move)
        except WriteError as exc:
            problems.extend(exc.problems)
    if problems:
        raise WriteError(*problems)


def write_bundle(bundle: Bundle, root: Path, options: Options) -> Result:
    """Write the bundle under `root/<env>` as plain files (no git)."""
    bundle.settle()
    current = read_tree(root / bundle.spec.name)
    change = diff_tree(current, bundle.files)
    guard_deletions(change, str(root / bundle.spec.name), options.allow_empty, options.allow_delete)
    guard_move(current, bundle.files, str(root / bundle.spec.name), options.allow_move)
    if not change.empty:
        write_tree(root, bundle.spec.name, bundle.files)
    return Result(bundle.spec.name, len(bundle.objects), change, None, str(root / bundle.spec.name), bundle.findings)


def commit_bundle(bundle: Bundle, repo_path: Path, options: Options, create: bool) -> Result:
    """Write one bundle into the GitOps repository and commit it; an unchanged render commits nothing."""
    return commit_bundles([bundle], repo_path, options, create)[0]


def commit_bundles(bundles: list[Bundle], repo_path: Path, options: Options, create: bool) -> list[Result]:
    """Write every bundle into the GitOps repository and commit them together, or nothing at all.

    One commit for the whole run: if any environment is refused or the commit fails, every folder
    already written is put back and nothing stays staged, so a failed command leaves no commit.
    """
    from gwpipe.git.repo import GitopsRepo

    if not (Path(repo_path) / ".git").exists():
        _settle(bundles)  # a run whose checks fail must not create the repository
    try:
        repo = GitopsRepo.open(repo_path, create=create)
        with repo.locked():
            return _commit_locked(repo, bundles, options)
    except CheckError:
        raise
    except Exception:
        _settle(bundles)  # as when checks finished before the commit began: their failure is said first
        raise
    except BaseException:
        for bundle in bundles:
            bundle.cancel()
        raise


def _settle(bundles: list[Bundle]) -> None:
    for bundle in bundles:
        bundle.settle()


def _commit_locked(repo: GitopsRepo, bundles: list[Bundle], options: Options) -> list[Result]:
    from gwpipe.tree.write import recover

    for bundle in bundles:
        recover(repo.path, bundle.spec.name)
    repo.remove_quarantines()
    repo.refuse_unsafe()
    planned = []
    refused: list[Problem] = []
    for bundle in bundles:
        env = bundle.spec.name
        current = read_tree(repo.path / env)
        change = diff_tree(current, bundle.files)
        if not change.empty:
            where = display_path(repo.path / env)
            try:
                guard_deletions(change, where, options.allow_empty, options.allow_delete)
                guard_move(current, bundle.files, where, options.allow_move)
            except WriteError as exc:
                refused.extend(exc.problems)  # every environment's refusal, before anything is written
        planned.append((bundle, current, change))
    if refused:
        raise WriteError(*refused)
    changed = [(b, current, change) for b, current, change in planned if not change.empty]
    sha = None
    if changed:
        staged: list[str] = []
        written: list[tuple[str, dict[str, bytes]]] = []
        message = run_message(changed)
        try:
            # git fast-import builds the commit's objects while the files are written, so `git add`
            # finds every object already stored (one pack instead of one loose object per file)
            with repo.fast_commit({b.spec.name: b.files for b, _c, _ch in changed}, message) as pending:
                for bundle, _current, _change in changed:
                    stage_tree(repo.path, bundle.spec.name, bundle.files)
                    staged.append(bundle.spec.name)
                _settle(bundles)  # checks that ran meanwhile must pass before anything is put in place
                for bundle, current, _change in changed:
                    swap_tree(repo.path, bundle.spec.name)
                    written.append((bundle.spec.name, current))
                sha = repo.commit([env for env, _ in written], message, pending)
        except BaseException:  # an interrupt too: nothing of this run stays in the working tree
            for env in staged:
                discard_staged(repo.path, env)
            for env, current in written:
                repo.unstage(env)
                restore_tree(repo.path, env, current)
            raise
    _settle(bundles)
    return [
        Result(
            b.spec.name, len(b.objects), change, None if change.empty else sha, f"{repo.path}/{b.spec.name}", b.findings
        )
        for b, _current, change in planned
    ]


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
