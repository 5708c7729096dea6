"""The `gwpipe analyze` command (being built)."""

from __future__ import annotations

import click


@click.command(name="analyze")
def command() -> None:
    """Not built yet."""
    raise click.ClickException("gwpipe analyze is not built yet")
