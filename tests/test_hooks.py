"""hooks: every hook called through pluggy, one `test_hook_<name>` per hook, wrappers, result contracts."""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from cli_env import GOOD as SPEC

from gwpipe.engine import Options, Pipeline
from gwpipe.errors import PluginError, Problem, SpecError
from gwpipe.hooks.calls import owner
from gwpipe.hooks.manager import create_manager
from gwpipe.hooks.specs import hookimpl
from gwpipe.model import Finding, ResourceRequest
from gwpipe.testing import write_spec


def pipeline_with(*plugins: tuple[str, object]) -> Pipeline:
    return Pipeline(Options(), pm=create_manager(entry_points=False, plugins=plugins))


class _Extra:
    """A third-party plugin exercising every hook with something observable."""

    def __init__(self, template_folder: str = "") -> None:
        self.template_folder = template_folder

    @hookimpl
    def gwpipe_spec_schema(self) -> dict[str, dict[str, Any]]:
        return {"": {"extra": {"type": "string"}}}

    @hookimpl
    def gwpipe_validate_spec(self, spec: Any) -> list[Problem]:
        if spec.get("extra") == "refuse":
            return [spec.problem(("extra",), "refused by the extra plugin")]
        return []

    @hookimpl
    def gwpipe_resources(self, spec: Any) -> list[ResourceRequest]:
        values = {"greeting": spec.get("extra", "hello")}
        return [ResourceRequest("extra", "extra/note.yaml.j2", "v1", "ConfigMap", "note", "shop", values)]

    @hookimpl
    def gwpipe_modify_resources(self, spec: Any, resources: Any) -> None:
        gateway = resources.of_kind("Gateway")[0]
        gateway.values.setdefault("labels", {})["extra"] = "seen"
        gateway.touch("extra")

    @hookimpl
    def gwpipe_check(self, spec: Any, objects: Any) -> list[Finding]:
        return [
            Finding("EXT0001", "Info", o.request.kind, o.request.namespace or "", o.request.name, "counted")
            for o in objects
            if o.request.kind == "ConfigMap"
        ]

    @hookimpl
    def gwpipe_template_folders(self) -> dict[str, str]:
        return {"extra": self.template_folder}

    @hookimpl
    def gwpipe_commands(self) -> dict[str, str]:
        return {"extra-hello": "gwpipe_extra_commands:hello"}


def _templates(tmp_path: Path) -> str:
    folder = tmp_path / "extra-templates"
    folder.mkdir()
    (folder / "note.yaml.j2").write_text(
        '{% from "_macros/metadata.j2" import metadata %}\napiVersion: {{ api_version }}\nkind: ConfigMap\n'
        "{{ metadata(meta) -}}\ndata:\n  greeting: {{ greeting | tojson }}\n"
    )
    return str(folder)


def test_hook_gwpipe_spec_schema(tmp_path: Path) -> None:
    pipeline = pipeline_with(("extra", _Extra()))
    assert pipeline.schema.keys_of("extra") == ["extra"]
    bad = write_spec(tmp_path, SPEC + "extra: 3\n")
    with pytest.raises(Exception, match=r"extra: expected string, got integer"):
        pipeline.load(bad, tmp_path)


def test_hook_gwpipe_validate_spec(tmp_path: Path) -> None:
    pipeline = pipeline_with(("extra", _Extra()))
    path = write_spec(tmp_path, SPEC + "extra: refuse\n")
    with pytest.raises(SpecError) as info:
        pipeline.load(path, tmp_path)
    assert [str(p) for p in info.value.problems] == [f"{path}:10:8: extra: refused by the extra plugin"]


def test_hook_gwpipe_resources(tmp_path: Path) -> None:
    pipeline = pipeline_with(("extra", _Extra(_templates(tmp_path))))
    spec = pipeline.load(write_spec(tmp_path, SPEC + "extra: hi\n"), tmp_path)
    [note] = [r for r in pipeline.plan(spec) if r.kind == "ConfigMap"]
    assert (note.plugin, note.template, note.values) == ("extra", "extra/note.yaml.j2", {"greeting": "hi"})


def test_hook_gwpipe_template_folders(tmp_path: Path) -> None:
    pipeline = pipeline_with(("extra", _Extra(_templates(tmp_path))))
    spec = pipeline.load(write_spec(tmp_path, SPEC + "extra: hi\n"), tmp_path)
    objects = {o.ref: o for o in pipeline.render(spec)}
    assert objects["ConfigMap shop/note"].obj["data"] == {"greeting": "hi"}
    assert objects["ConfigMap shop/note"].text.endswith('data:\n  greeting: "hi"\n')


def test_hook_gwpipe_modify_resources(tmp_path: Path) -> None:
    pipeline = pipeline_with(("extra", _Extra(_templates(tmp_path))))
    spec = pipeline.load(write_spec(tmp_path, SPEC), tmp_path)
    [gateway] = pipeline.plan(spec).of_kind("Gateway")
    assert gateway.values["labels"] == {"extra": "seen"}
    assert gateway.plugins[0] == "http"
    assert gateway.plugins[-1] == "extra"


