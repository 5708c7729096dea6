"""validate: the merged schema, its owners, and every schema error path with its exact message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pluggy
import pytest

from gwpipe.errors import PluginError, Problem, SpecError
from gwpipe.hooks.manager import create_manager
from gwpipe.hooks.specs import hookimpl
from gwpipe.plugins import BUILTIN
from gwpipe.spec.load import load_spec
from gwpipe.spec.validate import CORE_SCHEMA, build_schema, validate_spec


@pytest.fixture
def pm() -> pluggy.PluginManager:
    return create_manager(entry_points=False)


def errors(tmp_path: Path, text: str, pm: pluggy.PluginManager) -> list[str]:
    path = tmp_path / "env.yaml"
    path.write_text(text)
    spec = load_spec(path, tmp_path)
    with pytest.raises(SpecError) as info:
        validate_spec(spec, build_schema(pm), pm)
    return [str(p).replace(str(path), "env.yaml") for p in info.value.problems]


HOST = "hosts:\n  a.example.com:\n    gateway: web\n    routes:\n      - destination: {host: app, port: 80}\n"
GATEWAY = "gateways:\n  web:\n    selector: {istio: ingressgateway}\n"


def test_valid_spec_passes(tmp_path: Path, pm: pluggy.PluginManager) -> None:
    path = tmp_path / "env.yaml"
    path.write_text("namespace: shop\n" + GATEWAY + HOST)
    validate_spec(load_spec(path, tmp_path), build_schema(pm), pm)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("namespace: no\n", "namespace: expected string, got boolean (YAML 1.1 read 'no' as boolean; quote it)"),
        (
            "namespace: 2024-01-15\n",
            "namespace: expected string, got date (YAML 1.1 read '2024-01-15' as date; quote it)",
        ),
        (
            "namespace: 2024-01-15 10:00:00\n",
            "namespace: expected string, got timestamp (YAML 1.1 read '2024-01-15 10:00:00' as timestamp; quote it)",
        ),
        (
            "istio:\n  version: 3.10\n",
            "istio.version: expected string, got number (YAML 1.1 read '3.10' as number; quote it)",
        ),
        ("namespace: 12\n", "namespace: expected string, got integer (YAML 1.1 read '12' as integer; quote it)"),
        ("namespace:\n", "namespace: required field empty"),
        ("gateways:\n  web:\n    httpPort: yes\n", "gateways.web.httpPort: expected integer, got boolean"),
        ("gateways:\n  web:\n    httpPort: '80'\n", "gateways.web.httpPort: expected integer, got string"),
        ("gateways:\n  web:\n    httpPort: 70000\n", "gateways.web.httpPort: must be at most 65535, got 70000"),
        ("gateways:\n  web:\n    httpPort: 0\n", "gateways.web.httpPort: must be at least 1, got 0"),
        ("gatewayRefs: long\n", "gatewayRefs: unsupported value, got 'long'; allowed: qualified, short"),
        (
            "istio:\n  version: '2.0'\n",
            "istio.version: invalid value, got '2.0'; expected a minor version such as \"1.24\"",
        ),
        ('namespace: "shop\\n"\n', "namespace: invalid value, got 'shop\\n'; expected a DNS-1123 label"),
        ("namespace: " + "a" * 64 + "\n", "namespace: must be at most 63 characters long"),
        ("gateways: {}\n", "gateways: needs at least 1 item(s)"),
        ("gateways: [web]\n", "gateways: expected mapping, got list"),
        ("namespce: shop\n", "namespce: unknown field; did you mean 'namespace'?"),
        (
            "zzzz: 1\n",
            "zzzz: unknown field; allowed: "
            + ", ".join(
                sorted(
                    [
                        "checks",
                        "gatewayRefs",
                        "gateways",
                        "hosts",
                        "istio",
                        "namespace",
                        "templates",
                        "tests",
                        "workloads",
                    ]
                )
            ),
        ),
    ],
)
def test_schema_messages(tmp_path: Path, text: str, message: str) -> None:
    pm = create_manager(
        entry_points=False,
        blocked=[name for name in BUILTIN if name != "http"],  # the core and http alone
    )
    [got] = errors(tmp_path, text, pm)
    assert got.split(": ", 1)[1] == message, got
    assert got.startswith("env.yaml:")


def test_unknown_nested_field_did_you_mean(tmp_path: Path, pm: pluggy.PluginManager) -> None:
    text = "namespace: shop\n" + GATEWAY + HOST.replace("gateway: web", "gatway: web")
    assert errors(tmp_path, text, pm) == [
        'env.yaml:7:5: hosts["a.example.com"].gateway: required field missing',
        "env.yaml:7:13: hosts[\"a.example.com\"].gatway: unknown field; did you mean 'gateway'?",
    ]


def test_all_errors_at_once_in_file_order(tmp_path: Path, pm: pluggy.PluginManager) -> None:
    text = "namespace: NO\nistio:\n  version: 1.2\ngatewayRefs: x\n"
    assert errors(tmp_path, text, pm) == [
        "env.yaml:1:12: namespace: expected string, got boolean (YAML 1.1 read 'NO' as boolean; quote it)",
        "env.yaml:3:12: istio.version: expected string, got number (YAML 1.1 read '1.2' as number; quote it)",
        "env.yaml:4:14: gatewayRefs: unsupported value, got 'x'; allowed: qualified, short",
    ]


class _Objector:
    @hookimpl
    def gwpipe_validate_spec(self, spec: Any) -> list[Problem]:
        return [spec.problem(("namespace",), "objection from a plugin")]


def test_plugin_problems_only_after_schema_passes(tmp_path: Path, pm: pluggy.PluginManager) -> None:
    pm.register(_Objector(), name="objector")
    assert errors(tmp_path, "namespace: shop\n", pm) == ["env.yaml:1:12: namespace: objection from a plugin"]
    assert errors(tmp_path, "namespace: NO\n", pm) == [
        "env.yaml:1:12: namespace: expected string, got boolean (YAML 1.1 read 'NO' as boolean; quote it)"
    ]


class _Wrong:
    @hookimpl
    def gwpipe_validate_spec(self, spec: Any) -> Any:
        return "fine"


def test_plugin_wrong_return_type(tmp_path: Path, pm: pluggy.PluginManager) -> None:
    pm.register(_Wrong(), name="wrong")
    path = tmp_path / "env.yaml"
    path.write_text("namespace: shop\n")
    with pytest.raises(PluginError) as info:
        validate_spec(load_spec(path, tmp_path), build_schema(pm), pm)
    assert [str(p) for p in info.value.problems] == [
        "plugin 'wrong': gwpipe_validate_spec: must return a list of Problem, got str"
    ]


class _Fragment:
    def __init__(self, fragment: Any) -> None:
        self.fragment = fragment

    @hookimpl
    def gwpipe_spec_schema(self) -> Any:
        return self.fragment


@pytest.mark.parametrize(
    ("fragment", "message"),
    [
        (
            {"": {"namespace": {"type": "string"}}},
            "plugin 'extra': gwpipe_spec_schema: field 'namespace' is already owned by plugin 'core'",
        ),
        (
            {"": {"hosts": {"type": "dict"}}},
            "plugin 'extra': gwpipe_spec_schema: field 'hosts' is already owned by plugin 'http'",
        ),
        (
            {"nowhere.*": {"x": {"type": "string"}}},
            "plugin 'extra': gwpipe_spec_schema: location 'nowhere.*' is not a declared mapping",
        ),
        (["not", "a", "dict"], "plugin 'extra': gwpipe_spec_schema: must return a dict"),
        ({"": {"x": {"type": "no-such-type"}}}, None),
    ],
)
def test_schema_fragment_errors(fragment: Any, message: str | None) -> None:
    # in entry-point position, after the built-ins: the later owner of a field is the one refused
    pm = create_manager(entry_points=False, plugins=[("extra", _Fragment(fragment))])
    with pytest.raises(PluginError) as info:
        build_schema(pm)
    [problem] = info.value.problems
    if message is None:
        assert str(problem).startswith("gwpipe_spec_schema: invalid cerberus schema: ")
    else:
        assert str(problem) == message


def test_nested_fragment_and_owners(pm: pluggy.PluginManager) -> None:
    pm.register(
        _Fragment({"hosts.*": {"extraField": {"type": "string"}}, "": {"mine": {"type": "integer"}}}), name="extra"
    )
    schema = build_schema(pm)
    assert schema.keys_of("extra") == ["hosts.*.extraField", "mine"]
    assert schema.keys_of("core") == sorted(CORE_SCHEMA)
    assert schema.schema["hosts"]["valuesrules"]["schema"]["extraField"] == {"type": "string"}
