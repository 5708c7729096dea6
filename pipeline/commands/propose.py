"""The `gwpipe propose` command (being built)."""

from __future__ import annotations

import click


@click.command(name="propose")
def command() -> None:
    """Not built yet."""
    raise click.ClickException("gwpipe propose is not built yet")
