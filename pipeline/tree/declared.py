"""What the installed plugins declare about written trees: the kinds they protect, the folders they sync."""

from __future__ import annotations

from functools import cache

import pluggy


def installed_plugins() -> pluggy.PluginManager:
    """Every built-in and installed plugin: a committed tree may hold files a now-blocked plugin wrote.

    Built-ins are asked even when a run blocks them; a third-party plugin blocked anywhere in this
    process is not, since `--block` promises that its code never runs.
    """
    from gwpipe.hooks.manager import BLOCKED_IN_PROCESS, builtin_names

    return _manager(frozenset(BLOCKED_IN_PROCESS - set(builtin_names())))


@cache
def _manager(blocked: frozenset[str]) -> pluggy.PluginManager:
    from gwpipe.hooks.manager import create_manager

    return create_manager(blocked=blocked)


def protected_kinds(pm: pluggy.PluginManager | None = None) -> frozenset[str]:
    """The kinds whose files a write deletes only with --allow-delete (`gwpipe_protected_kinds`)."""
    answers = (pm or installed_plugins()).hook.gwpipe_protected_kinds()
    return frozenset(kind for kinds in answers for kind in kinds)


def synced_folders(files: dict[str, bytes], pm: pluggy.PluginManager | None = None) -> set[str]:
    """The repository folders the controller objects in `files` sync (`gwpipe_synced_folders`)."""
    answers = (pm or installed_plugins()).hook.gwpipe_synced_folders(files=files)
    return {folder for folders in answers for folder in folders}
