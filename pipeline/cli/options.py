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


def specs(func: F) -> F:
    """`--specs DIR`: where environment names are looked up."""
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
