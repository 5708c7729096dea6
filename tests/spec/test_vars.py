"""Spec variables: inheritance, --var, interpolation in keys and values, located errors, validate --explain."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from gwpipe.cli.main import main
from gwpipe.errors import SpecError
from gwpipe.spec.load import load_spec

BASE = """\
vars:
  domain: example.com
  api: "api.${domain}"
  port: 80
namespace: shop
gateways:
  edge:
    selector: {istio: ingressgateway}
hosts:
  "${api}":
    gateway: edge
    routes:
      - destination: {host: api, port: "${port}"}
  "web.${domain}":
    gateway: edge
    routes:
      - destination: {host: web, port: 80}
checks:
  suppress: ["IST0101=Gateway $${ns}/*"]
"""
DEV = """\
extends: _base.yaml
vars:
  domain: dev.example.com
  port: 8080
"""


@pytest.fixture
def fleet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "environments"
    folder.mkdir()
    (folder / "_base.yaml").write_text(BASE)
    (folder / "dev.yaml").write_text(DEV)
    monkeypatch.chdir(tmp_path)
    return folder


def write(fleet: Path, name: str, text: str) -> Path:
    path = fleet / name
    path.write_text(text)
    return path


def errors(path: Path, **variables: str) -> list[str]:
    with pytest.raises(SpecError) as caught:
        load_spec(path, variables=variables)
    return [str(p) for p in caught.value.problems]


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_child_overrides_base_and_keys_and_values_resolve(fleet: Path) -> None:
    spec = load_spec(fleet / "dev.yaml")
    hosts = spec.data["hosts"]
    assert sorted(hosts) == ["api.dev.example.com", "web.dev.example.com"]
    assert hosts["api.dev.example.com"]["routes"][0]["destination"] == {"host": "api", "port": 8080}
    assert spec.data["checks"]["suppress"] == ["IST0101=Gateway ${ns}/*"]
    assert "vars" not in spec.data


def test_whole_value_reference_keeps_the_type_and_partial_one_is_text(fleet: Path) -> None:
    write(fleet, "t.yaml", 'extends: _base.yaml\nvars: {flag: true}\nnamespace: "ns-${flag}-${port}"\nx: ${flag}\n')
    spec = load_spec(fleet / "t.yaml")
    assert spec.data["namespace"] == "ns-true-80"
    assert spec.data["x"] is True
    assert spec.data["hosts"]["api.example.com"]["routes"][0]["destination"]["port"] == 80


def test_locations_follow_renamed_keys(fleet: Path) -> None:
    spec = load_spec(fleet / "dev.yaml")
    assert spec.where("hosts", "api.dev.example.com", "routes", 0, "destination", "port") == (
        'environments/_base.yaml:13:40: hosts["api.dev.example.com"].routes[0].destination.port'
    )


def test_command_line_overrides_with_the_declared_type(fleet: Path) -> None:
    spec = load_spec(fleet / "dev.yaml", variables={"domain": "prod.example.com", "port": "9090"})
    assert sorted(spec.data["hosts"]) == ["api.prod.example.com", "web.prod.example.com"]
    assert spec.data["hosts"]["api.prod.example.com"]["routes"][0]["destination"]["port"] == 9090
    assert [name for name, v in spec.variables.items() if v.from_command_line] == ["domain", "port"]
    assert spec.variables["api"].value == "api.prod.example.com"


def test_every_variable_error_at_once_at_the_spec_line(fleet: Path) -> None:
    write(
        fleet,
        "bad.yaml",
        """\
extends: _base.yaml
vars:
  a: "${b}"
  b: "${a}"
  stale: 1
hosts:
  "x.${domian}":
    gateway: edge
    routes:
      - destination: {host: "h${", port: 80}
  "web.example.com":
    gateway: edge
    routes:
      - destination: {host: web, port: 80}
