"""manager: built-in order, blocking, entry points, hook calls naming plugin and hook, plugin listing."""

from __future__ import annotations

from typing import Any

import pytest

from gwpipe import __version__
from gwpipe.errors import PluginError
from gwpipe.hooks import specs as hookspecs
from gwpipe.hooks.calls import owner
from gwpipe.hooks.manager import CORE_PLUGINS, builtin_names, create_manager, plugin_infos
from gwpipe.hooks.specs import hookimpl
from gwpipe.plugins import BUILTIN


def test_plugins_registered_in_reverse_call_order() -> None:
    # pluggy calls the plugin registered last first: the registry order is the reverse of registration
    pm = create_manager(entry_points=False)
    assert [name for name, _ in pm.list_name_plugin()] == list(reversed([*CORE_PLUGINS, *BUILTIN]))


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


class _First:
    @hookimpl(tryfirst=True)
    def gwpipe_spec_schema(self) -> Any:
        return {}


class _Last:
    @hookimpl(trylast=True)
    def gwpipe_spec_schema(self) -> Any:
        return {}


def test_a_failing_implementation_names_plugin_and_hook() -> None:
    pm = create_manager(entry_points=False)
    pm.register(_Raiser(), name="raiser")
    with pytest.raises(PluginError) as info:
        pm.hook.gwpipe_resources(spec=_spec())
    assert [str(p) for p in info.value.problems] == ["plugin 'raiser': gwpipe_resources: ValueError: broken on purpose"]


def test_call_order_honours_tryfirst_and_registry() -> None:
    pm = create_manager(entry_points=False, blocked=[n for n in BUILTIN if n not in ("http", "tls")])
    assert [owner(r) for r in pm.hook.gwpipe_spec_schema()] == ["http", "tls"]
    pm.register(_Last(), name="last")
    pm.register(_First(), name="first")
    assert [owner(r) for r in pm.hook.gwpipe_spec_schema()] == ["first", "http", "tls", "last"]


def _spec() -> Any:
    from pathlib import Path

    from gwpipe.spec.load import Spec

    return Spec("dev", "dev.yaml", {"namespace": "shop"}, {}, Path.cwd())


class _Tuple:
    @hookimpl
    def gwpipe_check(self, spec: Any, objects: Any) -> Any:
        return ()


class _Nothing:
    @hookimpl
    def gwpipe_check(self, spec: Any, objects: Any) -> Any:
        return None


def test_results_are_checked_against_the_hook_contract() -> None:
    pm = create_manager(entry_points=False, blocked=["objects", "schema", "analysis", "istioctl"])
    pm.register(_Nothing(), name="nothing")
    results = pm.hook.gwpipe_check(spec=_spec(), objects=[])
    # None counts as empty: pluggy leaves it out
    assert [owner(r) for r in results] == [
        "secrets",
        "logging",
        "gateway_split",
        "pilot_filter",
        "namespaces",
        "gitops",
    ]
    assert results == [[]] * 6
    pm.register(_Tuple(), name="tuple")
    with pytest.raises(PluginError) as info:
        pm.hook.gwpipe_check(spec=_spec(), objects=[])
    assert str(info.value) == "plugin 'tuple': gwpipe_check: must return a list of Finding, got tuple"


def test_plugin_infos_list_versions_and_hooks() -> None:
    pm = create_manager(entry_points=False)
    infos = {i.name: i for i in plugin_infos(pm)}
    assert list(infos) == list(builtin_names())
    assert infos["schema"].hooks == ("gwpipe_check",)
    assert infos["commands"].builtin
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
