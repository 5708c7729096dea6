"""The `gwpipe plugins` command: every plugin with its version, hooks and spec keys."""

from __future__ import annotations

import json

import click

from gwpipe.cli import options
from gwpipe.cli.main import STATE, _pipeline, _set_common, failures


@click.command(name="plugins")
@options.plugins
@options.common
def command(blocked: tuple[str, ...], templates: tuple[str, ...], debug: bool, output: str) -> None:
    """List plugins with their versions, hooks and spec keys."""
    _set_common(debug, output)
    with failures():
        from gwpipe.hooks.manager import plugin_infos

        pipeline = _pipeline(blocked, templates)
        rows = [
            {
                "name": i.name,
                "version": i.version,
                "builtin": i.builtin,
                "hooks": list(i.hooks),
                "spec_keys": pipeline.schema.keys_of(i.name),
            }
            for i in plugin_infos(pipeline.pm)
        ]
        if STATE.output == "json":
            click.echo(json.dumps(rows, indent=2))
            return
        for row in rows:
            origin = "built-in" if row["builtin"] else "external"
            click.echo(f"{row['name']} {row['version']} ({origin})")
            click.echo(f"  hooks: {', '.join(row['hooks']) or '-'}")
            click.echo(f"  spec keys: {', '.join(row['spec_keys']) or '-'}")
