"""render: strict templates, parse-back against the plan, injection-safe values, sandbox bounds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gwpipe.errors import RenderError
from gwpipe.model import RenderedObject, ResourceRequest
from gwpipe.render.environment import MAX_OBJECT_BYTES, make_environment, yaml_safe_json
from gwpipe.render.objects import object_path, provenance, render_requests, source_name
from gwpipe.spec.load import Spec
from gwpipe.testing import build, find

HEAD = '{% from "_macros/metadata.j2" import metadata %}\napiVersion: {{ api_version }}\nkind: ConfigMap\n{{ metadata(meta) -}}\n'


def _spec(tmp_path: Path) -> Spec:
    root = tmp_path / "environments"
    root.mkdir(exist_ok=True)
    return Spec("dev", str(root / "dev.yaml"), {}, {}, root)


def _render(
    tmp_path: Path, body: str, name: str = "cm", namespace: str | None = "shop", values: dict[str, Any] | None = None
) -> list[RenderedObject]:
    folder = tmp_path / "tpl" / "t"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cm.yaml.j2").write_text(body)
    env = make_environment([tmp_path / "tpl"], {})
    request = ResourceRequest("p", "t/cm.yaml.j2", "v1", "ConfigMap", name, namespace, values or {})
    return render_requests(_spec(tmp_path), [request], env)


def _fails(tmp_path: Path, body: str, **kwargs: object) -> list[str]:
    with pytest.raises(RenderError) as info:
        _render(tmp_path, body, **kwargs)  # type: ignore[arg-type]
    return [str(p) for p in info.value.problems]


def test_render_and_parse_back(tmp_path: Path) -> None:
    [obj] = _render(tmp_path, HEAD + "data:\n  k: {{ v | tojson }}\n", values={"v": "x: y"})
    assert obj.obj["data"] == {"k": "x: y"}
    assert obj.path == "shop/configmap-cm.yaml"
    assert obj.obj["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "gwpipe"}
    assert obj.obj["metadata"]["annotations"] == {
        "gwpipe.dev/environment": "dev",
        "gwpipe.dev/plugins": "p",
        "gwpipe.dev/source": "environments/dev.yaml",
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            HEAD.replace("kind: ConfigMap", "kind: Secret"),
            "template t/cm.yaml.j2: rendered apiVersion/kind/name/namespace ('v1', 'Secret', 'cm', 'shop') "
            "but the plan asked for ('v1', 'ConfigMap', 'cm', 'shop')",
        ),
        (
            HEAD + "---\n" + HEAD,
            "template t/cm.yaml.j2: rendered 2 documents for ConfigMap shop/cm; expected exactly 1",
        ),
        ("- a\n", "template t/cm.yaml.j2: rendered a list for ConfigMap shop/cm; expected a mapping"),
        ("", "template t/cm.yaml.j2: rendered 0 documents for ConfigMap shop/cm; expected exactly 1"),
        (
            "a: [\n",
            "template t/cm.yaml.j2 (output:2): ConfigMap shop/cm is not valid YAML: did not find expected node content",
        ),
        (
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  namespace: shop\n",
            "template t/cm.yaml.j2: ConfigMap shop/cm lacks the provenance annotations; render meta.annotations",
        ),
    ],
)
def test_parse_back_mismatches(tmp_path: Path, body: str, message: str) -> None:
    assert _fails(tmp_path, body) == [message]


def test_template_not_found_names_plugin(tmp_path: Path) -> None:
    env = make_environment([], {})
    request = ResourceRequest("p", "nope/x.j2", "v1", "ConfigMap", "cm", "shop", {})
    with pytest.raises(RenderError) as info:
        render_requests(_spec(tmp_path), [request], env)
    assert str(info.value) == "plugin 'p': template 'nope/x.j2' not found"


def test_undefined_in_tojson_names_the_variable(tmp_path: Path) -> None:
    [message] = _fails(tmp_path, HEAD + "data: {{ missing | tojson }}\n")
    assert message.endswith("tpl/t/cm.yaml.j2:5: undefined variable: 'missing' is undefined")


def test_sandbox_refuses_large_products(tmp_path: Path) -> None:
    [message] = _fails(tmp_path, "{{ 'ab' * 1000000 }}\n")
    assert message.endswith(
        f"tpl/t/cm.yaml.j2:1: unsafe template operation refused: '*' would build more than {MAX_OBJECT_BYTES} items"
    )
    [obj] = _render(tmp_path, HEAD + "data: {k: {{ ('a' * 3) | tojson }}, n: {{ 2 ** 10 }}}\n")
    assert obj.obj["data"] == {"k": "aaa", "n": 1024}


def test_builtin_environment_has_no_random_global() -> None:
    assert "lipsum" not in make_environment([], {}).globals
    assert "lipsum" not in make_environment([Path("/nonexistent")], {}).globals


def test_object_path_and_source_name(tmp_path: Path) -> None:
    assert object_path(ResourceRequest("p", "t", "v1", "Namespace", "shop", None)) == "_cluster/namespace-shop.yaml"
    assert (
        object_path(ResourceRequest("p", "t", "v1", "Service", "gw", "istio-system")) == "istio-system/service-gw.yaml"
    )
    spec = _spec(tmp_path)
    assert source_name(spec) == "environments/dev.yaml"
    request = ResourceRequest("http", "t", "v1", "Gateway", "gw", "ns")
    request.touch("tls")
    request.touch("http")
    assert provenance(spec, request)["gwpipe.dev/plugins"] == "http,tls"


def test_user_template_overrides_builtin(tmp_path: Path) -> None:
    env = make_environment([tmp_path], {})
    (tmp_path / "http").mkdir()
    (tmp_path / "http" / "gateway.yaml.j2").write_text("overridden\n")
    assert env.get_template("http/gateway.yaml.j2").render() == "overridden\n"
    assert isinstance(env, jinja2.sandbox.SandboxedEnvironment)
    assert not isinstance(make_environment([], {}), jinja2.sandbox.SandboxedEnvironment)


TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=60)


@given(TEXT)
def test_yaml_safe_json_round_trips(value: str) -> None:
    assert yaml.safe_load(yaml_safe_json(value, ensure_ascii=False)) == value


# every character a spec can carry in a string value: no surrogates, no control characters (yamlload refuses them)
SPEC_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cc"]), min_size=1, max_size=40)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(SPEC_TEXT)
def test_any_string_value_round_trips_through_render(tmp_path: Path, value: str) -> None:
    """Catalogue rows 23/24: for arbitrary text in a free string field, parse(render(v)) == v."""
    spec = {
        "namespace": "shop",
        "gateways": {"web": {"selector": {"istio": "ingressgateway"}}},
        "hosts": {
            "a.example.com": {
                "gateway": "web",
                "routes": [{"match": [{"uri": {"exact": value}}], "destination": {"host": "app", "port": 80}}],
            }
        },
    }
    bundle = build(tmp_path / "envs", spec)
    vs = find(bundle.objects, "VirtualService", "a-example-com")
    assert vs["spec"]["http"][0]["match"] == [{"uri": {"exact": value}}]
    assert len(bundle.objects) == 2


def test_template_seconds_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from gwpipe.render.objects import USER_TEMPLATE_SECONDS, template_seconds

    monkeypatch.delenv("GWPIPE_TEMPLATE_SECONDS", raising=False)
    assert template_seconds() == USER_TEMPLATE_SECONDS
    monkeypatch.setenv("GWPIPE_TEMPLATE_SECONDS", "0.25")
    assert template_seconds() == 0.25
    for bad in ("abc", "0", "-1", "nan"):
        monkeypatch.setenv("GWPIPE_TEMPLATE_SECONDS", bad)
        with pytest.raises(RenderError) as info:
            template_seconds()
        assert str(info.value) == f"GWPIPE_TEMPLATE_SECONDS: expected a positive number of seconds, got {bad!r}"


JSONABLE = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(alphabet=st.characters(codec="utf-8")),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(JSONABLE, st.sampled_from([None, 2]))
def test_tojson_is_jinjas_tojson_with_the_yaml_safe_dumps(value: Any, indent: int | None) -> None:
    """gwpipe's own `tojson` filter (fast paths for plain strings and ints) gives jinja2's output byte for byte."""
    from jinja2.filters import do_tojson
    from jinja2.nodes import EvalContext

    from gwpipe.render.environment import tojson

    env = make_environment([], {})
    expected = do_tojson(EvalContext(env), value, indent)
    assert tojson(value, indent) == expected
    assert type(tojson(value, indent)) is type(expected)


def test_metadata_macro_and_builtin_block_agree(tmp_path: Path) -> None:
    """User templates importing the macro get the block the built-in templates render with metadata_yaml()."""
    values = {"labels": {"B": "1", "a": "2"}, "annotations": {"note": "x'<y"}}
    [macro] = _render(tmp_path, HEAD + "data: {}\n", values=values)
    direct = "apiVersion: {{ api_version }}\nkind: ConfigMap\n{{ metadata_yaml(meta) -}}\ndata: {}\n"
    [builtin] = _render(tmp_path, direct, values=values)
    assert macro.text == builtin.text
    assert list(macro.obj["metadata"]["labels"]) == ["a", "app.kubernetes.io/managed-by", "B"]


def _requests(count: int) -> list[ResourceRequest]:
    return [ResourceRequest("p", "t/cm.yaml.j2", "v1", "ConfigMap", f"cm{i}", "shop", {}) for i in range(count)]


def test_parse_back_reads_a_stream_as_each_text_alone() -> None:
    from gwpipe.render.parseback import _parse_back
    from gwpipe.render.parseback import parse_back_all as _parse_back_all

    head = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm{i}\n  namespace: shop\n"
    head += "  annotations: {{gwpipe.dev/source: s}}\n"
    bodies = [
        "data: {k: yes, n: 0443, t: 2001-12-14}\n",
        "data:\n  k: |+\n    kept\n\n",  # a block scalar keeping its trailing newlines
        "data: &a {k: 1}\nother: *a\n",  # an alias: the fast reader declines, so all are read alone
        "data: {}\n...\n",  # a document end marker: read alone
        "data: {k: x}\r\n",  # a CR line break: read alone
    ]
    for count in (1, len(bodies)):
        texts = [head.format(i=i) + bodies[i] for i in range(count)]
        requests = _requests(count)
        assert _parse_back_all(requests, texts) == [_parse_back(r, t) for r, t in zip(requests, texts, strict=True)]
    texts = [head.format(i=i) + bodies[i] for i in (0, 1, 3, 4)]
    requests = [_requests(5)[i] for i in (0, 1, 3, 4)]
    assert _parse_back_all(requests, texts) == [_parse_back(r, t) for r, t in zip(requests, texts, strict=True)]


def test_parse_back_in_a_stream_still_names_the_bad_object() -> None:
    from gwpipe.render.parseback import parse_back_all as _parse_back_all

    good = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm{i}\n  namespace: shop\n"
    good += "  annotations: {{gwpipe.dev/source: s}}\n"
    texts = [good.format(i=0), "# nothing rendered\n", good.format(i=2) + "data: [\n"]
    with pytest.raises(RenderError) as info:
        _parse_back_all(_requests(3), texts)
    assert [str(p) for p in info.value.problems] == [
        "template t/cm.yaml.j2: rendered 0 documents for ConfigMap shop/cm1; expected exactly 1"
    ]
    with pytest.raises(RenderError) as info:
        _parse_back_all(_requests(3)[::2], [texts[0], texts[2]])
    assert [str(p) for p in info.value.problems] == [
        "template t/cm.yaml.j2 (output:8): ConfigMap shop/cm2 is not valid YAML: did not find expected node content"
    ]


def test_an_earlier_objects_bad_output_is_reported_before_a_later_template_error(tmp_path: Path) -> None:
    """Objects are judged in order, as when each was rendered and read back before the next."""
    folder = tmp_path / "tpl" / "t"
    folder.mkdir(parents=True)
    (folder / "a.yaml.j2").write_text(HEAD + "data: [unclosed\n")
    (folder / "b.yaml.j2").write_text(HEAD + "data: {{ no_such_variable }}\n")
    env = make_environment([tmp_path / "tpl"], {})
    requests = [
        ResourceRequest("p", "t/a.yaml.j2", "v1", "ConfigMap", "a", "shop", {}),
        ResourceRequest("p", "t/b.yaml.j2", "v1", "ConfigMap", "b", "shop", {}),
    ]
    with pytest.raises(RenderError) as info:
        render_requests(_spec(tmp_path), requests, env)
    assert [str(p) for p in info.value.problems] == [
        "template t/a.yaml.j2 (output:13): ConfigMap shop/a is not valid YAML: did not find expected ',' or ']'"
    ]


@given(st.dictionaries(st.text(max_size=4) | st.integers(), st.text(max_size=4), max_size=5))
def test_metadata_block_sorts_as_jinjas_dictsort(labels: dict[Any, str]) -> None:
    """The block the old macro rendered with `dictsort` (case-insensitive, any key type) is what metadata_yaml gives."""
    from gwpipe.render.environment import metadata_yaml

    assume(len({type(k) for k in labels}) <= 1)  # dictsort itself cannot order int and str keys together
    env = make_environment([], {})
    macro = env.from_string(
        "{% for key, value in labels | dictsort %}    {{ key | tojson }}: {{ value | tojson }}\n{% endfor %}"
    )
    meta = {"name": "n", "namespace": "", "labels": labels, "annotations": {}}
    assert metadata_yaml(meta) == f'metadata:\n  name: "n"\n  labels:\n{macro.render(labels=labels)}  annotations:\n'
