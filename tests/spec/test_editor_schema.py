"""`gwpipe schema`: a deterministic JSON Schema that every spec gwpipe accepts passes, and known-bad specs fail."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from gwpipe.cli.main import main
from gwpipe.hooks.manager import create_manager
from gwpipe.spec.editorschema import editor_schema
from gwpipe.spec.validate import build_schema
from gwpipe.spec.yamlload import load_yaml_file

REPO = Path(__file__).resolve().parents[2]
SPEC_FILES = sorted([*REPO.glob("environments/*.yaml"), *REPO.glob("examples/walkthrough/*.yaml")])
sys.path.insert(0, str(REPO / "tests"))
from cli_env import GOOD  # noqa: E402


@pytest.fixture(scope="module")
def printed() -> dict[str, Any]:
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0, result.stderr
    schema: dict[str, Any] = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def errors(schema: dict[str, Any], document: Any) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema)
    return sorted(f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document))


def test_output_is_deterministic_and_2020_12(printed: dict[str, Any]) -> None:
    again = CliRunner().invoke(main, ["schema"]).stdout
    assert json.loads(again) == printed
    assert again == json.dumps(printed, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert printed["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert {"vars", "extends", "hosts", "namespace", "gitops", "logging", "tcp"} <= set(printed["properties"])


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_example_spec_passes(printed: dict[str, Any], path: Path) -> None:
    assert errors(printed, load_yaml_file(str(path), path.name).data) == []


def test_the_command_line_fixture_spec_passes(printed: dict[str, Any]) -> None:
    import yaml

    assert errors(printed, yaml.safe_load(GOOD)) == []


def test_variables_pass_where_a_value_is_constrained(printed: dict[str, Any]) -> None:
    spec = {
        "vars": {"domain": "example.com", "port": 8080},
        "extends": "_base.yaml",
        "hosts": {"api.${domain}": {"gateway": "web", "routes": [{"destination": {"host": "app", "port": "${port}"}}]}},
        "namespace": None,  # an overlay deletes an inherited key with null
    }
    assert errors(printed, spec) == []


def test_known_bad_specs_fail(printed: dict[str, Any]) -> None:
    bad = {
        "namespce": "shop",
        "hosts": {
            "Bad_Host": {"gateway": "web", "routes": [{"destination": {"host": "app", "port": 70000}}]},
            "a.example.com": {"gateway": "web", "routes": [{"destination": {"host": "app", "port": "eighty"}}]},
        },
        "vars": {"9x": "y", "ok": ["list"]},
    }
    found = errors(printed, bad)
    assert any(e.startswith(": Additional properties are not allowed ('namespce'") for e in found), found
    assert any(e.startswith("hosts: 'Bad_Host' is not valid") for e in found), found
    assert any(e.startswith("hosts.Bad_Host.routes.0.destination.port:") for e in found), found
    assert any(e.startswith("hosts.a.example.com.routes.0.destination.port:") for e in found), found
    assert any(e.startswith("vars: '9x' does not match") for e in found), found
    assert any(e.startswith("vars.ok: ['list'] is not of type") for e in found), found


def test_a_third_party_plugins_keys_appear_and_blocked_ones_do_not() -> None:
    class Greeter:
        from gwpipe.hooks.specs import hookimpl

        @hookimpl
        def gwpipe_spec_schema(self) -> dict[str, dict[str, Any]]:
            return {"": {"hello": {"type": "dict", "schema": {"message": {"type": "string", "required": True}}}}}

    pm = create_manager(entry_points=False, plugins=[("greeter", Greeter())], blocked=["logging"])
    schema = editor_schema(build_schema(pm).schema)
    assert "logging" not in schema["properties"]
    hello = schema["properties"]["hello"]
    assert hello["properties"]["message"] == {"type": ["null", "string"]}
    assert errors(schema, {"hello": {"message": "hi"}}) == []
    assert errors(schema, {"hello": {"mesage": "hi"}}) == [
        "hello: Additional properties are not allowed ('mesage' was unexpected)"
    ]


def test_block_option_leaves_a_plugins_keys_out() -> None:
    result = CliRunner().invoke(main, ["schema", "--block", "logging"])
    assert result.exit_code == 0, result.stderr
    assert "logging" not in json.loads(result.stdout)["properties"]


@pytest.mark.parametrize("key", ["vars", "extends"])
def test_no_plugin_may_claim_the_loaders_keys(key: str) -> None:
    from gwpipe.errors import PluginError
    from gwpipe.hooks.specs import hookimpl

    class Claimer:
        @hookimpl
        def gwpipe_spec_schema(self) -> dict[str, dict[str, Any]]:
            return {"": {key: {"type": "dict"}}}

    with pytest.raises(PluginError) as caught:
        build_schema(create_manager(entry_points=False, plugins=[("claimer", Claimer())]))
    assert [str(p) for p in caught.value.problems] == [
        f"plugin 'claimer': gwpipe_spec_schema: field {key!r} is reserved for "
        + ("spec variables" if key == "vars" else "a spec's base")
    ]
