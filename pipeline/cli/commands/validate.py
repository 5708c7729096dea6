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
@options.common
def command(
    targets: tuple[str, ...],
    all_envs: bool,
    specs_dir: Path,
    blocked: tuple[str, ...],
    templates: tuple[str, ...],
    debug: bool,
    output: str,
) -> None:
    """Validate specs only; writes nothing."""
    _set_common(debug, output)
    with failures():
        from gwpipe.errors import SpecError

        specs = resolve_specs(targets, all_envs, specs_dir)
        pipeline = _pipeline(blocked, templates)
        problems: list[Any] = []
        names: list[str] = []
        for path, root in specs:
            try:
                names.append(pipeline.load(path, root).name)
            except SpecError as exc:
                problems.extend(exc.problems)
        if problems:
            raise SpecError(*problems)
        if STATE.output == "json":
            click.echo(json.dumps({"ok": True, "environments": names}))
        else:
            for name in names:
                echo(f"{name}: {styled('valid', fg='green')}")
