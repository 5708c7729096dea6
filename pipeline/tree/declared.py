"""What plugins declare about written trees: the kinds they protect, the folders they sync."""

from __future__ import annotations

from functools import cache

import pluggy

from gwpipe.plugins import BUILTIN


@cache
def builtin_plugins() -> pluggy.PluginManager:
    """The built-in plugins, asked even when a run blocks them: a committed tree may hold their files."""
    from gwpipe.hooks.manager import create_manager

    return create_manager(entry_points=False)


def _answers(pm: pluggy.PluginManager | None, ask: str, **kwargs: object) -> list[list[str]]:
    """Every built-in's answer, and the run's third-party plugins' (a blocked one is never imported)."""
    if pm is None:
        managers = [builtin_plugins()]
    elif all(pm.has_plugin(name) for name in BUILTIN):
        managers = [pm]  # the run has every built-in: asking them again would parse the same files twice
    else:
        managers = [builtin_plugins(), pm]
    return [answer for manager in managers for answer in getattr(manager.hook, ask)(**kwargs)]


def protected_kinds(pm: pluggy.PluginManager | None = None) -> frozenset[str]:
    """The kinds whose files a write deletes only with --allow-delete (`gwpipe_protected_kinds`)."""
    return frozenset(kind for kinds in _answers(pm, "gwpipe_protected_kinds") for kind in kinds)


def synced_folders(files: dict[str, bytes], pm: pluggy.PluginManager | None = None) -> set[str]:
    """The repository folders the controller objects in `files` sync (`gwpipe_synced_folders`)."""
    return {folder for folders in _answers(pm, "gwpipe_synced_folders", files=files) for folder in folders}
