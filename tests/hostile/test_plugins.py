"""Hostile third-party plugins (catalogue rows 31-34, 38), loaded through real `gwpipe` entry points."""

from __future__ import annotations

import json
import textwrap

from .conftest import GOOD_SPEC, Workspace, assert_f0, install_plugin

HEADER = """\
from gwpipe.hooks.specs import hookimpl
from gwpipe.model import ResourceRequest, Finding
from gwpipe.errors import Problem
"""


def plugin(ws: Workspace, name: str, body: str) -> None:
    install_plugin(ws, name, HEADER + textwrap.dedent(body))


def test_row31_plugin_raising_after_others_produced_output(workspace: Workspace) -> None:
    plugin(
        workspace,
        "boom",
        """
        @hookimpl
        def gwpipe_resources(spec):
            raise RuntimeError("kaboom")
        """,
    )
    workspace.write("good", GOOD_SPEC.replace("a.example.com", "c.example.com"))
    assert_f0(workspace, ["render", "good"], [r"plugin 'boom': gwpipe_resources: RuntimeError: kaboom"], exit_code=1)


def test_row31_plugin_raising_in_modify(workspace: Workspace) -> None:
    plugin(
        workspace,
        "boom",
        """
        @hookimpl
        def gwpipe_modify_resources(spec, resources):
            resources.of_kind("Gateway")[0].values["x"] = 1
            raise KeyError("servers")
        """,
    )
    assert_f0(
        workspace, ["render", "good"], [r"plugin 'boom': gwpipe_modify_resources: KeyError: 'servers'"], exit_code=1
    )


def test_row32_resources_returning_none(workspace: Workspace) -> None:
    plugin(workspace, "nothing", "@hookimpl\ndef gwpipe_resources(spec):\n    return None\n")
    assert_f0(
        workspace,
        ["render", "good"],
        [r"plugin 'nothing': gwpipe_resources: must return a list of ResourceRequest"],
        exit_code=1,
    )


def test_row32_validate_returning_wrong_type(workspace: Workspace) -> None:
    plugin(workspace, "wrong", "@hookimpl\ndef gwpipe_validate_spec(spec):\n    return 'looks fine'\n")
    assert_f0(
        workspace,
        ["render", "good"],
        [r"plugin 'wrong': gwpipe_validate_spec: must return a list of Problem, got str"],
        exit_code=1,
    )


def test_row32_check_returning_wrong_items(workspace: Workspace) -> None:
    plugin(workspace, "wrong", "@hookimpl\ndef gwpipe_check(spec, objects):\n    return [{'code': 'X'}]\n")
    assert_f0(
        workspace,
        ["render", "good"],
        [r"plugin 'wrong': gwpipe_check: must return a list of Finding, got list"],
        exit_code=1,
    )


def test_row32_template_folders_wrong_type(workspace: Workspace) -> None:
    plugin(workspace, "wrong", "@hookimpl\ndef gwpipe_template_folders():\n    return ['tpl']\n")
    assert_f0(
        workspace,
        ["render", "good"],
        [r"plugin 'wrong': gwpipe_template_folders: must return a dict of prefix to folder, got list"],
        exit_code=1,
    )


def test_row32_hookimpl_signature_not_matching_the_spec(workspace: Workspace) -> None:
    plugin(workspace, "badsig", "@hookimpl\ndef gwpipe_resources(spec, cluster):\n    return []\n")
    assert_f0(
        workspace,
        ["render", "good"],
        [
            r"plugin 'badsig': Plugin 'badsig' for hook 'gwpipe_resources'; "
            r"hookimpl definition: gwpipe_resources\(spec, cluster\); "
            r"Argument\(s\) \{'cluster'\} are declared in the hookimpl but can not be found in the hookspec"
        ],
        exit_code=1,
    )


def test_row32_misspelt_hook_fails_loudly(workspace: Workspace) -> None:
    plugin(workspace, "typo", "@hookimpl\ndef gwpipe_resource(spec):\n    return []\n")
    assert_f0(
        workspace,
        ["render", "good"],
        [r"plugin 'typo': unknown hook 'gwpipe_resource' in plugin <module 'typo' from '.*/site/typo\.py'>"],
        exit_code=1,
    )


def test_row33_two_plugins_emit_the_same_object(workspace: Workspace) -> None:
    plugin(
        workspace,
        "dup",
        """
        @hookimpl
        def gwpipe_resources(spec):
            return [ResourceRequest("dup", "http/gateway.yaml.j2", "networking.istio.io/v1", "Gateway", "web", "shop",
                                    {"selector": {}, "servers": []})]
        """,
    )
    assert_f0(
        workspace,
        ["render", "good"],
        [r"plugin 'dup': gwpipe_resources: Gateway shop/web is also produced by plugin 'http'"],
        exit_code=1,
    )


EVIL = """
import pathlib
pathlib.Path("imported-evil").touch()

@hookimpl
def gwpipe_resources(spec):
    return []
"""


def test_row34_entry_points_are_the_allow_list_and_block_works(workspace: Workspace) -> None:
    plugin(workspace, "evil", EVIL)
    listed = workspace.run("plugins", "--output", "json")
    assert listed.returncode == 0, listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows["evil"] == {
        "name": "evil",
        "version": "0.1",
        "builtin": False,
        "hooks": ["gwpipe_resources"],
        "spec_keys": [],
    }
    (workspace.root / "imported-evil").unlink()
    blocked = workspace.run("plugins", "--block", "evil", "--output", "json")
    assert "evil" not in {row["name"] for row in json.loads(blocked.stdout)}
    assert not (workspace.root / "imported-evil").exists()
    result = workspace.run("render", "good", "--block", "evil", "--out", "out")
    assert result.returncode == 0, result.stderr
    assert not (workspace.root / "imported-evil").exists()


def test_row34_spec_cannot_choose_plugins(workspace: Workspace) -> None:
    workspace.write("bad", "namespace: shop\nplugins: [evil]\n")
    assert_f0(workspace, ["render", "bad"], [r"environments/bad\.yaml:2:10: plugins: unknown field; allowed: .*"])


def test_row34_essential_plugin_cannot_be_blocked(workspace: Workspace) -> None:
    assert_f0(
        workspace,
        ["render", "good", "--block", "http"],
        [r"plugin 'http': is essential and cannot be blocked"],
        exit_code=1,
    )


def test_row38_invalid_kubernetes_names_after_templating(workspace: Workspace) -> None:
    folder = workspace.root / "site" / "badname_tpl"
    plugin(
        workspace,
        "badname",
        f"""
        @hookimpl
        def gwpipe_template_folders():
            return {{"badname": {str(folder)!r}}}

        @hookimpl
        def gwpipe_resources(spec):
            return [ResourceRequest("badname", "badname/cm.yaml.j2", "v1", "ConfigMap", "Bad_Name", "shop", {{}})]
        """,
    )
    folder.mkdir()
    (folder / "cm.yaml.j2").write_text(
        '{% from "_macros/metadata.j2" import metadata %}\napiVersion: v1\nkind: ConfigMap\n{{ metadata(meta) -}}\ndata: {}\n'
    )
    assert_f0(
        workspace,
        ["render", "good"],
        [
            r"shop/configmap-Bad_Name\.yaml: GWP0001 ConfigMap shop/Bad_Name: name 'Bad_Name' is not a valid Kubernetes name for a ConfigMap"
        ],
        exit_code=1,
    )
