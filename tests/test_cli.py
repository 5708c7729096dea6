"""cli: exit codes 0/1/2, error lines, --output json, --debug tracebacks, `plugins`, `validate` writes nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cli_env import GOOD, gwpipe

from gwpipe import __version__
from gwpipe.hooks.manager import builtin_names


def test_render_commits_and_reports(cwd: Path) -> None:
    result = gwpipe(cwd, "render", "dev")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("dev: 2 objects; files: 3 added, 0 changed, 0 removed; committed ")
    again = gwpipe(cwd, "render", "dev", "--output", "json")
    assert again.returncode == 0
    payload = json.loads(again.stdout)
    assert payload["ok"] is True
    [entry] = payload["results"]
    assert (entry["environment"], entry["objects"], entry["changed"], entry["commit"]) == ("dev", 2, False, None)


def test_render_all_and_out(cwd: Path) -> None:
    (cwd / "environments" / "prod.yaml").write_text(GOOD)
    (cwd / "environments" / "_base.yaml").write_text(GOOD)
    result = gwpipe(cwd, "render", "--all", "--out", "out")
    assert result.returncode == 0, result.stderr
    assert sorted(os.listdir(cwd / "out")) == ["dev", "prod"]
    assert not (cwd / ".gwpipe").exists()


def test_exit_2_for_spec_errors_with_json(cwd: Path) -> None:
    (cwd / "environments" / "bad.yaml").write_text("namespace: NO\n")
    result = gwpipe(cwd, "render", "bad", "--output", "json")
    assert result.returncode == 2
    line = (
        "environments/bad.yaml:1:12: namespace: expected string, got boolean (YAML 1.1 read 'NO' as boolean; quote it)"
    )
    assert result.stderr == f"error: {line}\n"
    error = {
        "file": "environments/bad.yaml",
        "line": 1,
        "column": 12,
        "field": "namespace",
        "where": "environments/bad.yaml:1:12: namespace",
        "message": "expected string, got boolean (YAML 1.1 read 'NO' as boolean; quote it)",
        "hint": None,
    }
    assert json.loads(result.stdout) == {"ok": False, "errors": [error]}


def test_exit_2_for_usage_errors(cwd: Path) -> None:
    result = gwpipe(cwd, "render")
    assert (result.returncode, result.stderr) == (
        2,
        "error: arguments: name an environment (e.g. prod), a spec file, or pass --all\n",
    )
    result = gwpipe(cwd, "render", "--all", "--specs", "nowhere")
    assert (result.returncode, result.stderr) == (2, "error: nowhere: no such folder of environment specs\n")


def test_exit_1_for_render_failures_and_debug_traceback(cwd: Path) -> None:
    (cwd / "tpl" / "http").mkdir(parents=True)
    (cwd / "tpl" / "http" / "gateway.yaml.j2").write_text("{{ nope | tojson }}\n")
    result = gwpipe(cwd, "render", "dev", "--templates", "tpl", "--out", "out")
    assert result.returncode == 1
    assert result.stderr == "error: tpl/http/gateway.yaml.j2:1: undefined variable: 'nope' is undefined\n"
    debug = gwpipe(cwd, "--debug", "render", "dev", "--templates", "tpl", "--out", "out")
    assert debug.returncode == 1
    assert "Traceback (most recent call last)" in debug.stderr
    assert debug.stderr.rstrip().endswith("error: tpl/http/gateway.yaml.j2:1: undefined variable: 'nope' is undefined")
    late = gwpipe(cwd, "render", "dev", "--templates", "tpl", "--out", "out", "--debug")
    assert "Traceback (most recent call last)" in late.stderr


def test_validate_writes_nothing(cwd: Path) -> None:
    before = sorted(p.relative_to(cwd) for p in cwd.rglob("*"))
    result = gwpipe(cwd, "validate", "dev")
    assert (result.returncode, result.stdout, result.stderr) == (0, "dev: valid\n", "")
    assert json.loads(gwpipe(cwd, "validate", "dev", "--output", "json").stdout) == {
        "ok": True,
        "environments": ["dev"],
    }
    assert sorted(p.relative_to(cwd) for p in cwd.rglob("*")) == before


def test_validate_reports_every_environment(cwd: Path) -> None:
    (cwd / "environments" / "a.yaml").write_text("namespace: NO\n")
    (cwd / "environments" / "b.yaml").write_text("namespce: x\n")
    result = gwpipe(cwd, "validate", "a", "b", "dev")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: environments/a.yaml:1:12: namespace: expected string, got boolean (YAML 1.1 read 'NO' as boolean; quote it)",
        "error: environments/b.yaml:1:11: namespce: unknown field; did you mean 'namespace'?",
    ]


def test_plugins_lists_versions_hooks_and_spec_keys(cwd: Path) -> None:
    result = gwpipe(cwd, "plugins", "--output", "json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    builtins = [r for r in rows if r["builtin"]]
    assert [r["name"] for r in builtins] == list(builtin_names())
    http = builtins[0]
    assert http["version"] == __version__
    assert http["spec_keys"] == ["gatewayRefs", "gateways", "hosts", "workloads"]
    assert {"gwpipe_resources", "gwpipe_spec_schema", "gwpipe_validate_spec"} <= set(http["hooks"])
    text = gwpipe(cwd, "plugins").stdout.splitlines()
    assert text[:3] == [
        f"http {__version__} (built-in)",
        "  hooks: " + ", ".join(http["hooks"]),
        "  spec keys: gatewayRefs, gateways, hosts, workloads",
    ]
    blocked = json.loads(gwpipe(cwd, "plugins", "--block", "tcp", "--output", "json").stdout)
    assert "tcp" not in [r["name"] for r in blocked]


def test_plan_writes_nothing(cwd: Path) -> None:
    result = gwpipe(cwd, "plan", "dev", "--output", "json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["ok"] is True
    assert [p["environment"] for p in payload["plans"]] == ["dev"]
    assert not (cwd / ".gwpipe").exists()


def test_version_and_broken_pipe(cwd: Path) -> None:
    assert gwpipe(cwd, "--version").stdout == f"gwpipe, version {__version__}\n"
    proc = subprocess.Popen(
        [sys.executable, "-m", "gwpipe", "plugins"], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None
    proc.stdout.close()
    _, err = proc.communicate(timeout=60)
    assert b"Traceback" not in err
    assert b"internal" not in err
