"""What the run's plugins declare about written trees: the kinds they protect, the folders they sync."""

from __future__ import annotations

from functools import cache

import pluggy


@cache
def builtin_plugins() -> pluggy.PluginManager:
    """The built-in plugins, for callers without a run's manager: never imports a third-party plugin."""
    from gwpipe.hooks.manager import create_manager

    return create_manager(entry_points=False)


def protected_kinds(pm: pluggy.PluginManager | None = None) -> frozenset[str]:
    """The kinds whose files a write deletes only with --allow-delete (`gwpipe_protected_kinds` of `pm`)."""
    answers = (pm or builtin_plugins()).hook.gwpipe_protected_kinds()
    return frozenset(kind for kinds in answers for kind in kinds)


def synced_folders(files: dict[str, bytes], pm: pluggy.PluginManager | None = None) -> set[str]:
    """The repository folders the controller objects in `files` sync (`gwpipe_synced_folders` of `pm`)."""
    answers = (pm or builtin_plugins()).hook.gwpipe_synced_folders(files=files)
    return {folder for folders in answers for folder in folders}
