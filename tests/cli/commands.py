"""Every gwpipe command, walked from the click group as a user reaches it (plugin commands and sub-groups included)."""

from __future__ import annotations

from collections.abc import Iterator

import click

from gwpipe.cli.main import main


def walk() -> Iterator[tuple[str, click.Command]]:
    """(`"certs status"`, command) for every runnable command, groups descended into."""
    with click.Context(main) as root:
        pending: list[tuple[str, click.Context, click.Command]] = [
            (name, root, command)
            for name in main.list_commands(root)
            if (command := main.get_command(root, name)) is not None
        ]
    while pending:
        path, parent, command = pending.pop(0)
        if isinstance(command, click.Group):
            ctx = click.Context(command, parent=parent, info_name=path.split()[-1])
            pending += [
                (f"{path} {name}", ctx, sub)
                for name in command.list_commands(ctx)
                if (sub := command.get_command(ctx, name))
            ]
            continue
        yield path, command


def option(command: click.Command, flag: str) -> click.Option | None:
    """The option of `command` spelled `flag`, if any."""
    for param in command.params:
        if isinstance(param, click.Option) and flag in (*param.opts, *param.secondary_opts):
            return param
    return None
