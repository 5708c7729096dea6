"""The plugin manager: built-ins from an explicit tuple, third parties from entry points, blocking."""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pluggy

from gwpipe.errors import PluginError, Problem
from gwpipe.hooks import specs as hookspecs

# The order is the order of gwpipe_modify_resources: a plugin that edits another's objects comes after it.
BUILTIN_PLUGINS: tuple[str, ...] = (
    "http",
    "tls",
    "redirect",
    "mtls",
    "tcp",
    "logging",
    "gateway_split",
    "pilot_filter",
    "gitops",
)
ESSENTIAL_PLUGINS = frozenset({"http"})
ENTRY_POINT_GROUP = "gwpipe"


@dataclass(frozen=True)
class PluginInfo:
    """What `gwpipe plugins` shows for one plugin."""

    name: str
    version: str
    builtin: bool
    hooks: tuple[str, ...]


def create_manager(blocked: Iterable[str] = (), entry_points: bool = True) -> pluggy.PluginManager:
    """A manager with the built-ins registered in order, then entry-point plugins, minus `blocked`."""
    blocked = set(blocked)
    essential = blocked & ESSENTIAL_PLUGINS
    if essential:
        raise PluginError(Problem(f"plugin {sorted(essential)[0]!r}", "is essential and cannot be blocked"))
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for name in blocked:
        pm.set_blocked(name)
    for name in BUILTIN_PLUGINS:
        if name in blocked:
            continue
        module = importlib.import_module(f"gwpipe.plugins.{name}")
        _register(pm, module, name)
    if entry_points:
        _load_entry_points(pm)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(Problem(f"plugin {pm.get_name(exc.plugin)!r}", _one_line(exc))) from None
    return pm


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


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    from importlib.metadata import entry_points

    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        if pm.is_blocked(ep.name) or pm.has_plugin(ep.name):
            if pm.has_plugin(ep.name) and not pm.is_blocked(ep.name):
                raise PluginError(Problem(f"plugin {ep.name!r}", "entry point name clashes with a built-in plugin"))
            continue
        try:
            plugin = ep.load()
        except Exception as exc:  # noqa: BLE001 - a broken third-party plugin must not crash gwpipe
            raise PluginError(Problem(f"plugin {ep.name!r}", f"cannot be loaded: {exc}")) from None
        _register(pm, plugin, ep.name)
        dist = getattr(ep, "dist", None)
        if dist is not None:
            _DIST_VERSIONS[ep.name] = dist.version


_DIST_VERSIONS: dict[str, str] = {}


def call_each(pm: pluggy.PluginManager, hook: str, **kwargs: Any) -> list[tuple[str, Any]]:
    """Call `hook` on every plugin in registration order; an exception names plugin and hook."""
    caller = getattr(pm.hook, hook)
    results: list[tuple[str, Any]] = []
    impls = caller.get_hookimpls()
    # registration order, with tryfirst/trylast honoured, so built-ins edit before third parties
    impls = sorted(impls, key=lambda i: 0 if i.tryfirst else (2 if i.trylast else 1))
    for impl in impls:
        wanted = {k: v for k, v in kwargs.items() if k in impl.argnames}
        try:
            result = impl.function(**wanted)
        except PluginError:
            raise
        except Exception as exc:
            raise PluginError(Problem(f"plugin {impl.plugin_name!r}: {hook}", f"{type(exc).__name__}: {exc}")) from exc
        results.append((impl.plugin_name, result))
    return results


def results_of_type(results: list[tuple[str, Any]], hook: str, item: type, what: str) -> list[tuple[str, list[Any]]]:
    """Each plugin's result as a list of `item` (None counts as empty); anything else names plugin and hook."""
    checked = []
    for plugin, result in results:
        if result is None:
            result = []
        if not isinstance(result, list) or not all(isinstance(x, item) for x in result):
            raise PluginError(
                Problem(f"plugin {plugin!r}: {hook}", f"must return a list of {what}, got {type(result).__name__}")
            )
        checked.append((plugin, result))
    return checked


def plugin_infos(pm: pluggy.PluginManager) -> list[PluginInfo]:
    """Every registered plugin with its version and implemented hooks, built-ins first."""
    from gwpipe import __version__

    infos = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:
            continue
        hooks = tuple(sorted(c.name for c in pm.get_hookcallers(plugin) or []))
        builtin = name in BUILTIN_PLUGINS
        version = __version__ if builtin else _DIST_VERSIONS.get(name, getattr(plugin, "__version__", "unknown"))
        infos.append(PluginInfo(name, version, builtin, hooks))
    order = {n: i for i, n in enumerate(BUILTIN_PLUGINS)}
    return sorted(infos, key=lambda i: (order.get(i.name, len(order)), i.name))
