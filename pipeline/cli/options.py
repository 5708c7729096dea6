"""Command-line options every command shares, defined once (click only, so `gwpipe --help` stays fast)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_SPECS = Path("environments")


def environment_names(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Shell completion for environment arguments: the specs folder's environments, or paths once one is typed."""
    from click.shell_completion import CompletionItem

    if "/" in incomplete or os.sep in incomplete:
        return [CompletionItem(incomplete, type="file")]
    folder = ctx.params.get("specs_dir") or DEFAULT_SPECS
    try:
        names = {
            entry.name.rsplit(".", 1)[0]
            for entry in os.scandir(folder)
            if entry.name.endswith((".yaml", ".yml")) and not entry.name.startswith("_")
        }
    except OSError:
        return []
    return [CompletionItem(name) for name in sorted(names) if name.startswith(incomplete)]


def plugin_names(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Shell completion for `--block`: every plugin it accepts (entry points included), essential ones left out."""
    from click.shell_completion import CompletionItem

    from gwpipe.hooks.manager import blockable_names

    return [CompletionItem(name) for name in blockable_names() if name.startswith(incomplete)]


def output(
    *formats: str, help: str = "Output format for people or for machines.", short: bool = True
) -> Callable[[F], F]:
    """`-o/--output FORMAT`: `text` (the default) or `json`, plus `formats`; every command spells it so.

    `short=False` only where `-o` already names a file the command writes (`gwpipe import -o FILE`).
    """
    return click.option(
        *(["-o"] if short else []),
        "--output",
        "output",
        type=click.Choice(["text", "json", *formats]),
        default="text",
        show_default=True,
        help=help,
    )


def renamed(old: str, new: str, dest: str, **attrs: Any) -> Callable[[F], F]:
    """A hidden `old` spelling of option `new` that still works, with a one-line deprecation warning."""

    def warn(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is not None and not ctx.resilient_parsing:
            from gwpipe.cli.main import say

            say("warning", f"{old} is deprecated on {ctx.info_name!r}; use {new}")
        return value

    return click.option(old, dest, hidden=True, callback=warn, **attrs)


def common(func: F) -> F:
    """`-o/--output text|json` and `--debug` (tracebacks, still redacted)."""
    return output()(debug(func))


def debug(func: F) -> F:
    """`--debug`: tracebacks for failures, still redacted."""
    return click.option("--debug", is_flag=True, help="Show tracebacks for failures (secrets stay redacted).")(func)


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


def block(func: F) -> F:
    """`--block PLUGIN` (repeatable): a plugin not to load; unknown names are refused by the plugin manager."""
    return click.option(
        "--block",
        "blocked",
        multiple=True,
        metavar="PLUGIN",
        shell_complete=plugin_names,
        help="Do not load this plugin.",
    )(func)


def plugins(func: F) -> F:
    """`--block PLUGIN` and `--templates DIR`: what the plugin chain loads and which templates win."""
    func = block(func)
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
    return click.argument("targets", nargs=-1, shell_complete=environment_names)(func)


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
