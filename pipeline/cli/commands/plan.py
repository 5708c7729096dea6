"""The `gwpipe plan` command: what a render would change in the GitOps repository."""

from __future__ import annotations

import json
from pathlib import Path

import click

from gwpipe.cli import options
from gwpipe.cli.main import DEFAULT_REPO, STATE, _pipeline, _set_common, failures, resolve_specs


@click.command(name="plan")
@options.targets
@click.option(
    "--repo", type=click.Path(path_type=Path), envvar="GWPIPE_REPO", help="GitOps repository to compare with."
)
@options.common
def command(
    targets: tuple[str, ...],
    all_envs: bool,
    specs_dir: Path,
    blocked: tuple[str, ...],
    templates: tuple[str, ...],
    repo: Path | None,
    debug: bool,
    output: str,
) -> None:
    """Show what a render would change in the GitOps repository (an ingress plan); writes nothing."""
    _set_common(debug, output)
    with failures():
        from gwpipe.routes.behaviour import add_route_changes
        from gwpipe.tree.files import read_tree
        from gwpipe.tree.plan import compute_plan

        specs = resolve_specs(targets, all_envs, specs_dir)
        pipeline = _pipeline(blocked, templates)
        root = repo or DEFAULT_REPO
        plans = []
        for path, spec_root in specs:
            bundle = pipeline.build(pipeline.load(path, spec_root))
            previous = read_tree(root / bundle.spec.name)
            plans.append(compute_plan(bundle.spec.name, previous, bundle.files, pm=bundle.plugins))
            add_route_changes(plans[-1], bundle.spec, previous, bundle.files)
        if STATE.output == "json":
            click.echo(json.dumps({"ok": True, "plans": [p.as_dict() for p in plans]}, indent=2, sort_keys=True))
            return
        for ingress_plan in plans:
            click.echo(ingress_plan.to_text(), nl=False)