def test_hook_gwpipe_check(tmp_path: Path) -> None:
    pipeline = pipeline_with(("extra", _Extra(_templates(tmp_path))))
    bundle = pipeline.build(pipeline.load(write_spec(tmp_path, SPEC), tmp_path))
    assert [(f.code, f.resource) for f in bundle.findings if f.code.startswith("EXT")] == [
        ("EXT0001", "ConfigMap shop/note")
    ]


def test_hook_gwpipe_commands() -> None:
    pm = create_manager(entry_points=False, plugins=[("extra", _Extra())])
    results = pm.hook.gwpipe_commands()
    assert [owner(r) for r in results] == ["commands", "gitops", "extra"]
    assert results[0]["render"] == "gwpipe.cli.commands.render:command"
    assert sorted(results[0]) == [
        "analyze",
        "certs",
        "check",
        "completion",
        "crds",
        "plan",
        "plugins",
        "propose",
        "render",
        "test",
        "validate",
    ]
    assert results[1] == {"status": "gwpipe.plugins.gitops.status:command"}
    assert results[2] == {"extra-hello": "gwpipe_extra_commands:hello"}


class _NewWrapper:
    """A wrapper=True plugin that sees every other plugin's schema fragments and drops the extra one's."""

    seen: list[str]

    def __init__(self) -> None:
        self.seen = []

    @hookimpl(wrapper=True)
    def gwpipe_spec_schema(self) -> Generator[None, list[Any], list[Any]]:
        results = yield
        self.seen = [owner(r) for r in results]
        return [r for r in results if owner(r) != "extra"]


def test_a_new_style_wrapper_sees_and_changes_another_hooks_result() -> None:
    wrapper = _NewWrapper()
    pipeline = pipeline_with(("extra", _Extra()), ("wrapper", wrapper))
    assert wrapper.seen[:2] == ["http", "tls"]
    assert wrapper.seen[-1] == "extra"
    assert pipeline.schema.keys_of("extra") == []
    assert "extra" not in pipeline.schema.schema


class _OldWrapper:
    calls: ClassVar[list[str]] = []

    @hookimpl(hookwrapper=True)
    def gwpipe_template_folders(self) -> Generator[None, Any, None]:
        outcome = yield
        _OldWrapper.calls.append(",".join(owner(r) for r in outcome.get_result()))
        outcome.force_result([*outcome.get_result(), {"added": "/nowhere"}])


def test_an_old_style_hookwrapper_works() -> None:
    pm = create_manager(entry_points=False, plugins=[("extra", _Extra("/x")), ("old", _OldWrapper())])
    assert pm.hook.gwpipe_template_folders() == [{"extra": "/x"}, {"added": "/nowhere"}]
    assert _OldWrapper.calls == ["extra"]


class _FailingWrapper:
    @hookimpl(wrapper=True)
    def gwpipe_spec_schema(self) -> Generator[None, list[Any], list[Any]]:
        yield
        raise LookupError("wrapper broke")


def test_a_failing_wrapper_names_plugin_and_hook() -> None:
    with pytest.raises(PluginError) as info:
        pipeline_with(("failing", _FailingWrapper()))
    assert str(info.value) == "plugin 'failing': gwpipe_spec_schema: LookupError: wrapper broke"


class _BadWrapper:
    @hookimpl(wrapper=True)
    def gwpipe_validate_spec(self, spec: Any) -> Generator[None, list[Any], list[Any]]:
        results = yield
        return [*results, "not a list of problems"]


def test_a_wrappers_result_is_checked_against_the_contract(tmp_path: Path) -> None:
    pipeline = pipeline_with(("bad", _BadWrapper()))
    with pytest.raises(PluginError) as info:
        pipeline.load(write_spec(tmp_path, SPEC), tmp_path)
    assert str(info.value) == "plugin 'bad': gwpipe_validate_spec: must return a list of Problem, got str"


class _Commands:
    @hookimpl
    def gwpipe_commands(self) -> Any:
        return {"render": 3}


def test_commands_contract_names_the_plugin() -> None:
    pm = create_manager(entry_points=False, plugins=[("cmds", _Commands())])
    with pytest.raises(PluginError) as info:
        pm.hook.gwpipe_commands()
    assert (
        str(info.value)
        == "plugin 'cmds': gwpipe_commands: must return a dict of command name to 'module:attribute', got dict"
    )


def test_modify_resources_order_is_the_registry_then_third_parties_then_trylast(tmp_path: Path) -> None:
    calls: list[str] = []

    def recorder(name: str, **options: Any) -> object:
        class _Recorder:
            @hookimpl(**options)
            def gwpipe_modify_resources(self, spec: Any, resources: Any) -> None:
                calls.append(name)

        return _Recorder()

    pm = create_manager(
        entry_points=False,
        plugins=[
            ("b", recorder("b")),
            ("a", recorder("a")),
            ("last", recorder("last", trylast=True)),
            ("first", recorder("first", tryfirst=True)),
        ],
    )
    impls = [i.plugin_name for i in reversed(pm.hook.gwpipe_modify_resources.get_hookimpls())]
    # built-ins in registry order, the others in the order given (entry points: by name), trylast ones last
    assert impls == ["first", "tls", "redirect", "mtls", "tcp", "logging", "b", "a", "last", "gitops", "objects"]
    pipeline = Pipeline(Options(), pm=pm)
    pipeline.plan(pipeline.load(write_spec(tmp_path, SPEC), tmp_path))
    assert calls == ["first", "b", "a", "last"]
