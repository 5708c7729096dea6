"""The stages end to end: load, validate, plan, render and check; then write to a plain folder (commits: git.commit)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import jinja2
import pluggy

from gwpipe.checks.core import run_checks
from gwpipe.errors import CheckError, PluginError, Problem, SpecError, WriteError
from gwpipe.hooks.manager import create_manager
from gwpipe.incremental import Inputs
from gwpipe.model import Finding, RenderedObject, Resources, level_at_least
from gwpipe.parallel import Pending, start
from gwpipe.record import Freshness
from gwpipe.render.environment import make_environment
from gwpipe.render.objects import render_requests
from gwpipe.spec.load import Spec, load_spec
from gwpipe.spec.validate import SpecSchema, build_schema, validate_spec
from gwpipe.tree.files import read_tree, write_tree
from gwpipe.tree.guards import TreeChange, diff_tree, guard_deletions
from gwpipe.tree.layout import desired_files
from gwpipe.tree.moves import guard_move


@dataclass
class Options:
    """What a run may do beyond the defaults."""

    templates: list[Path] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    allow_empty: bool = False
    allow_delete: bool = False
    allow_move: bool = False  # let the controller objects sync another folder
    fail_level: str = "Error"
    variables: dict[str, str] = field(default_factory=dict)  # `--var NAME=VALUE`: override the specs' vars


@dataclass
class Bundle:
    """One environment rendered and checked, ready to be written (`Pipeline.prepare`: not yet checked)."""

    spec: Spec
    objects: list[RenderedObject]
    findings: list[Finding]
    files: dict[str, bytes]
    # the run's plugins: the write guards ask them what the trees hold (protected kinds, synced folders)
    plugins: pluggy.PluginManager | None = field(default=None, repr=False, compare=False)
    # the digests of everything the files depend on (gwpipe.incremental); None when not known
    inputs: Inputs | None = field(default=None, compare=False)


class PendingChecks:
    """One bundle's checks, running on the other core while the run goes on; held by the run, not the bundle."""

    def __init__(self, bundle: Bundle, checks: Pending[list[Finding]], fail_level: str) -> None:
        self.bundle = bundle
        self._checks = checks
        self._fail_level = fail_level

    def settle(self) -> Bundle:
        """The bundle with its findings, once the checks are done; findings at the fail level raise CheckError.

        Asked again, it gives the same findings or raises the same error, without waiting again.
        """
        return replace(self.bundle, findings=_passed(self._checks.result(), self._fail_level))

    def cancel(self) -> None:
        """Stop the checks (an interrupted run)."""
        self._checks.cancel()


class Run:
    """The environments of one command, built in the order given.

    Each environment's checks run before the next one is loaded, so a run reports the first problem in
    that order; the last one's checks are left to whoever puts the run in place: `bundles()` runs them
    here, and a commit may run them on the other core while it is staged (`gwpipe.git.commit.commit_run`).
    """

    def __init__(self, pipeline: Pipeline, freshness: Freshness | None = None) -> None:
        self.pipeline = pipeline
        self.checked: list[Bundle] = []
        self.unchecked: Bundle | None = None
        # with `freshness`, environments whose inputs are those of their committed tree are not rendered
        self.freshness = freshness
        self.skipped: list[str] = []
        # skipped after loading (the files it read changed, its data did not): what the load read
        self.loaded: dict[str, Inputs] = {}
        self.order: list[str] = []  # every environment's name, skipped or not, as added

    def add(self, path: str | os.PathLike[str], root: str | os.PathLike[str] | None = None) -> None:
        """Load, validate and render one more environment (after checking the one added before).

        An environment whose recorded inputs are unchanged is skipped, unloaded when the files its last
        load read are unchanged too.
        """
        self._check_unchecked()
        if self.freshness is not None:
            unchanged = self.freshness.unchanged(self.pipeline, path, root)
            if unchanged is not None:
                self.order.append(unchanged)
                self.skipped.append(unchanged)
                return
        spec = self.pipeline.load(path, root)
        self.order.append(spec.name)
        inputs = None
        if self.freshness is not None:
            up_to_date, inputs = self.freshness.is_up_to_date(self.pipeline, spec)
            if up_to_date and inputs is not None:
                self.skipped.append(spec.name)
                self.loaded[spec.name] = inputs
                return
        self.unchecked = replace(self.pipeline.prepare(spec), inputs=inputs)

    def bundles(self) -> list[Bundle]:
        """Every environment, checked."""
        self._check_unchecked()
        return list(self.checked)

    def _check_unchecked(self) -> None:
        if self.unchecked is not None:
            self.checked.append(self.pipeline.check(self.unchecked))
            self.unchecked = None


