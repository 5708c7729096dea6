"""manager: built-in order, blocking, entry points, hook calls naming plugin and hook, plugin listing."""

from __future__ import annotations

from typing import Any

import pytest

from gwpipe import __version__
from gwpipe.errors import PluginError
from gwpipe.hooks import specs as hookspecs
from gwpipe.hooks.manager import BUILTIN_PLUGINS, call_each, create_manager, plugin_infos, results_of_type
from gwpipe.hooks.specs import hookimpl


def test_builtins_registered_in_tuple_order() -> None:
    pm = create_manager(entry_points=False)
    assert [name for name, _ in pm.list_name_plugin()] == list(BUILTIN_PLUGINS)


def test_block_by_name() -> None:
    pm = create_manager(blocked=["tls", "tcp"], entry_points=False)
    names = [name for name, plugin in pm.list_name_plugin() if plugin is not None]
    assert "tls" not in names
    assert "tcp" not in names
    assert "http" in names
    assert pm.is_blocked("tls")


def test_essential_plugin_cannot_be_blocked() -> None:
    with pytest.raises(PluginError) as info:
        create_manager(blocked=["http"], entry_points=False)
    assert [str(p) for p in info.value.problems] == ["plugin 'http': is essential and cannot be blocked"]


class _Raiser:
    @hookimpl
    def gwpipe_resources(self, spec: Any) -> Any:
        raise ValueError("broken on purpose")


class _Lister:
    @hookimpl(tryfirst=True)
    def gwpipe_resources(self, spec: Any) -> Any:
        return ["first"]


def test_call_each_names_plugin_and_hook() -> None:
    pm = create_manager(entry_points=False)
    pm.register(_Raiser(), name="raiser")
    with pytest.raises(PluginError) as info:
        call_each(pm, "gwpipe_resources", spec=_spec())
    assert [str(p) for p in info.value.problems] == ["plugin 'raiser': gwpipe_resources: ValueError: broken on purpose"]


def test_call_each_order_honours_tryfirst_and_registration() -> None:
    pm = create_manager(entry_points=False, blocked=[n for n in BUILTIN_PLUGINS if n != "http"])
    pm.register(_Lister(), name="lister")
    results = call_each(pm, "gwpipe_spec_schema")
    assert [name for name, _ in results] == ["http"]
    order = [name for name, _ in call_each(pm, "gwpipe_resources", spec=_spec())]
    assert order == ["lister", "http"]


def _spec() -> Any:
    from pathlib import Path

    from gwpipe.spec.load import Spec

    return Spec("dev", "dev.yaml", {"namespace": "shop"}, {}, Path.cwd())


def test_results_of_type() -> None:
    assert results_of_type([("a", None), ("b", [1])], "gwpipe_check", int, "int") == [("a", []), ("b", [1])]
    with pytest.raises(PluginError) as info:
        results_of_type([("a", (1,))], "gwpipe_check", int, "int")
    assert str(info.value) == "plugin 'a': gwpipe_check: must return a list of int, got tuple"


def test_plugin_infos_list_versions_and_hooks() -> None:
    pm = create_manager(entry_points=False)
    infos = {i.name: i for i in plugin_infos(pm)}
    assert list(infos) == list(BUILTIN_PLUGINS)
    http = infos["http"]
    assert http.version == __version__
    assert http.builtin
    assert set(http.hooks) >= {"gwpipe_resources", "gwpipe_spec_schema", "gwpipe_validate_spec"}


def test_unknown_hook_fails_check_pending() -> None:
    import types

    module = types.ModuleType("typo")
    module.gwpipe_resource = hookimpl(lambda spec: [])  # type: ignore[attr-defined]
    pm = create_manager(entry_points=False)
    pm.register(module, name="typo")
    with pytest.raises(Exception, match="unknown hook 'gwpipe_resource'"):
        pm.check_pending()


def test_hookspecs_all_have_docstrings() -> None:
    specs = [n for n in dir(hookspecs) if n.startswith("gwpipe_")]
    assert len(specs) >= 6
    for name in specs:
        assert (getattr(hookspecs, name).__doc__ or "").strip(), name
