"""`gwpipe test`: cases files and spec `tests:`, JSON and JUnit output, coverage, probes, exit codes, errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from xml.etree import ElementTree

import pytest
import yaml
from click.testing import CliRunner

from gwpipe.cli.main import main

REPO = Path(__file__).resolve().parent.parent.parent
PROD = REPO / "tests" / "golden" / "environments" / "prod"

CASES = """\
cases:
- name: canary gets 5 percent
  request: {scheme: https, host: api.example.com, port: 443, path: /v2/users, method: GET,
            headers: {x-user: qa}, sni: api.example.com}
  expect: {weights: [{host: api-v2, port: 8080, weight: 95}, {host: api-v2-canary, port: 8080, weight: 5}]}
- name: old paths move
  request: {scheme: http, host: shop.example.com, path: /old/cart}
  expect: {redirect: {status: 301, location: "https://shop.example.com/old/cart"}}
"""


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_cases_file_against_manifest_folder_json(tmp_path: Path) -> None:
    cases = tmp_path / "cases.yaml"
    cases.write_text(CASES)
    code, out, _err = run("test", str(PROD), "--cases", str(cases), "--output", "json")
    assert code == 0
    data = json.loads(out)
    assert [(c["name"], c["passed"]) for c in data["cases"]] == [
        ("canary gets 5 percent", True),
        ("old paths move", True),
    ]
    assert data["cases"][1]["actual"]["redirect"] == {"status": 301, "location": "https://shop.example.com/old/cart"}
    assert data["coverage"]["manifests"]["covered"] == 1
    assert data["coverage"]["manifests"]["routes"] == 8


def test_failing_case_exits_1_and_writes_junit(tmp_path: Path) -> None:
    cases = tmp_path / "cases.yaml"
    cases.write_text(CASES.replace("weight: 5}", "weight: 6}").replace("weight: 95}", "weight: 94}"))
    junit = tmp_path / "report.xml"
    code, out, _err = run("test", str(PROD), "--cases", str(cases), "--junit", str(junit))
    assert code == 1
    assert out.splitlines()[0].startswith('FAIL canary gets 5 percent: expected {"weights"')
    assert "got api-v2:8080 95%, api-v2-canary:8080 5%" in out.splitlines()[0]
    suite = ElementTree.parse(junit).getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")
    failures = [c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None]
    assert failures == ["canary gets 5 percent"]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (
            "cases:\n- name: a\n  request: {scheme: ftp, host: x}\n  expect: {status: 404}\n",
            "3: cases[0].request.scheme: expected one of http, https, tcp, tls, got 'ftp'",
        ),
        (
            "cases:\n- name: a\n  request: {scheme: http, host: x}\n  expect: {status: 404, connection: fail}\n",
            "4: cases[0].expect: required: exactly one of destination, weights, redirect, status, connection",
        ),
        (
            "cases:\n- name: a\n  request: {scheme: http, host: x, colour: red}\n  expect: {status: 404}\n",
            "3: cases[0].request.colour: unknown field",
        ),
        (
            "cases:\n- name: a\n  request: {scheme: tcp}\n  expect: {connection: fail}\n",
            "3: cases[0].request.port: required for scheme tcp",
        ),
        (
            "cases:\n- name: a\n  request: {scheme: http, host: x}\n  expect: {weights: [{host: a, weight: 101}]}\n",
            "4: cases[0].expect.weights[0]: weight must be a number 0-100, got 101",
        ),
        ("tests: []\n", "1: tests: unknown field (expected cases)"),
    ],
)
def test_cases_file_errors_are_located(tmp_path: Path, text: str, error: str) -> None:
    cases = tmp_path / "cases.yaml"
    cases.write_text(text)
    code, out, err = run("test", str(PROD), "--cases", str(cases))
    assert code == 2
    assert out == ""
    assert err.splitlines() == [f"error: {cases}:{error}"]


def test_environment_tests_and_coverage_gate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    specs = tmp_path / "environments"
    shutil.copytree(REPO / "environments", specs)
    monkeypatch.chdir(tmp_path)
    code, out, _err = run("test", "staging", "--output", "json")
    assert code == 0
    data = json.loads(out)
    assert data["summary"] == {"cases": 6, "passed": 6, "failed": 0}
    assert data["coverage"]["staging"]["percent"] == 100.0
    spec = yaml.safe_load((specs / "staging.yaml").read_text())
    spec["tests"] = [{"name": "tcp only", "request": {"scheme": "tcp", "port": 5432}, "expect": {"connection": "fail"}}]
    (specs / "staging.yaml").write_text(yaml.safe_dump(spec))
    code, out, err = run("test", "staging", "--fail-under", "50")
    assert code == 1
    assert "FAIL staging: tcp only: expected" in out
    assert "staging: route coverage 33.3% (1/3 routes)" in out
    assert err.splitlines() == ["error: route coverage below 50%"]


def test_spec_tests_are_validated_with_locations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    specs = tmp_path / "environments"
    shutil.copytree(REPO / "environments", specs)
    monkeypatch.chdir(tmp_path)
    with (specs / "staging.yaml").open("a") as handle:
        handle.write("tests:\n  - name: x\n    request: {scheme: http, host: a}\n    expect: {status: 99}\n")
    code, _out, err = run("test", "staging")
    assert code == 2
    lines = (specs / "staging.yaml").read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if "status: 99" in text)
    assert err.splitlines() == [
        f"error: environments/staging.yaml:{line}: tests[0].expect.status: expected an HTTP status 100-599, got 99"
    ]


def test_explore_prints_probes_and_shadowed_routes(tmp_path: Path) -> None:
    manifests = tmp_path / "vs.yaml"
    gateway = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "gw", "namespace": "shop"},
        "spec": {
            "selector": {"istio": "x"},
            "servers": [{"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}],
        },
    }
    routes = [
        {"match": [{"uri": {"prefix": "/api"}}], "route": [{"destination": {"host": "api"}}]},
        {"match": [{"uri": {"prefix": "/api/v2"}}], "route": [{"destination": {"host": "v2"}}]},
        {"route": [{"destination": {"host": "web"}}]},
    ]
    vs = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": "app", "namespace": "shop"},
        "spec": {"hosts": ["a.example.com"], "gateways": ["gw"], "http": routes},
    }
    manifests.write_text(yaml.safe_dump_all([gateway, vs]))
    cases = tmp_path / "cases.yaml"
    cases.write_text("cases: []\n")
    code, out, _err = run("test", str(manifests), "--cases", str(cases), "--explore")
    assert code == 0
    lines = out.splitlines()
    assert "probe shop/app http[1]: GET http://a.example.com:80/api/v2 -> api, reached shop/app http[0]" in lines
    assert "probe shop/app http[2]: GET http://a.example.com:80/ -> web" in lines
    shadow = [line for line in lines if line.startswith("warning:")]
    assert shadow == [
        "warning: GWP0101 (Warning) VirtualService shop/app: http[1] is shadowed by http[0]: "
        "every request it matches, http[0] matches first"
    ]


def test_no_cases_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    specs = tmp_path / "environments"
    specs.mkdir()
    (specs / "e.yaml").write_text("namespace: shop\n")
    monkeypatch.chdir(tmp_path)
    code, _out, err = run("test", "e")
    assert code == 2
    assert err.splitlines() == [
        "error: environments/e.yaml: tests: no route test cases (add a tests: list or pass --cases)"
    ]
