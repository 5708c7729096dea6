"""The `gwpipe check` command (being built)."""

from __future__ import annotations

import click


@click.command(name="check")
def command() -> None:
    """Not built yet."""
    raise click.ClickException("gwpipe check is not built yet")
