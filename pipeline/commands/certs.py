"""The `gwpipe certs` command (being built)."""

from __future__ import annotations

import click


@click.command(name="certs")
def command() -> None:
    """Not built yet."""
    raise click.ClickException("gwpipe certs is not built yet")
