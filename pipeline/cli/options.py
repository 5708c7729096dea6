"""Command-line options every command shares, defined once (click only, so `gwpipe --help` stays fast)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_SPECS = Path("environments")


def common(func: F) -> F:
    """`--output text|json` and `--debug` (tracebacks, still redacted)."""
    func = click.option("--debug", is_flag=True, help="Show tracebacks for failures (secrets stay redacted).")(func)
    func = click.option(
        "--output",
        "output",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help="Output format for people or for machines.",
    )(func)
    return func


VARIABLES = "gwpipe.variables"


def _variables(ctx: click.Context, _param: click.Parameter, pairs: tuple[str, ...]) -> None:
    """Keep `--var NAME=VALUE` pairs (the last of one name wins) where `cli.main._pipeline` reads them."""
    table: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"expected NAME=VALUE, got {pair!r}", ctx=ctx, param_hint="--var")
        table[name] = value
    ctx.meta[VARIABLES] = table


def specs(func: F) -> F:
    """`--specs DIR`: where environment names are looked up; `--var NAME=VALUE`: a spec variable."""
    func = click.option(
        "--var",
        "variables",
        multiple=True,
        metavar="NAME=VALUE",
        expose_value=False,
        callback=_variables,
        help="Set spec variable NAME (overrides its value in vars); repeatable.",
    )(func)
    return click.option(
        "--specs",
        "specs_dir",
        type=click.Path(path_type=Path),
        default=DEFAULT_SPECS,
        show_default=True,
        help="Folder of environment specs.",
    )(func)


def plugins(func: F) -> F:
    """`--block PLUGIN` and `--templates DIR`: what the plugin chain loads and which templates win."""
    func = click.option("--block", "blocked", multiple=True, metavar="PLUGIN", help="Do not load this plugin.")(func)
    func = click.option(
        "--templates",
        multiple=True,
        metavar="DIR",
        type=click.Path(exists=True, file_okay=False, path_type=str),
        help="Folder of template overrides, searched first.",
    )(func)
    return func


def targets(func: F) -> F:
    """Environment names or spec files, `--all`, `--specs`, `--block` and `--templates`."""
    func = click.option("--all", "all_envs", is_flag=True, help="Every environment in the specs folder.")(func)
    func = plugins(specs(func))
    return click.argument("targets", nargs=-1)(func)


def lock_timeout(func: F) -> F:
    """`--lock-timeout SECONDS`: how long to wait for another gwpipe run on the same repository."""
    return click.option(
        "--lock-timeout",
        type=click.FloatRange(min=0),
        default=600.0,
        show_default=True,
        metavar="SECONDS",
        help="How long to wait for another gwpipe run writing to the same repository.",
    )(func)
