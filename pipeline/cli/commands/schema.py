"""The `gwpipe schema` command: a JSON Schema of the spec (core and active plugins) for editors."""

from __future__ import annotations

import click

from gwpipe.cli import options
from gwpipe.cli.main import _pipeline, _set_common, failures


@click.command(name="schema")
@options.plugins
@click.option("--debug", is_flag=True, help="Show tracebacks for failures (secrets stay redacted).")
def command(blocked: tuple[str, ...], templates: tuple[str, ...], debug: bool) -> None:
    """Print a JSON Schema (draft 2020-12) of spec files, built from the core's and every active plugin's keys."""
    _set_common(debug, "text")
    with failures():
        from gwpipe.spec.editorschema import dumps, editor_schema

        click.echo(dumps(editor_schema(_pipeline(blocked, templates).schema.schema)), nl=False)
