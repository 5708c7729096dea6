"""The `gwpipe render` command: render environments and commit them, or write them to a folder."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from gwpipe.cli import options
from gwpipe.cli.main import DEFAULT_REPO, STATE, _pipeline, _set_common, failures, resolve_specs, say


@click.command(name="render")
@options.targets
@click.option(
    "--out", type=click.Path(path_type=Path), help="Write the rendered tree to this folder instead of committing."
)
@click.option(
    "--repo",
    type=click.Path(path_type=Path),
    envvar="GWPIPE_REPO",
    help=f"GitOps repository to commit to [default: {DEFAULT_REPO}, created on first use].",
)
@click.option("--allow-empty", is_flag=True, help="Allow a render that empties an environment.")
@click.option("--allow-delete", is_flag=True, help="Allow deleting most of an environment, or a Gateway.")
@click.option("--allow-move", is_flag=True, help="Allow repointing the Argo CD/Flux objects at another folder.")
@click.option(
    "--fail-on",
    type=click.Choice(["Error", "Warning"]),
    default="Error",
    show_default=True,
    help="Lowest finding level that stops the render.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Render every environment, also those whose inputs did not change since their last render.",
)
@options.lock_timeout
@options.common
def command(
    targets: tuple[str, ...],
    all_envs: bool,
    specs_dir: Path,
    blocked: tuple[str, ...],
    templates: tuple[str, ...],
    out: Path | None,
    repo: Path | None,
    allow_empty: bool,
    allow_delete: bool,
    allow_move: bool,
    fail_on: str,
    force: bool,
    lock_timeout: float,
    debug: bool,
    output: str,
) -> None:
    """Render environments (names or spec files) and commit them, or write them with --out."""
    _set_common(debug, output)
    with failures():
        from gwpipe.engine import Run, preflight, write_bundle
        from gwpipe.git.commit import commit_run
        from gwpipe.record import open_freshness

        specs = resolve_specs(targets, all_envs, specs_dir)
        pipeline = _pipeline(
            blocked,
            templates,
            allow_empty=allow_empty,
            allow_delete=allow_delete,
            allow_move=allow_move,
            fail_level=fail_on,
        )
        # into a GitOps repository, environments whose inputs did not change since their last render are skipped
        run = Run(pipeline, None if out is not None else open_freshness(repo or DEFAULT_REPO, force=force))
        with _progress(len(specs)) as step:
            for path, root in specs:
                run.add(path, root)
                step()
        if out is not None:
            bundles = run.bundles()
            preflight(bundles, out, pipeline.options)  # all or nothing: every folder's guards before any write
            results = [write_bundle(bundle, out, pipeline.options) for bundle in bundles]
        else:
            results = commit_run(
                run, repo or DEFAULT_REPO, pipeline.options, create=repo is None, lock_timeout=lock_timeout
            )
        _report(results)


@contextmanager
def _progress(total: int) -> Iterator[Callable[[], None]]:
    """A progress bar on a terminal when many environments render; silent otherwise."""
    if total < 3 or not sys.stderr.isatty():
        yield lambda: None
        return
    from rich.progress import Progress

    with Progress(transient=True) as progress:
        task = progress.add_task("rendering", total=total)
        yield lambda: progress.advance(task)


def _report(results: list[Any]) -> None:
    if STATE.output == "json":
        click.echo(json.dumps({"ok": True, "results": [r.as_dict() for r in results]}, indent=2, sort_keys=True))
        return
    for result in results:
        for finding in result.findings:
            say(finding.level.lower(), str(finding))
        c = result.change
        if result.skipped:
            click.echo(
                f"{result.environment}: {result.objects} objects, no changes; inputs unchanged, not rendered again"
                f" ({result.target})"
            )
            continue
        if c.empty:
            click.echo(f"{result.environment}: {result.objects} objects, no changes ({result.target})")
            continue
        summary = f"files: {len(c.added)} added, {len(c.changed)} changed, {len(c.removed)} removed"
        done = f"committed {result.commit[:12]}" if result.commit else "written"
        click.echo(f"{result.environment}: {result.objects} objects; {summary}; {done} ({result.target})")
