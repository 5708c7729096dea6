"""`gwpipe crds`: list the catalog in force, import CRDs into the cache, diff two Istio versions' schemas."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from gwpipe.checks.schema import schemadiff
from gwpipe.cli.main import main

BUNDLES = Path(__file__).resolve().parent / "schema_bundles"


@pytest.fixture(autouse=True)
def _cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("GWPIPE_CRDS", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["crds", *args])
    return result.exit_code, result.output


def test_list_json_names_every_kind_with_provenance() -> None:
    code, out = _run("list", "--istio-version", "1.29", "-o", "json")
    assert code == 0
    listed = json.loads(out)
    assert (listed["istio_version"], listed["asked"]) == ("1.29", "1.29")
    by_kind = {(k["group"], k["kind"]): k for k in listed["kinds"]}
    gateway = by_kind[("networking.istio.io", "Gateway")]
    assert gateway["source"] == "built-in"
    assert gateway["set"] == "istio/1.29"
    assert (gateway["repository"], gateway["tag"]) == ("istio/istio", "1.29.6")
    assert gateway["commit"] == "7019d6d3608e4995e9a36d2977cfec3a341431cd"
    assert len(gateway["sha256"]) == 64
    assert by_kind[("cert-manager.io", "Certificate")]["repository"] == "cert-manager/cert-manager"
    assert ("gateway.networking.k8s.io", "HTTPRoute") in by_kind
    assert ("kustomize.toolkit.fluxcd.io", "Kustomization") in by_kind


def test_list_text_says_when_the_nearest_version_stands_in() -> None:
    code, out = _run("list", "--istio-version", "1.23")
    assert code == 0
    assert out.splitlines()[0] == "Istio 1.26 schemas (no built-in schemas for 1.23: the nearest); 30 kinds"
    assert any(
        line.startswith("Gateway (networking.istio.io; v1, v1alpha3, v1beta1): built-in: istio/istio ")
        and " at 1.26.8 (4ea27a1efd95), sha256 " in line
        for line in out.splitlines()
    )


def test_import_writes_facts_only_and_list_shows_the_override(tmp_path: Path) -> None:
    code, out = _run("import", str(BUNDLES / "crds"))
    target = tmp_path / "cache" / "gwpipe" / "crds" / "imported" / "crds"
    assert code == 0, out
    assert out.splitlines() == [
        f"imported 1 CRDs (Widget) into {target}",
        f"use them: GWPIPE_CRDS={target} gwpipe render ENV, or gwpipe analyze --crds {target} FILES",
    ]
    [written] = sorted(target.iterdir())
    assert written.name == "widgets.example.com.yaml"
    text = written.read_text(encoding="utf-8")
    assert "description" not in text
    assert yaml.safe_load(text)["spec"]["names"]["kind"] == "Widget"
    code, out = _run("list", "--crds", str(target), "-o", "json")
    widget = next(k for k in json.loads(out)["kinds"] if k["kind"] == "Widget")
    assert widget["source"] == "--crds[0]"


def test_import_of_a_folder_without_crds_fails_and_writes_nothing(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "x.yaml").write_text("kind: ConfigMap\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["crds", "import", str(empty)])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [f"error: SOURCE[0]: no CustomResourceDefinition found in {empty}"]
    assert not (tmp_path / "cache" / "gwpipe" / "crds" / "imported").exists()


def test_diff_shows_what_an_upgrade_changes_for_the_kinds_gwpipe_writes() -> None:
    code, out = _run("diff", "1.26", "1.30")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "Istio 1.26 -> 1.30"
    assert "Gateway (networking.istio.io/v1): 1 schema change(s)" in lines
    assert "  + field spec.servers[].tls.caCertCredentialName: string" in lines
    assert "VirtualService (networking.istio.io/v1): no schema change(s)" in lines


def test_diff_json_and_kinds_only_in_the_newer_version() -> None:
    code, out = _run("diff", "1.26", "1.30", "--kind", "TrafficExtension", "--kind", "Gateway", "-o", "json")
    assert code == 0
    result = json.loads(out)
    assert result["kinds"][0] == {
        "kind": "TrafficExtension",
        "apiVersion": "extensions.istio.io",
        "note": "only in Istio 1.30",
        "changes": [],
    }
    assert result["kinds"][1]["changes"] == [
        {"change": "added", "what": "field", "field": "spec.servers[].tls.caCertCredentialName", "detail": "string"}
    ]


def test_diff_of_an_unknown_version_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["crds", "diff", "1.24", "1.30"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: OLD: no built-in schemas for Istio 1.24; available: 1.26, 1.27, 1.28, 1.29, 1.30"
    ]


def test_schema_diff_reports_fields_enums_types_and_rules() -> None:
    old = {
        "type": "object",
        "properties": {
            "mode": {"type": "string", "enum": ["A", "B"]},
            "gone": {"type": "string"},
            "port": {"type": "integer"},
        },
        "x-kubernetes-validations": [{"rule": "has(self.mode)", "message": "mode required"}],
    }
    new = {
        "type": "object",
        "properties": {
            "mode": {"type": "string", "enum": ["B", "C"]},
            "port": {"type": "string"},
            "items": {"type": "array", "items": {"type": "object", "properties": {"x": {"type": "string"}}}},
        },
        "x-kubernetes-validations": [{"rule": "has(self.port)", "message": "port required"}],
    }
    assert [str(c) for c in schemadiff.diff(old, new)] == [
        "+ rule (object): has(self.port) (port required)",
        "- rule (object): has(self.mode) (mode required)",
        "- field gone: string",
        "+ field items: array",
        "+ field items[]: object",
        "+ field items[].x: string",
        "+ enum mode: C",
        "- enum mode: A",
        "~ type port: integer -> string",
    ]


def test_list_for_an_environment_uses_its_istio_version() -> None:
    environments = Path(__file__).resolve().parent.parent / "environments"
    code, out = _run("list", "staging", "--specs", str(environments))
    assert code == 0, out
    assert out.splitlines()[0] == "Istio 1.26 schemas (no built-in schemas for 1.23: the nearest); 30 kinds"
    code, out = _run("list", "prod", "--specs", str(environments), "-o", "json")
    assert (json.loads(out)["istio_version"], json.loads(out)["asked"]) == ("1.26", "1.26")
