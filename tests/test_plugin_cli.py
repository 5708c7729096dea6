"""Plugins from the command line: GWPIPE_TRACE_PLUGINS, commands from plugins, --block names and the core's rules."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
from cli_env import GOOD, gwpipe

from gwpipe.hooks.manager import builtin_names


def install(cwd: Path, name: str, source: str) -> dict[str, str]:
    """`source` as an entry-point plugin `name`: a module and a .dist-info folder on PYTHONPATH."""
    site = cwd / "site"
    site.mkdir(exist_ok=True)
    (site / f"{name}.py").write_text(textwrap.dedent(source))
    info = site / f"{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[gwpipe]\n{name} = {name}\n")
    return {"PYTHONPATH": str(site)}


def test_trace_prints_one_line_per_implementation_call(cwd: Path) -> None:
    result = gwpipe(cwd, "render", "dev", "--out", "out", GWPIPE_TRACE_PLUGINS="1")
    assert result.returncode == 0, result.stderr
    traces = [line for line in result.stderr.splitlines() if line.startswith("trace: ")]
    assert traces, result.stderr
    for line in traces:
        assert re.fullmatch(r"trace: gwpipe_[a-z_]+ [a-z_]+ \d+\.\d{3} ms", line), line
    calls = [tuple(line.split()[1:3]) for line in traces]
    assert ("gwpipe_commands", "commands") in calls
    assert ("gwpipe_spec_schema", "http") in calls
    assert ("gwpipe_check", "schema") in calls
    modify = [plugin for hook, plugin in calls if hook == "gwpipe_modify_resources"]
    assert modify == ["tls", "redirect", "mtls", "tcp", "logging", "namespaces", "gitops", "objects"]
    quiet = gwpipe(cwd, "render", "dev", "--out", "out2")
    assert "trace:" not in quiet.stderr


def test_block_with_a_typo_is_a_usage_error(cwd: Path) -> None:
    result = gwpipe(cwd, "render", "dev", "--out", "out", "--block", "tsl")
    assert result.returncode == 2
    assert result.stderr.splitlines() == ["error: --block: no plugin named 'tsl'; did you mean 'tls'?"]
    far = gwpipe(cwd, "plugins", "--block=zzzz")
    assert (far.returncode, far.stderr.splitlines()) == (2, ["error: --block: no plugin named 'zzzz'"])
    assert not (cwd / "out").exists()


def test_check_plugins_are_listed_and_blockable_but_the_secret_scan_is_essential(cwd: Path) -> None:
    rows = json.loads(gwpipe(cwd, "plugins", "--output", "json").stdout)
    names = [r["name"] for r in rows]
    assert names == list(builtin_names())
    by_name = {r["name"]: r for r in rows}
    for check in ("objects", "secrets", "schema", "analysis"):
        assert by_name[check]["builtin"], check
        assert "gwpipe_check" in by_name[check]["hooks"], check
    assert by_name["commands"]["hooks"] == ["gwpipe_commands"]
    blocked = json.loads(gwpipe(cwd, "plugins", "--block", "analysis", "--output", "json").stdout)
    assert "analysis" not in [r["name"] for r in blocked]
    for essential in ("secrets", "commands", "http"):
        refused = gwpipe(cwd, "render", "dev", "--out", "out", "--block", essential)
        assert refused.returncode == 1
        assert refused.stderr.splitlines() == [f"error: plugin {essential!r}: is essential and cannot be blocked"]


IDLE = GOOD.replace("gateways:\n", "gateways:\n  idle:\n    selector: {istio: ingressgateway}\n")


@pytest.mark.parametrize("blocked", [(), ("--block", "tcp")])
def test_a_gateway_without_servers_is_refused_with_or_without_tcp(cwd: Path, blocked: tuple[str, ...]) -> None:
    # `idle` would only carry a tcp entry; with tcp blocked the core still refuses a Gateway without servers
    (cwd / "environments" / "dev.yaml").write_text(IDLE)
    result = gwpipe(cwd, "render", "dev", "--out", "out", *blocked)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "error: environments/dev.yaml:4:5: gateways.idle: Gateway shop/idle has no servers; "
        "bind a host or a tcp entry to it, or remove it"
    ]
    assert not (cwd / "out").exists()


COMMAND_PLUGIN = """\
import click
from gwpipe.hooks.specs import hookimpl

@click.command()
def hello():
    '''Say hello from a plugin.'''
    click.echo("hello from a plugin")

@hookimpl
def gwpipe_commands():
    return {"hello": "hellocmd:hello"}
"""


def test_a_plugin_adds_a_command(cwd: Path) -> None:
    env = install(cwd, "hellocmd", COMMAND_PLUGIN)
    result = gwpipe(cwd, "hello", **env)
    assert (result.returncode, result.stdout) == (0, "hello from a plugin\n")
    listed = gwpipe(cwd, "--help", **env).stdout
    assert re.search(r"^  hello +Say hello from a plugin\.$", listed, re.M), listed
    blocked = gwpipe(cwd, "hello", "--block", "hellocmd", **env)
    assert blocked.returncode == 2
    assert "No such command 'hello'" in blocked.stderr


def test_two_plugins_registering_one_command_name_both(cwd: Path) -> None:
    env = install(cwd, "clash", COMMAND_PLUGIN.replace('"hello": "hellocmd:hello"', '"render": "clash:hello"'))
    result = gwpipe(cwd, "render", "dev", **env)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "error: plugin 'clash': gwpipe_commands: command 'render' is also registered by plugin 'commands'"
    ]


def test_a_command_that_cannot_be_imported_names_plugin_and_command(cwd: Path) -> None:
    env = install(cwd, "broken", COMMAND_PLUGIN.replace('"hellocmd:hello"', '"no_such_module:hello"'))
    result = gwpipe(cwd, "hello", **env)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "error: plugin 'broken': command 'hello' cannot be loaded: "
        "ModuleNotFoundError: No module named 'no_such_module'"
    ]
    assert "Traceback" not in result.stderr
