"""How each hook implementation is called: failures and bad results name plugin and hook, results carry their plugin."""

from __future__ import annotations

import functools
import inspect
import os
import sys
import time
import weakref
from typing import TYPE_CHECKING, Any

from gwpipe.errors import GwpipeError, PluginError, Problem

if TYPE_CHECKING:
    from collections.abc import Callable, Generator

    import pluggy

TRACE_VARIABLE = "GWPIPE_TRACE_PLUGINS"
# a result a hook wrapper put in the list itself, not one of the plugins' own
UNKNOWN_OWNER = "a hook wrapper"


class PluginList(list[Any]):
    """A hook implementation's list result, tagged with the plugin that returned it."""

    plugin: str = UNKNOWN_OWNER


class PluginDict(dict[str, Any]):
    """A hook implementation's mapping result, tagged with the plugin that returned it."""

    plugin: str = UNKNOWN_OWNER


def owner(result: object) -> str:
    """The plugin that returned `result` (a hook wrapper may add results that belong to no plugin)."""
    return getattr(result, "plugin", UNKNOWN_OWNER)


def _list_of(item: type, what: str, show_type: bool = True, none_ok: bool = True) -> Callable[[Any], str | None]:
    def check(result: Any) -> str | None:
        if (result is None and none_ok) or (isinstance(result, list) and all(isinstance(x, item) for x in result)):
            return None
        return f"must return a list of {what}" + (f", got {type(result).__name__}" if show_type else "")

    return check


def _dict_of(what: str, value_type: type | None, show_type: bool = True) -> Callable[[Any], str | None]:
    def check(result: Any) -> str | None:
        if result is None or (
            isinstance(result, dict) and (value_type is None or all(isinstance(v, value_type) for v in result.values()))
        ):
            return None
        return f"must return a {what}" + (f", got {type(result).__name__}" if show_type else "")

    return check


def _contracts() -> dict[str, Callable[[Any], str | None]]:
    from gwpipe.importer.model import ImportClaim
    from gwpipe.model import Finding, ResourceRequest

    return {
        "gwpipe_spec_schema": _dict_of("dict", dict, show_type=False),
        "gwpipe_validate_spec": _list_of(Problem, "Problem"),
        # a plugin that forgot its `return` would silently render nothing
        "gwpipe_resources": _list_of(ResourceRequest, "ResourceRequest", show_type=False, none_ok=False),
        "gwpipe_check": _list_of(Finding, "Finding"),
        "gwpipe_template_folders": _dict_of("dict of prefix to folder", str),
        "gwpipe_commands": _dict_of("dict of command name to 'module:attribute'", str),
        "gwpipe_import": _list_of(ImportClaim, "ImportClaim"),
    }


@functools.cache
def contract(hook: str) -> Callable[[Any], str | None] | None:
    """What `hook`'s implementations must return (None counts as empty but for gwpipe_resources); None: unchecked."""
    return _contracts().get(hook)


def _tagged(result: Any, plugin: str) -> Any:
    if isinstance(result, list):
        tagged: Any = PluginList(result)
    elif isinstance(result, dict):
        tagged = PluginDict(result)
    else:
        return result
    tagged.plugin = plugin
    return tagged


def _checked(result: Any, plugin: str, hook: str) -> Any:
    check = contract(hook)
    if check is None:
        return result
    problem = check(result)
    if problem is not None:
        raise PluginError(Problem(f"plugin {plugin!r}: {hook}", problem))
    return None if result is None else _tagged(result, plugin)


def _failure(exc: Exception, plugin: str, hook: str) -> PluginError:
    return PluginError(Problem(f"plugin {plugin!r}: {hook}", f"{type(exc).__name__}: {exc}"))


def _trace(hook: str, plugin: str, started: float) -> None:
    elapsed = (time.perf_counter() - started) * 1000
    print(f"trace: {hook} {plugin} {elapsed:.3f} ms", file=sys.stderr, flush=True)


def tracing() -> bool:
    """Whether GWPIPE_TRACE_PLUGINS asks for one stderr line per hook implementation call."""
    return os.environ.get(TRACE_VARIABLE, "") not in ("", "0")


_GUARDED: weakref.WeakSet[Callable[..., Any]] = weakref.WeakSet()


def guard(impl: pluggy.HookImpl, hook: str, trace: bool) -> None:
    """Replace `impl.function` by one that names plugin and hook on failure, checks and tags results, and traces."""
    function = impl.function
    if function in _GUARDED:
        return
    plugin = impl.plugin_name
    guarded: Callable[..., Any]
    if inspect.isgeneratorfunction(function):
        # a wrapper: pluggy drives the generator, so ours must stay one (send/throw pass through `yield from`)
        def guarded_wrapper(*args: Any) -> Generator[Any, Any, Any]:
            started = time.perf_counter()
            try:
                result = yield from function(*args)
            except GwpipeError:  # already says where: a located spec, check or plugin error
                raise
            except Exception as exc:
                raise _failure(exc, plugin, hook) from exc
            finally:
                if trace:
                    _trace(hook, plugin, started)
            if impl.wrapper and isinstance(result, list):
                for item in result:
                    _checked(item, plugin, hook)
            return result

        guarded = guarded_wrapper
    else:

        def guarded_call(*args: Any) -> Any:
            started = time.perf_counter()
            try:
                result = function(*args)
            except GwpipeError:  # already says where: a located spec, check or plugin error
                raise
            except Exception as exc:
                raise _failure(exc, plugin, hook) from exc
            finally:
                if trace:
                    _trace(hook, plugin, started)
            return _checked(result, plugin, hook)

        guarded = guarded_call
    _GUARDED.add(guarded)
    # pluggy marks the attribute final for its users; replacing it is the one way to act per implementation
    impl.function = guarded  # type: ignore[misc]


def guard_plugin(pm: pluggy.PluginManager, plugin: object) -> None:
    """Guard every hook implementation of `plugin` (hooks not yet specified included)."""
    trace = tracing()
    for caller in pm.get_hookcallers(plugin) or []:
        for impl in caller.get_hookimpls():
            if impl.plugin is plugin:
                guard(impl, caller.name, trace)
