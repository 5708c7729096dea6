"""The `gwpipe completion` command: a shell's completion script, from click's own completion machinery."""

from __future__ import annotations

import click


@click.command(name="completion")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def command(shell: str) -> None:
    """Print the completion script for SHELL; e.g. `eval "$(gwpipe completion bash)"` in ~/.bashrc.

    Completes commands, options, environment names (from the specs folder) and plugin names for --block.
    """
    from click.shell_completion import get_completion_class

    from gwpipe.cli.main import COMPLETE_VAR, main

    completion = get_completion_class(shell)
    assert completion is not None  # click ships all three shells the choice allows
    click.echo(completion(main, {}, "gwpipe", COMPLETE_VAR).source(), nl=False)
