"""The `gwpipe test` command: route behaviour tests (where does this request go?) over a render or manifest files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from gwpipe.cli import options


@click.command(name="test")
@options.targets
@click.option(
    "--cases",
    "cases_file",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Cases file (a `cases:` list); the arguments are then manifest files or folders, not environments.",
)
@click.option("--junit", type=click.Path(dir_okay=False), metavar="FILE", help="Also write JUnit XML here.")
@click.option(
    "--fail-under",
    type=click.FloatRange(0, 100),
    metavar="PERCENT",
    help="Exit 1 when route coverage (routes some case reaches) is below this.",
)
@click.option("--explore", is_flag=True, help="Send one generated request per route and report shadowed routes.")
@click.option("-n", "--namespace", default="default", show_default=True, help="Namespace of manifests that name none.")
@options.common
def command(
    targets: tuple[str, ...],
    all_envs: bool,
    specs_dir: Path,
    blocked: tuple[str, ...],
    templates: tuple[str, ...],
    cases_file: str | None,
    junit: str | None,
    fail_under: float | None,
    explore: bool,
    namespace: str,
    debug: bool,
    output: str,
) -> None:
    """Run route tests: `gwpipe test prod` (the spec's `tests:`), or `gwpipe test PATH... --cases FILE`."""
    from gwpipe.cli.main import STATE, _set_common, failures, say

    _set_common(debug, output)
    with failures():
        suites = _suites(targets, all_envs, specs_dir, blocked, templates, cases_file, namespace, explore)
        text, failed, coverage = _report(suites, explore, STATE.output)
        if junit:
            from gwpipe.routes.report import as_junit

            _write_atomically(Path(junit), as_junit([r for suite in suites for r in suite["results"]]))
    click.echo(text, nl=False)
    below = fail_under is not None and any(c.percent < fail_under for c in coverage.values())
    if below:
        say("error", f"route coverage below {fail_under:g}%")
    if failed or below:
        raise SystemExit(1)


def _suites(
    targets: tuple[str, ...],
    all_envs: bool,
    specs_dir: Path,
    blocked: tuple[str, ...],
    templates: tuple[str, ...],
    cases_file: str | None,
    namespace: str,
    explore: bool,
) -> list[dict[str, Any]]:
    from gwpipe.errors import Problem, UsageError
    from gwpipe.routes.cases import load_cases_file, spec_cases
    from gwpipe.routes.config import Topology
    from gwpipe.routes.run import run_cases

    if cases_file is not None:
        from gwpipe.checks.analysis.loader import input_files, load_manifests

        if not targets or all_envs:
            raise UsageError(Problem("arguments", "with --cases, name manifest files or folders (not --all)"))
        cases = load_cases_file(cases_file)
        objects = [m.obj for f in input_files(list(targets)) for m in load_manifests(f, namespace)]
        topology = Topology(objects, namespace)
        return [{"environment": "", "topology": topology, "results": run_cases(topology, cases)}]
    from gwpipe.cli.main import _pipeline, resolve_specs

    pipeline = _pipeline(blocked, templates)
    suites = []
    for path, root in resolve_specs(targets, all_envs, specs_dir):
        spec = pipeline.load(path, root)
        cases = spec_cases(spec)
        if not cases and not explore:
            raise UsageError(Problem(spec.file, "tests: no route test cases (add a tests: list or pass --cases)"))
        objects = pipeline.render(spec)
        topology = Topology([o.obj for o in objects], str(spec.get("namespace") or "default"))
        suites.append(
            {"environment": spec.name, "topology": topology, "results": run_cases(topology, cases, spec.name)}
        )
    return suites


def _report(suites: list[dict[str, Any]], explore: bool, output: str) -> tuple[str, int, dict[str, Any]]:
    from gwpipe.routes.coverage import route_coverage
    from gwpipe.routes.explore import probes, shadowed
    from gwpipe.routes.report import as_json, as_text

    results = [r for suite in suites for r in suite["results"]]
    coverage = {
        suite["environment"]: route_coverage(suite["topology"], [r.outcome.route for r in suite["results"]])
        for suite in suites
    }
    found = [p for suite in suites for p in probes(suite["topology"])] if explore else []
    findings = [f for suite in suites for f in shadowed(suite["topology"])] if explore else []
    render = as_json if output == "json" else as_text
    return render(results, coverage, found, findings), sum(1 for r in results if not r.passed), coverage


def _write_atomically(path: Path, text: str) -> None:
    from gwpipe.errors import Problem, UsageError, WriteError
    from gwpipe.tree.files import write_file_atomically

    try:
        write_file_atomically(path, text.encode("utf-8"))
    except WriteError as exc:  # said as the option that named the file
        raise UsageError(Problem(f"--junit {path}", exc.problems[0].what)) from None
