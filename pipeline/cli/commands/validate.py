"""The `gwpipe validate` command: load and validate specs, write nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from gwpipe.cli import options
from gwpipe.cli.main import STATE, _pipeline, _set_common, echo, failures, resolve_specs, styled


@click.command(name="validate")
@options.targets
@click.option(
    "--explain", is_flag=True, help="Print each resolved spec, every value with the file:line or --var it came from."
)
@options.common
def command(
    targets: tuple[str, ...],
    all_envs: bool,
    specs_dir: Path,
    blocked: tuple[str, ...],
    templates: tuple[str, ...],
    explain: bool,
    debug: bool,
    output: str,
) -> None:
    """Validate specs only; writes nothing."""
    _set_common(debug, output)
    with failures():
        from gwpipe.errors import SpecError
        from gwpipe.spec.explain import explain_json, explain_text
        from gwpipe.spec.load import Spec

        specs = resolve_specs(targets, all_envs, specs_dir)
        pipeline = _pipeline(blocked, templates)
        problems: list[Any] = []
        loaded: list[Spec] = []
        for path, root in specs:
            try:
                loaded.append(pipeline.load(path, root))
            except SpecError as exc:
                problems.extend(exc.problems)
        if problems:
            raise SpecError(*problems)
        names = [spec.name for spec in loaded]
        if STATE.output == "json":
            answer: dict[str, Any] = {"ok": True, "environments": names}
            if explain:
                answer["resolved"] = [explain_json(spec) for spec in loaded]
            click.echo(json.dumps(answer, default=str))
        elif explain:
            click.echo("\n".join(explain_text(spec) for spec in loaded), nl=False)
        else:
            for name in names:
                echo(f"{name}: {styled('valid', fg='green')}")