""",
    )
    assert errors(fleet / "bad.yaml", domainn="x") == [
        "environments/bad.yaml:3:6: vars.a: variable cycle: a -> b -> a",
        "environments/bad.yaml:5:10: vars.stale: unused variable 'stale': this file defines it and nothing references it",
        "environments/bad.yaml:8:5: hosts[\"x.${domian}\"]: undefined variable 'domian'; did you mean 'domain'?",
        'environments/bad.yaml:10:29: hosts["x.${domian}"].routes[0].destination.host: '
        "malformed reference in 'h${'; write ${name}, or $${ for a literal ${",
        'environments/bad.yaml:12:5: hosts["web.example.com"]: '
        "keys 'web.${domain}' and 'web.example.com' both resolve to 'web.example.com'",
        "--var domainn: unknown variable 'domainn'; did you mean 'domain'?",
    ]


def test_unused_variable_of_a_base_is_not_an_error_in_a_child(fleet: Path) -> None:
    write(fleet, "_base.yaml", BASE.replace("  port: 80\n", "  port: 80\n  spare: 1\n"))
    assert load_spec(fleet / "dev.yaml").variables["spare"].value == 1


def test_bad_var_values_and_names(fleet: Path) -> None:
    write(fleet, "t.yaml", "extends: _base.yaml\nvars:\n  list: [1]\n  9bad: x\n")
    assert errors(fleet / "t.yaml", port="eighty") == [
        "environments/t.yaml:3:9: vars.list: a variable holds a string, number or boolean",
        "environments/t.yaml:4:9: vars[\"9bad\"]: invalid variable name; use letters, digits and '_'",
        "--var port: expected an integer (the spec's value is one), got 'eighty'",
    ]


def test_a_spec_without_variables_is_untouched(fleet: Path) -> None:
    path = write(fleet, "plain.yaml", "namespace: shop\nnote: cost $5 {x}\n")
    spec = load_spec(path)
    assert spec.data == {"namespace": "shop", "note": "cost $5 {x}"}
    assert spec.variables == {}


def test_var_option_on_render_and_validate(fleet: Path) -> None:
    code, out, err = cli("validate", "dev", "--var", "domain=stage.example.com", "--output", "json")
    assert (code, json.loads(out)) == (0, {"ok": True, "environments": ["dev"]}), err
    code, _, err = cli("validate", "dev", "--var", "nodomain")
    assert code == 2
    assert "expected NAME=VALUE, got 'nodomain'" in err
    code, _, err = cli("render", "dev", "--var", "domian=x", "--out", "out")
    assert code == 2
    assert err.splitlines()[0] == "error: --var domian: unknown variable 'domian'; did you mean 'domain'?"


@pytest.mark.parametrize("command", ["render", "validate", "plan", "check", "propose", "test", "certs"])
def test_every_spec_command_takes_var(command: str) -> None:
    args = [command, "status", "--help"] if command == "certs" else [command, "--help"]
    result = CliRunner().invoke(main, args)
    assert "--var NAME=VALUE" in result.stdout


def test_explain_names_every_origin(fleet: Path) -> None:
    code, out, err = cli("validate", "dev", "--explain", "--var", "port=81")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[:5] == [
        "# dev: environments/dev.yaml, resolved",
        "# vars:",
        "#   api: api.dev.example.com  # environments/_base.yaml:3:8",
        "#   domain: dev.example.com  # environments/dev.yaml:3:11",
        "#   port: 81  # --var",
    ]
    assert "namespace: shop  # environments/_base.yaml:5:12" in lines
    assert "  api.dev.example.com:  # key via ${api}=api.dev.example.com from environments/_base.yaml:3:8" in lines
    assert "          port: 81  # environments/_base.yaml:13:40 via ${port}=81 from --var" in lines


def test_explain_json(fleet: Path) -> None:
    code, out, err = cli("validate", "dev", "--explain", "--output", "json")
    assert code == 0, err
    [resolved] = json.loads(out)["resolved"]
    assert resolved["variables"]["domain"] == {"value": "dev.example.com", "origin": "environments/dev.yaml:3:11"}
    port = resolved["origins"]['hosts["api.dev.example.com"].routes[0].destination.port']
    assert port == {"origin": "environments/_base.yaml:13:40", "variables": {"port": "environments/dev.yaml:4:9"}}
    assert resolved["spec"]["hosts"]["web.dev.example.com"]["gateway"] == "edge"


def test_key_material_in_a_variable_is_refused_and_not_echoed(fleet: Path) -> None:
    key = "-----BEGIN EC PRIVATE KEY-----\\nMHcCAQEEIB0kZ2n3cU4Xq1zVx8f9n2nS1p3tQ0oGfXb0t5mJxJcF\\n-----END EC PRIVATE KEY-----"
    write(fleet, "_base.yaml", BASE.replace("  port: 80\n", f'  port: 80\n  spare: "{key}"\n'))
    [problem] = errors(fleet / "dev.yaml")
    assert problem.startswith("environments/_base.yaml:5:10: vars.spare: contains a ")
    assert "(value redacted, " in problem
    assert "MHc" not in problem
