"""The `gwpipe analyze` command: schemas first (IST0106), then Istio admission rules and analyzers over manifest files."""

from __future__ import annotations

import json
from typing import Any

import click

from gwpipe.cli import options


@click.command(name="analyze")
@click.argument("paths", nargs=-1, required=True)
@options.output("sarif", help="Findings for people, machines, or code-scanning UIs.")
@click.option(
    "--fail-on",
    type=click.Choice(["Error", "Warning", "Info"]),
    default="Error",
    show_default=True,
    help="Exit 1 when a finding at or above this level remains.",
)
@click.option(
    "--suppress",
    "suppress",
    multiple=True,
    metavar="CODE=RESOURCE",
    help='Drop findings, e.g. "IST0101=Gateway istio-system/*" (glob on `Kind namespace/name`).',
)
@click.option(
    "--istio-version",
    metavar="1.N",
    help="Target Istio minor version: its schemas and rules [default: gwpipe's default].",
)
@click.option(
    "--crds",
    "crds",
    multiple=True,
    metavar="SOURCE",
    help="CRD file, folder, pinned URL or cluster:CONTEXT whose schemas override the built-in catalog (repeatable).",
)
@click.option(
    "--inventory",
    "inventory",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="YAML mapping with an `inventory` list of Pods, Services, Secrets and Workloads in the cluster; "
    "with it, the analyzers that need them run (as istioctl against a cluster).",
)
@click.option("-n", "--namespace", default="default", show_default=True, help="Namespace of objects that name none.")
@click.option("--debug", is_flag=True, help="Show tracebacks for failures.")
def command(
    paths: tuple[str, ...],
    output: str,
    fail_on: str,
    suppress: tuple[str, ...],
    istio_version: str | None,
    crds: tuple[str, ...],
    inventory: str | None,
    namespace: str,
    debug: bool,
) -> None:
    """Check manifest files (or folders of *.yaml): schemas first, then Istio's admission rules and analyzers."""
    from gwpipe.cli.main import _set_common, failures
    from gwpipe.model import level_at_least

    _set_common(debug, "json" if output == "json" else "text")
    with failures():
        findings = _run(list(paths), suppress, istio_version, crds, inventory, namespace)
        _print(findings, output)
    if any(level_at_least(f.level, fail_on) for f in findings):
        raise SystemExit(1)


def _run(
    paths: list[str],
    suppress: tuple[str, ...],
    istio_version: str | None,
    crds: tuple[str, ...],
    inventory: str | None,
    namespace: str,
) -> list[Any]:
    import re

    from gwpipe.checks.analysis import analyze
    from gwpipe.checks.analysis.loader import input_files, load_manifests
    from gwpipe.checks.analysis.manifests import ManifestSet
    from gwpipe.checks.analysis.structure import structure_findings
    from gwpipe.checks.analysis.suppress import parse_suppression
    from gwpipe.checks.schema.crdsources import env_sources, option_sources
    from gwpipe.errors import Problem, UsageError
    from gwpipe.istio import DEFAULT_VERSION

    raw_version = istio_version or DEFAULT_VERSION
    if not re.fullmatch(r"1\.[0-9]{1,2}", raw_version):
        raise UsageError(Problem("--istio-version", f"expected a minor version such as 1.24, got {raw_version!r}"))
    version = (1, int(raw_version.split(".")[1]))
    rules = []
    for text in suppress:
        parsed = parse_suppression(text)
        if parsed is None:
            raise UsageError(Problem("--suppress", f"expected CODE=Kind namespace/name (globs allowed), got {text!r}"))
        rules.append(parsed)
    sources = option_sources(list(crds), "--crds") + env_sources()
    entries = _inventory(inventory) if inventory else []
    manifests = ManifestSet(m for f in input_files(paths) for m in load_manifests(f, namespace))
    structure = structure_findings(manifests, version, sources)
    # as `istioctl analyze --use-kube=false`: without an inventory the files do not describe the cluster's
    # workloads, even when they hold Pods or Services, so the analyzers that need them do not run
    findings: list[Any] = analyze(
        manifests, entries, version, rules, structure=structure, workloads=inventory is not None
    )
    return findings


def _inventory(path: str) -> list[dict[str, Any]]:
    from gwpipe.checks.analysis.cluster import check_inventory
    from gwpipe.errors import Problem, SpecError, UsageError
    from gwpipe.spec.yamlload import format_path, load_yaml_file

    try:
        loaded = load_yaml_file(path, path)
    except SpecError as exc:
        raise UsageError(*exc.problems) from None

    def where(sub: tuple[str | int, ...]) -> str:
        full = ("inventory", *sub)
        for end in range(len(full), 0, -1):
            loc = loaded.locations.get(full[:end])
            if loc is not None:
                return f"{loc.file}:{loc.line}:{loc.column}: {format_path(full)}"
        return f"{path}: {format_path(full)}"

    entries = loaded.data.get("inventory")
    problems = check_inventory(entries if entries is not None else [], where)
    if entries is None:
        problems = [f"{path}: inventory: required field missing"]
    if problems:
        raise UsageError(*(Problem(p.split(": ", 1)[0], p.split(": ", 1)[1]) for p in problems))
    assert isinstance(entries, list)
    return entries


def _print(findings: list[Any], output: str) -> None:
    if output == "json":
        click.echo(json.dumps([f.as_dict() for f in findings], indent=2))
        return
    if output == "sarif":
        from gwpipe import __version__
        from gwpipe.checks.analysis.sarif import to_sarif

        click.echo(json.dumps(to_sarif(findings, __version__), indent=2))
        return
    for f in findings:
        click.echo(str(f))
    if not findings:
        click.echo("no findings")
