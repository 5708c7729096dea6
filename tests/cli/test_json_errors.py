"""`-o json` failures: a document of error objects on stdout, the `error:` lines on stderr, the exit status kept."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from cli_env import gwpipe

from gwpipe.errors import Problem

from .commands import option, walk

KEYS = ["file", "line", "column", "field", "where", "message", "hint"]
BAD = "namespace: NO\n"
BAD_ERROR = {
    "file": "environments/bad.yaml",
    "line": 1,
    "column": 12,
    "field": "namespace",
    "where": "environments/bad.yaml:1:12: namespace",
    "message": "expected string, got boolean (YAML 1.1 read 'NO' as boolean; quote it)",
    "hint": None,
}
SPEC = "bad spec"
# a failing command line for every command with `-o json`, its exit status and where its error is: a new command
# must add its own
FAILING: dict[str, tuple[list[str], int, str]] = {
    "analyze": (["analyze", "x.yaml", "--istio-version", "9"], 2, "--istio-version"),
    "certs dev": (["certs", "dev", "bad", "--out", "keys"], 2, SPEC),
    "certs status": (["certs", "status", "bad"], 2, SPEC),
    "check": (["check", "bad"], 1, ".gwpipe/gitops"),
    "crds diff": (["crds", "diff", "1.x", "1.30"], 2, "OLD"),
    "crds list": (["crds", "list", "bad"], 2, SPEC),
    "import": (["import", "missing.yaml", "--env", "x", "-o", "x.yaml"], 2, "missing.yaml"),
    "init": (["init", "--env", "prod", "--domain", "bad_domain"], 2, "--domain 'bad_domain'"),
    "plan": (["plan", "bad"], 2, SPEC),
    "plugins": (["plugins", "--block", "tsl"], 2, "--block"),
    "propose": (["propose", "bad", "--remote", "/nowhere"], 2, SPEC),
    "render": (["render", "bad"], 2, SPEC),
    "status": (["status", "bad", "--server", "https://argocd.example"], 1, ".gwpipe/gitops"),
    "test": (["test", "bad"], 2, SPEC),
    "validate": (["validate", "bad"], 2, SPEC),
}


def failed_json(result: subprocess.CompletedProcess[str], status: int) -> list[dict[str, Any]]:
    """The error objects of a failed `-o json` run, after checking them against its stderr lines."""
    assert result.returncode == status, result.stderr
    document = json.loads(result.stdout)
    assert list(document) == ["ok", "errors"]
    assert document["ok"] is False
    errors: list[dict[str, Any]] = document["errors"]
    assert errors
    for error in errors:
        assert list(error) == KEYS
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    shown = [f"error: {e['where']}: {e['message']}" if e["where"] else f"error: {e['message']}" for e in errors]
    assert lines == shown or not lines  # click's own usage errors keep click's message on stderr
    return errors


def test_every_command_with_json_output_reports_failures_as_error_objects(cwd: Path) -> None:
    (cwd / "environments" / "bad.yaml").write_text(BAD)
    with_json = {
        path for path, command in walk() if (found := option(command, "--output")) and "json" in found.type.choices
    }  # type: ignore[attr-defined]
    assert with_json == set(FAILING)
    for path, (args, status, where) in FAILING.items():
        # `gwpipe import -o FILE` names the spec it writes; its format is `--output` alone
        result = gwpipe(cwd, *args, "--output", "json", ARGOCD_AUTH_TOKEN="not-a-real-token")
        errors = failed_json(result, status)
        if where == SPEC:
            assert errors == [BAD_ERROR], path
        else:
            assert [e["where"] for e in errors] == [where], path
    assert not (cwd / ".gwpipe").exists()
    assert not (cwd / "keys").exists()


def test_a_spec_error_with_a_hint_keeps_it(cwd: Path) -> None:
    spec = (
        (cwd / "environments" / "dev.yaml")
        .read_text()
        .replace("    routes:", "    tls: {credentialName: other/cert}\n    routes:")
    )
    (cwd / "environments" / "dev.yaml").write_text(spec)
    result = gwpipe(cwd, "validate", "dev", "-o", "json")
    [error] = failed_json(result, 2)
    assert error == {
        "file": "environments/dev.yaml",
        "line": 8,
        "column": 27,
        "field": 'hosts["a.example.com"].tls.credentialName',
        "where": 'environments/dev.yaml:8:27: hosts["a.example.com"].tls.credentialName',
        "message": "secret must be in the gateway workload namespace 'istio-system', got 'other/cert'",
        "hint": "use the plain name 'cert': Istio reads credentials only from the namespace of the gateway pods, "
        "and gwpipe puts Certificates there",
    }
    assert result.stderr.splitlines()[1] == f"hint: {error['hint']}"


def test_every_problem_of_several_specs_is_an_object(cwd: Path) -> None:
    (cwd / "environments" / "bad.yaml").write_text(BAD)
    (cwd / "environments" / "typo.yaml").write_text("namespace: shop\nhostz: {}\n")
    errors = failed_json(gwpipe(cwd, "validate", "bad", "typo", "-o", "json"), 2)
    assert [(e["file"], e["line"], e["field"], e["message"]) for e in errors] == [
        ("environments/bad.yaml", 1, "namespace", BAD_ERROR["message"]),
        ("environments/typo.yaml", 2, "hostz", "unknown field; did you mean 'hosts'?"),
    ]


def test_a_render_error_points_at_the_template_line(cwd: Path) -> None:
    override = cwd / "over" / "http"
    override.mkdir(parents=True)
    (override / "gateway.yaml.j2").write_text("apiVersion: v1\nkind: Gateway\n{{ nothing.here() }}\n")
    result = gwpipe(cwd, "render", "dev", "--out", "out", "--templates", "over", "-o", "json")
    [error] = failed_json(result, 1)
    assert error == {
        "file": "over/http/gateway.yaml.j2",
        "line": 3,
        "column": None,
        "field": None,
        "where": "over/http/gateway.yaml.j2:3",
        "message": "undefined variable: 'nothing' is undefined",
        "hint": None,
    }
    assert not (cwd / "out").exists()


def test_a_git_error_names_the_repository(cwd: Path) -> None:
    (cwd / "plain").mkdir()
    [error] = failed_json(gwpipe(cwd, "check", "dev", "--repo", "plain", "-o", "json"), 1)
    assert error == {
        "file": None,
        "line": None,
        "column": None,
        "field": None,
        "where": "plain",
        "message": "not a git repository (pass the GitOps checkout with --repo)",
        "hint": None,
    }


def test_errors_before_the_command_runs_honour_json_too(cwd: Path) -> None:
    [unknown] = failed_json(gwpipe(cwd, "render", "dev", "--output=json", "--zzzz-unknown"), 2)
    assert (unknown["where"], unknown["message"]) == (None, "No such option '--zzzz-unknown'.")
    [missing] = failed_json(gwpipe(cwd, "certs", "dev", "dev", "-ojson"), 2)
    assert (missing["where"], missing["message"]) == ("--out", "Missing option '--out'.")
    assert "Usage: " in gwpipe(cwd, "certs", "dev", "dev", "-ojson").stderr


def test_text_output_is_unchanged_one_line_per_problem(cwd: Path) -> None:
    (cwd / "environments" / "bad.yaml").write_text(BAD)
    result = gwpipe(cwd, "render", "bad")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"error: {BAD_ERROR['where']}: {BAD_ERROR['message']}\n"


def test_where_is_read_back_into_parts_when_a_problem_was_built_from_a_string() -> None:
    assert Problem("a/b.yaml:3:5: hosts.x", "bad").as_dict() == {
        "file": "a/b.yaml",
        "line": 3,
        "column": 5,
        "field": "hosts.x",
        "where": "a/b.yaml:3:5: hosts.x",
        "message": "bad",
        "hint": None,
    }
    assert Problem("templates/x.j2:7", "bad").as_dict()["line"] == 7
    assert Problem("git: /srv/gitops", "fatal: boom").as_dict()["file"] is None
    assert Problem("--block", "no plugin").as_dict()["file"] is None
    assert Problem("environments/dev.yaml", "spec file not found").as_dict()["file"] == "environments/dev.yaml"
    # explicit parts win, and a file name holding a colon keeps it
    odd = Problem.at("a:b.yaml", 2, 1, "namespace", "bad")
    assert (odd.where, odd.as_dict()["file"], odd.as_dict()["line"]) == ("a:b.yaml:2:1: namespace", "a:b.yaml", 2)
    assert odd == Problem("a:b.yaml:2:1: namespace", "bad")
