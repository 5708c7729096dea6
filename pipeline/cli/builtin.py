"""The `commands` core plugin: gwpipe's own subcommands, registered through `gwpipe_commands` like any plugin's."""

from __future__ import annotations

from gwpipe.hooks.specs import hookimpl

_COMMANDS = (
    "analyze",
    "certs",
    "check",
    "completion",
    "crds",
    "init",
    "plan",
    "plugins",
    "propose",
    "render",
    "schema",
    "test",
    "validate",
)
# `import` is a Python keyword: its module is import_
_MODULES = {"import": "import_"}


@hookimpl
def gwpipe_commands() -> dict[str, str]:
    names = (*_COMMANDS, *_MODULES)
    return {name: f"gwpipe.cli.commands.{_MODULES.get(name, name)}:command" for name in names}
