"""The plugin manager: core plugins, built-ins from the plugins registry, third parties from entry points, blocking."""

from __future__ import annotations

import difflib
import functools
import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pluggy

from gwpipe.errors import PluginError, Problem, UsageError
from gwpipe.hooks import specs as hookspecs
from gwpipe.hooks.calls import guard_plugin
from gwpipe.plugins import BUILTIN, ESSENTIAL

if TYPE_CHECKING:
    from collections.abc import Iterable

# The core's own plugins: commands and checks. A module each, imported when the manager is created,
# so they must keep their heavy imports inside the hook implementations.
CORE_PLUGINS: dict[str, str] = {
    "commands": "gwpipe.cli.builtin",
    "objects": "gwpipe.checks.builtin.objects",
    "secrets": "gwpipe.checks.builtin.secrets",
    "schema": "gwpipe.checks.builtin.schema",
    "analysis": "gwpipe.checks.builtin.analysis",
    "istioctl": "gwpipe.checks.builtin.istioctl",
}
# the commands, and the promise that private keys never enter the GitOps tree
ESSENTIAL_CORE = frozenset({"commands", "secrets"})
ENTRY_POINT_GROUP = "gwpipe"


@dataclass(frozen=True)
class PluginInfo:
    """What `gwpipe plugins` shows for one plugin."""

    name: str
    version: str
    builtin: bool
    hooks: tuple[str, ...]


class Manager(pluggy.PluginManager):
    """A pluggy manager whose hook implementations fail, return and trace in gwpipe's terms (see hooks.calls)."""

    def register(self, plugin: Any, name: str | None = None) -> str | None:
        registered = super().register(plugin, name)
        if registered is not None:
            guard_plugin(self, plugin)
        return registered


def builtin_names() -> tuple[str, ...]:
    """Every plugin that ships with gwpipe: the feature plugins in registry order, then the core's own."""
    return (*BUILTIN, *CORE_PLUGINS)


def known_names() -> list[str]:
    """Every plugin name `--block` accepts: the built-ins, the core's own and the installed entry points."""
    return [*builtin_names(), *(ep.name for ep in _entry_points())]


def blockable_names() -> list[str]:
    """The names `--block` accepts and may really block: every known plugin but the essential ones."""
    return [name for name in known_names() if name not in ESSENTIAL | ESSENTIAL_CORE]


def create_manager(
    blocked: Iterable[str] = (), entry_points: bool = True, plugins: Iterable[tuple[str, object]] = ()
) -> pluggy.PluginManager:
    """A manager calling core plugins, built-ins in registry order, entry-point plugins by name, then `plugins`.

    pluggy calls implementations last registered first, so plugins are registered in reverse call order
    (a plugin registered on the returned manager later is called before all of them: pass it in `plugins`).
    """
    blocked = set(blocked)
    essential = blocked & (ESSENTIAL | ESSENTIAL_CORE)
    if essential:
        raise PluginError(Problem(f"plugin {sorted(essential)[0]!r}", "is essential and cannot be blocked"))
    plugins = list(plugins)
    found = _entry_points() if entry_points else []
    _refuse_unknown(blocked, [*builtin_names(), *(ep.name for ep in found), *(name for name, _ in plugins)])
    pm = Manager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for name in blocked:
        pm.set_blocked(name)
    ordered: list[tuple[str, object]] = [
        (name, importlib.import_module(module)) for name, module in CORE_PLUGINS.items() if name not in blocked
    ]
    ordered += [(name, importlib.import_module(f"gwpipe.plugins.{name}")) for name in BUILTIN if name not in blocked]
    ordered += _load_entry_points(found, blocked)
    ordered += [(name, plugin) for name, plugin in plugins if name not in blocked]
    for name, plugin in reversed(ordered):
        _register(pm, plugin, name)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(Problem(f"plugin {pm.get_name(exc.plugin)!r}", _one_line(exc))) from None
    return pm


def _refuse_unknown(blocked: set[str], known: list[str]) -> None:
    for name in sorted(blocked - set(known)):
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UsageError(Problem("--block", f"no plugin named {name!r}{hint}"))


def _register(pm: pluggy.PluginManager, plugin: object, name: str) -> None:
    try:
        pm.register(plugin, name=name)
    except pluggy.PluginValidationError as exc:
        raise PluginError(Problem(f"plugin {name!r}", _one_line(exc))) from None
    except ValueError as exc:
        raise PluginError(Problem(f"plugin {name!r}", _one_line(exc))) from None


def _one_line(exc: Exception) -> str:
    """pluggy's multi-line validation message as one `error:` line."""
    return "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())


@functools.cache
def _entry_points() -> list[Any]:
    """The installed `gwpipe` entry points, read once per process (a run creates several managers)."""
    from importlib.metadata import entry_points

    return sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name)


def _load_entry_points(found: list[Any], blocked: set[str]) -> list[tuple[str, object]]:
    builtins = set(builtin_names())
    loaded: list[tuple[str, object]] = []
    for ep in found:
        if ep.name in blocked:
            continue
        if ep.name in builtins:
            raise PluginError(Problem(f"plugin {ep.name!r}", "entry point name clashes with a built-in plugin"))
        try:
            plugin = ep.load()
        except Exception as exc:  # noqa: BLE001 - a broken third-party plugin must not crash gwpipe
            raise PluginError(Problem(f"plugin {ep.name!r}", f"cannot be loaded: {exc}")) from None
        loaded.append((ep.name, plugin))
        dist = getattr(ep, "dist", None)
        if dist is not None:
            _DIST_VERSIONS[ep.name] = dist.version
    return loaded


_DIST_VERSIONS: dict[str, str] = {}


def plugin_infos(pm: pluggy.PluginManager) -> list[PluginInfo]:
    """Every registered plugin with its version and implemented hooks: built-ins first, in registry order."""
    from gwpipe import __version__

    builtins = builtin_names()
    infos = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:
            continue
        hooks = tuple(sorted(c.name for c in pm.get_hookcallers(plugin) or []))
        builtin = name in builtins
        version = __version__ if builtin else _DIST_VERSIONS.get(name, getattr(plugin, "__version__", "unknown"))
        infos.append(PluginInfo(name, version, builtin, hooks))
    order = {n: i for i, n in enumerate(builtins)}
    return sorted(infos, key=lambda i: (order.get(i.name, len(order)), i.name))
