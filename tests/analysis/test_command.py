"""`gwpipe analyze`: inputs, output formats (text, json, SARIF 2.1.0), exit codes and the failure contract."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
from click.testing import CliRunner

from gwpipe.cli.main import main

BUNDLES = Path(__file__).resolve().parent.parent / "analysis_bundles"

# the SARIF 2.1.0 properties code-scanning UIs require (subset of the OASIS schema)
SARIF_REQUIRED = {
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "version": {"const": "2.1.0"},
        "runs": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["tool", "results"],
                "properties": {
                    "tool": {
                        "type": "object",
                        "required": ["driver"],
                        "properties": {
                            "driver": {
                                "type": "object",
                                "required": ["name", "rules"],
                                "properties": {
                                    "rules": {"type": "array", "items": {"type": "object", "required": ["id"]}}
                                },
                            }
                        },
                    },
                    "results": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["ruleId", "message", "level", "locations"],
                            "properties": {
                                "level": {"enum": ["error", "warning", "note", "none"]},
                                "message": {"type": "object", "required": ["text"]},
                                "locations": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "required": ["physicalLocation"],
                                        "properties": {
                                            "physicalLocation": {
                                                "type": "object",
                                                "required": ["artifactLocation", "region"],
                                                "properties": {
                                                    "artifactLocation": {"required": ["uri"]},
                                                    "region": {
                                                        "required": ["startLine"],
                                                        "properties": {"startLine": {"type": "integer", "minimum": 1}},
                                                    },
                                                },
                                            }
                                        },
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["analyze", *args])
    return result.exit_code, result.stdout, result.stderr


def empty_inventory(tmp_path: Path) -> str:
    """An inventory with nothing in it: the cluster holds what the files hold, and the workload analyzers run."""
    path = tmp_path / "inventory.yaml"
    path.write_text("inventory: []\n")
    return str(path)


def test_files_alone_skip_the_analyzers_that_need_the_cluster(tmp_path: Path) -> None:
    # as `istioctl analyze --use-kube=false`: Pods and Services in the files do not make a cluster
    path = str(BUNDLES / "gateway-no-workload.yaml")
    assert invoke(path, "-o", "json") == (0, "[]\n", "")
    assert invoke(path, "-o", "json", "--inventory", empty_inventory(tmp_path))[0] == 1


def test_json_findings_with_file_and_line(tmp_path: Path) -> None:
    code, out, _ = invoke(
        str(BUNDLES / "gateway-no-workload.yaml"), "--output", "json", "--inventory", empty_inventory(tmp_path)
    )
    assert code == 1
    found = json.loads(out)
    assert found == [
        {
            "code": "IST0101",
            "level": "Error",
            "kind": "Gateway",
            "namespace": "default",
            "name": "httpbin-gateway",
            "message": 'Referenced selector not found: "istio=ingresstypo"',
            "file": str(BUNDLES / "gateway-no-workload.yaml")
            if not str(BUNDLES).startswith(str(Path.cwd()))
            else str((BUNDLES / "gateway-no-workload.yaml").relative_to(Path.cwd())),
            "line": 24,
        }
    ]


def test_sarif_structure(tmp_path: Path) -> None:
    code, out, _ = invoke(
        str(BUNDLES), "--output", "sarif", "--fail-on", "Info", "--inventory", empty_inventory(tmp_path)
    )
    assert code == 1
    log = json.loads(out)
    jsonschema.validate(log, SARIF_REQUIRED)
    rules = [r["id"] for r in log["runs"][0]["tool"]["driver"]["rules"]]
    for result in log["runs"][0]["results"]:
        assert rules[result["ruleIndex"]] == result["ruleId"]
    assert {"IST0101", "IST0145", "IST0162"} <= {r["ruleId"] for r in log["runs"][0]["results"]}


def test_fail_on_threshold_and_valid_input(tmp_path: Path) -> None:
    warning_only = str(BUNDLES / "gateway-bad-port.yaml")
    inventory = empty_inventory(tmp_path)
    assert invoke(warning_only, "--inventory", inventory)[0] == 0
    assert invoke(warning_only, "--inventory", inventory, "--fail-on", "Warning")[0] == 1
    code, out, _ = invoke(str(BUNDLES / "valid-tls-redirect.yaml"), "--fail-on", "Info")
    assert (code, out) == (0, "no findings\n")


def test_suppress_flag_and_bad_suppress(tmp_path: Path) -> None:
    path = str(BUNDLES / "gateway-no-workload.yaml")
    inventory = empty_inventory(tmp_path)
    assert invoke(path, "--inventory", inventory)[0] == 1
    assert invoke(path, "--inventory", inventory, "--suppress", "IST0101=Gateway default/*")[0] == 0
    code, _, err = invoke(path, "--suppress", "IST0101")
    assert code == 2
    assert re.fullmatch(r"error: --suppress: expected CODE=Kind namespace/name \(globs allowed\), got 'IST0101'\n", err)


def test_istio_version_flag(tmp_path: Path) -> None:
    text = (
        (BUNDLES / "gateway-different-port.yaml")
        .read_text()
        .replace("number: 443, name: https, protocol: HTTPS", "number: 443, name: https, protocol: HTTPS")
    )
    path = tmp_path / "g.yaml"
    path.write_text(text)
    inventory = empty_inventory(tmp_path)
    assert invoke(str(path), "--inventory", inventory, "--istio-version", "1.24")[0] == 1
    assert invoke(str(path), "--inventory", inventory, "--istio-version", "1.25")[0] == 0
    code, _, err = invoke(str(path), "--istio-version", "latest")
    assert (code, err) == (2, "error: --istio-version: expected a minor version such as 1.24, got 'latest'\n")


def test_inventory_file(tmp_path: Path) -> None:
    path = str(BUNDLES / "gateway-missing-credential.yaml")
    inv = tmp_path / "inventory.yaml"
    inv.write_text("inventory:\n  - {kind: Secret, namespace: istio-system, name: web-credential}\n")
    assert invoke(path, "--inventory", str(inv))[0] == 0
    inv.write_text("inventory:\n  - {kind: Secrets, namespace: istio-system}\n")
    code, _, err = invoke(path, "--inventory", str(inv))
    assert code == 2
    assert err.splitlines() == [
        f"error: {inv}:2:12: inventory[0].kind: unsupported value, got 'Secrets'; allowed: Pod, Service, Secret, Workload",
        f"error: {inv}:2:5: inventory[0].name: required field missing",
    ]


def test_parse_error_contract(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: Service\nmetadata: {name: [x\n")
    code, out, err = invoke(str(bad))
    assert code == 2
    assert out == ""
    assert re.fullmatch(rf"error: {re.escape(str(bad))}:4:1: invalid YAML: .+\n", err)
    assert "Traceback" not in err
    (tmp_path / "nokind.yaml").write_text("a: 1\n")
    code, _, err = invoke(str(tmp_path / "nokind.yaml"))
    assert (code, err) == (
        2,
        f"error: {tmp_path / 'nokind.yaml'}:1:1: not a Kubernetes object (needs apiVersion and kind)\n",
    )
    code, _, err = invoke(str(tmp_path / "missing.yaml"))
    assert (code, err) == (2, f"error: {tmp_path / 'missing.yaml'}: no such file or folder\n")


def test_text_output_line(tmp_path: Path) -> None:
    code, out, _ = invoke(str(BUNDLES / "gateway-bad-port.yaml"), "--inventory", empty_inventory(tmp_path))
    assert code == 0
    assert re.fullmatch(
        r".*gateway-bad-port\.yaml:\d+: IST0162 \(Warning\) Gateway default/httpbin-gateway: The gateway is "
        r"listening on a target port \(port 8004\) .*\n",
        out,
    )


def test_hostile_inputs(tmp_path: Path) -> None:
    levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        levels.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    cases = {
        "bomb.yaml": (
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n" + "\n".join(levels) + "\n",
            r"bomb\.yaml:1:1: document expands to more than 1000000 nodes through YAML aliases \(alias bomb\?\)",
        ),
        "tag.yaml": (
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: !!python/object/apply:os.system [id]\n",
            r"tag\.yaml:4:7: invalid YAML: could not determine a constructor for the tag .*",
        ),
        "deep.yaml": ("a: " + "[" * 5000 + "]" * 5000 + "\n", r"deep\.yaml:1:\d+: invalid YAML: .*"),
        "utf.yaml": (b"apiVersion: v1\nkind: \xff\n", r"utf\.yaml:2: invalid UTF-8 at byte 21"),
    }
    for name, (content, message) in cases.items():
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        code, out, err = invoke(str(path))
        assert code == 2, name
        assert out == ""
        assert re.fullmatch(rf"error: .*{message}\n", err), err