@dataclass
class Result:
    """What writing or committing one bundle did."""

    environment: str
    objects: int
    change: TreeChange
    commit: str | None = None
    target: str = ""
    findings: list[Finding] = field(default_factory=list)
    skipped: bool = False  # not rendered: its inputs are those its committed tree was rendered from

    def as_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "skipped": self.skipped,
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
        spec = load_spec(path, root, self.options.variables)
        validate_spec(spec, self.schema, self.pm)
        return spec

    def plan(self, spec: Spec) -> Resources:
        """Every plugin's requests, after every plugin's modifications; duplicates are errors."""
        resources = Resources()
        # each implementation's result was checked to be a list of ResourceRequest: see hooks.calls
        for requests in self.pm.hook.gwpipe_resources(spec=spec):
            for request in requests:
                resources.add(request)
        self.pm.hook.gwpipe_modify_resources(spec=spec, resources=resources)
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

    def build(self, spec: Spec) -> Bundle:
        """Plan, render, parse back and check one validated spec; findings at the fail level raise CheckError."""
        return self.check(self.prepare(spec))

    def prepare(self, spec: Spec) -> Bundle:
        """Plan, render and parse back one validated spec: a bundle whose checks are still to run."""
        objects, files = self._render_files(spec)
        return Bundle(spec, objects, [], files, plugins=self.pm)

    def check(self, bundle: Bundle) -> Bundle:
        """`bundle` with the findings of every check; findings at the fail level raise CheckError."""
        findings = run_checks(self.pm, bundle.spec, bundle.objects)
        return replace(bundle, findings=_passed(findings, self.options.fail_level))

    def start_checks(self, bundle: Bundle) -> PendingChecks:
        """`check(bundle)`, started on the other core (in this process when it cannot fork, or GWPIPE_FAST=0)."""
        spec, objects = bundle.spec, bundle.objects
        return PendingChecks(bundle, start(lambda: run_checks(self.pm, spec, objects)), self.options.fail_level)

    def _environment(self, spec: Spec) -> jinja2.Environment:
        """One jinja2 environment per template search path, so templates compile once per run."""
        overrides, folders = self._template_overrides(spec), self._template_folders()
        key = (tuple(overrides), tuple(sorted(folders.items())))
        if key not in self._environments:
            self._environments[key] = make_environment(overrides, folders)
        return self._environments[key]

    def _template_folders(self) -> dict[str, str]:
        folders: dict[str, str] = {}
        for result in self.pm.hook.gwpipe_template_folders():
            folders.update(result)
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


def _passed(findings: list[Finding], fail_level: str) -> list[Finding]:
    """`findings`, unless some are at `fail_level` or above: those raise CheckError."""
    blocking = [f for f in findings if level_at_least(f.level, fail_level)]
    if blocking:
        raise CheckError(*(Problem(_finding_where(f), f"{f.code} {f.resource}: {f.message}") for f in blocking))
    return findings


def preflight(bundles: list[Bundle], root: Path, options: Options) -> None:
    """Refuse before anything is written when the write of any one environment would be refused."""
    problems: list[Problem] = []
    for bundle in bundles:
        target = root / bundle.spec.name
        try:
            current = read_tree(target)
            change = diff_tree(current, bundle.files)
            if not change.empty:
                guard_deletions(change, str(target), options.allow_empty, options.allow_delete, bundle.plugins)
                guard_move(current, bundle.files, str(target), options.allow_move, bundle.plugins)
        except WriteError as exc:
            problems.extend(exc.problems)
    if problems:
        raise WriteError(*problems)


def write_bundle(bundle: Bundle, root: Path, options: Options) -> Result:
    """Write the bundle under `root/<env>` as plain files (no git)."""
    current = read_tree(root / bundle.spec.name)
    change = diff_tree(current, bundle.files)
    guard_deletions(change, str(root / bundle.spec.name), options.allow_empty, options.allow_delete, bundle.plugins)
    guard_move(current, bundle.files, str(root / bundle.spec.name), options.allow_move, bundle.plugins)
    if not change.empty:
        write_tree(root, bundle.spec.name, bundle.files, current)
    return Result(bundle.spec.name, len(bundle.objects), change, None, str(root / bundle.spec.name), bundle.findings)
