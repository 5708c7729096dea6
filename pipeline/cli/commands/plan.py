"""The `gwpipe plan` command: what a render would change in the GitOps repository."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from gwpipe.cli import options
from gwpipe.cli.main import DEFAULT_REPO, STATE, _pipeline, _set_common, failures, resolve_specs

# `--exit-code`: changes present. 1 and 2 stay errors (2: usage and spec errors), as for every command.
CHANGES_PRESENT = 3


@click.command(name="plan")
@options.targets
@click.option(
    "--repo", type=click.Path(path_type=Path), envvar="GWPIPE_REPO", help="GitOps repository to compare with."
)
@click.option("--diff", "show_diff", is_flag=True, help="Print a unified diff of every changed file after the plan.")
@click.option(
    "--exit-code",
    is_flag=True,
    help=f"Exit {CHANGES_PRESENT} when something would change, 0 when nothing would (errors: 1 or 2).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks for failures (secrets stay redacted).")
@click.option(
    "-o",
    "--output",
    "output",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="For people, for machines, or the pull-request body `gwpipe propose` would send.",
)
def command(
    targets: tuple[str, ...],
    all_envs: bool,
    specs_dir: Path,
    blocked: tuple[str, ...],
    templates: tuple[str, ...],
    repo: Path | None,
    show_diff: bool,
    exit_code: bool,
    debug: bool,
    output: str,
) -> None:
    """Show what a render would change in the GitOps repository (an ingress plan); writes nothing."""
    _set_common(debug, output)
    with failures():
        from gwpipe.record import open_freshness
        from gwpipe.tree.plan import IngressPlan

        specs = resolve_specs(targets, all_envs, specs_dir)
        pipeline = _pipeline(blocked, templates)
        root = repo or DEFAULT_REPO
        base_branch, base_sha = _base_of(root) if output == "markdown" else (None, None)
        # an environment recorded as rendered from these very inputs, whose folder nobody edited since,
        # has nothing to plan; the pull-request body needs the render's files, so markdown always renders
        freshness = open_freshness(root) if output != "markdown" else None
        edited = _edited_folders(root) if freshness is not None else set()
        plans, bodies = [], []
        for path, spec_root in specs:
            unchanged = freshness.unchanged(pipeline, path, spec_root) if freshness is not None else None
            if unchanged is not None and unchanged not in edited:  # nothing read by its last load changed
                plans.append(IngressPlan(unchanged))
                continue
            spec = pipeline.load(path, spec_root)
            if freshness is not None and spec.name not in edited and freshness.is_up_to_date(pipeline, spec)[0]:
                plans.append(IngressPlan(spec.name))
                continue
            # what only a rendered environment needs is imported here: an unchanged fleet plans without it
            from gwpipe.git.message import pull_request_body
            from gwpipe.routes.behaviour import add_route_changes
            from gwpipe.tree.files import read_tree
            from gwpipe.tree.plan import compute_plan

            bundle = pipeline.build(spec)
            previous = read_tree(root / bundle.spec.name)
            parsed = {obj.path: obj.obj for obj in bundle.objects}  # the render's own parse of its files
            plan = compute_plan(bundle.spec.name, previous, bundle.files, base_branch, base_sha, bundle.plugins, parsed)
            add_route_changes(plan, bundle.spec, previous, bundle.files)
            plans.append(plan)
            if output == "markdown":
                bodies.append(pull_request_body(plan, bundle.files))
        if STATE.output == "json":
            click.echo(json.dumps({"ok": True, "plans": [p.as_dict() for p in plans]}, indent=2, sort_keys=True))
        elif output == "markdown":
            click.echo("\n".join(bodies), nl=False)
        else:
            for ingress_plan in plans:
                click.echo(ingress_plan.to_text(), nl=False)
                if show_diff and not ingress_plan.empty:
                    click.echo(ingress_plan.to_diff(), nl=False)
    if exit_code and any(not p.empty for p in plans):
        sys.exit(CHANGES_PRESENT)


def _edited_folders(root: Path) -> set[str]:
    """Top folders of the repository with uncommitted changes: the record speaks only for committed trees."""
    import git

    from gwpipe.git.repo import uncommitted_paths

    try:
        paths = uncommitted_paths(git.Repo(root).git)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError, git.GitCommandError):
        return set()
    return {path.split("/", 1)[0] for path in paths}


def _base_of(root: Path) -> tuple[str | None, str | None]:
    """The branch and commit the repository's checkout is on, as `propose` names its base; None when it has none."""
    import git

    try:
        checkout = git.Repo(root)
        if checkout.head.is_detached or not checkout.head.is_valid():
            return None, None
        return str(checkout.active_branch.name), str(checkout.head.commit.hexsha)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError, ValueError, TypeError):
        return None, None
