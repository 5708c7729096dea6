"""engine: plan (duplicates, wrong results), build (checks stop the run), template overrides, writes and preflight."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gwpipe.engine import Options, Pipeline, preflight, write_bundle
from gwpipe.errors import CheckError, PluginError, SpecError, WriteError
from gwpipe.hooks.manager import create_manager
from gwpipe.hooks.specs import hookimpl
from gwpipe.model import Finding, ResourceRequest
from gwpipe.testing import build, write_spec

SPEC = {
    "namespace": "shop",
    "gateways": {"web": {"selector": {"istio": "ingressgateway"}}},
    "hosts": {"a.example.com": {"gateway": "web", "routes": [{"destination": {"host": "app", "port": 80}}]}},
}


def pipeline_with(*plugins: tuple[str, object]) -> Pipeline:
    return Pipeline(Options(), pm=create_manager(entry_points=False, plugins=plugins))


class _Duplicate:
    @hookimpl
    def gwpipe_resources(self, spec: Any) -> list[ResourceRequest]:
        return [ResourceRequest("dup", "http/gateway.yaml.j2", "networking.istio.io/v1", "Gateway", "web", "shop")]


class _NotAList:
    @hookimpl
    def gwpipe_resources(self, spec: Any) -> Any:
        return ResourceRequest("x", "t", "v1", "ConfigMap", "a", "shop")


class _ErrorFinding:
    @hookimpl
    def gwpipe_check(self, spec: Any, objects: Any) -> list[Finding]:
        return [
            Finding(
                "IST0101", "Error", "Gateway", "shop", "web", "referenced thing not found", "shop/gateway-web.yaml", 3
            )
        ]


class _Modifier:
    @hookimpl
    def gwpipe_modify_resources(self, spec: Any, resources: Any) -> None:
        gateway = resources.get("Gateway", "web", "shop")
        gateway.values["labels"] = {"team": "edge"}
        gateway.touch("modifier")


def test_duplicate_objects_name_both_plugins(tmp_path: Path) -> None:
    pipeline = pipeline_with(("dup", _Duplicate()))
    spec = pipeline.load(write_spec(tmp_path, SPEC), tmp_path)
    with pytest.raises(PluginError) as info:
        pipeline.plan(spec)
    assert str(info.value) == "plugin 'dup': gwpipe_resources: Gateway shop/web is also produced by plugin 'http'"


def test_resources_must_be_a_list(tmp_path: Path) -> None:
    pipeline = pipeline_with(("bad", _NotAList()))
    spec = pipeline.load(write_spec(tmp_path, SPEC), tmp_path)
    with pytest.raises(PluginError) as info:
        pipeline.plan(spec)
    assert str(info.value) == "plugin 'bad': gwpipe_resources: must return a list of ResourceRequest"


def test_error_findings_stop_the_build(tmp_path: Path) -> None:
    pipeline = pipeline_with(("checker", _ErrorFinding()))
    spec = pipeline.load(write_spec(tmp_path, SPEC), tmp_path)
    with pytest.raises(CheckError) as info:
        pipeline.build(spec)
    assert str(info.value) == "shop/gateway-web.yaml:3: IST0101 Gateway shop/web: referenced thing not found"


def test_modify_records_provenance(tmp_path: Path) -> None:
    pipeline = pipeline_with(("modifier", _Modifier()))
    bundle = pipeline.build(pipeline.load(write_spec(tmp_path, SPEC), tmp_path))
    gateway = next(o for o in bundle.objects if o.request.kind == "Gateway")
    assert gateway.obj["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "gwpipe", "team": "edge"}
    assert gateway.obj["metadata"]["annotations"]["gwpipe.dev/plugins"] == "http,modifier"


def test_spec_templates_key(tmp_path: Path) -> None:
    folder = tmp_path / "tpl" / "http"
    folder.mkdir(parents=True)
    source = (Path(__file__).resolve().parents[1] / "templates" / "http" / "gateway.yaml.j2").read_text()
    (folder / "gateway.yaml.j2").write_text(source.replace("  servers:", "  # overridden\n  servers:"))
    bundle = build(tmp_path, {**SPEC, "templates": "tpl"})
    gateway = next(o for o in bundle.objects if o.request.kind == "Gateway")
    assert "# overridden" in gateway.text
    with pytest.raises(SpecError) as info:
        build(tmp_path, {**SPEC, "templates": "../elsewhere"})
    assert [p.what for p in info.value.problems] == ["template folder outside the spec root, got '../elsewhere'"]
    with pytest.raises(SpecError) as info:
        build(tmp_path, {**SPEC, "templates": "missing"})
    assert [p.what for p in info.value.problems] == ["template folder not found, got 'missing'"]


def test_write_bundle_and_preflight(tmp_path: Path) -> None:
    bundle = build(tmp_path / "envs", SPEC, name="dev")
    out = tmp_path / "out"
    result = write_bundle(bundle, out, Options())
    assert result.change.added == [
        "kustomization.yaml",
        "shop/gateway-web.yaml",
        "shop/virtualservice-a-example-com.yaml",
    ]
    assert write_bundle(bundle, out, Options()).change.empty
    empty = build(tmp_path / "envs", {"namespace": "shop"}, name="dev")
    with pytest.raises(WriteError) as info:
        preflight([bundle, empty], out, Options())
    assert [p.what for p in info.value.problems] == [
        "render would delete all 2 object files",
        "refusing to empty an environment; pass --allow-empty if that is intended",
    ]
    preflight([bundle, empty], out, Options(allow_empty=True))


def test_plugin_authors_can_build_with_their_plugin(tmp_path: Path) -> None:
    # gwpipe.testing.build registers the plugin under test after the built-ins, like an entry point
    import types

    from gwpipe.hooks.specs import hookimpl

    plugin = types.ModuleType("annotate")

    @hookimpl
    def gwpipe_modify_resources(spec: Any, resources: Any) -> None:
        for request in resources.of_kind("Gateway"):
            request.values.setdefault("annotations", {})["team"] = "edge"
            request.touch("annotate")

    plugin.gwpipe_modify_resources = gwpipe_modify_resources  # type: ignore[attr-defined]
    bundle = build(tmp_path, SPEC, plugins=[plugin])
    gateway = next(o for o in bundle.objects if o.request.kind == "Gateway")
    assert gateway.obj["metadata"]["annotations"]["team"] == "edge"
    assert gateway.obj["metadata"]["annotations"]["gwpipe.dev/plugins"] == "http,annotate"


def test_render_gives_final_shard_paths(tmp_path: Path) -> None:
    # Pipeline.render is public: its paths must be where build() writes the objects, shards included
    hosts = {
        f"h{i}.example.com": {"gateway": "web", "routes": [{"destination": {"host": "a", "port": 80}}]}
        for i in range(300)
    }
    spec = {**SPEC, "hosts": hosts}
    pipeline = Pipeline(Options(), pm=create_manager(entry_points=False))
    path = write_spec(tmp_path, spec, "big")
    rendered = {o.ref: o.path for o in pipeline.render(pipeline.load(path, tmp_path))}
    built = pipeline.build(pipeline.load(path, tmp_path))
    assert rendered == {o.ref: o.path for o in built.objects}
    assert set(rendered.values()) <= set(built.files)
    assert any(p.startswith("2-routes-web-") for p in rendered.values())


def test_one_jinja_environment_per_template_search_path(tmp_path: Path) -> None:
    # templates compile once per run; a spec with its own override folder gets its own (sandboxed) one
    pipeline = Pipeline(Options(), pm=create_manager(entry_points=False))
    (tmp_path / "tpl").mkdir()
    plain = [pipeline.load(write_spec(tmp_path, SPEC, name), tmp_path) for name in ("dev", "prod")]
    custom = pipeline.load(write_spec(tmp_path, {**SPEC, "templates": "tpl"}, "custom"), tmp_path)
    assert pipeline._environment(plain[0]) is pipeline._environment(plain[1])
    assert pipeline._environment(custom) is not pipeline._environment(plain[0])
