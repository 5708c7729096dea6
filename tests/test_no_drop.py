"""Nothing a plugin sets is silently dropped: built-in templates emit unmodelled keys, parse-back refuses a drop."""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any

import pytest

from gwpipe.errors import RenderError
from gwpipe.hooks.specs import hookimpl
from gwpipe.model import ResourceRequest, Resources
from gwpipe.render.content import verify_content
from gwpipe.spec.load import Spec
from gwpipe.testing import build, find

CORS = {"allowOrigins": [{"exact": "https://a.example.com"}], "allowMethods": ["GET"], "maxAge": "1h"}

SPEC: dict[str, Any] = {
    "namespace": "shop",
    "gateways": {"web": {"selector": {"istio": "ingressgateway"}}},
    "hosts": {
        "api.example.com": {
            "gateway": "web",
            "virtualService": "api",
            "routes": [
                {"name": "v1", "match": [{"uri": {"prefix": "/v1"}}], "destination": {"host": "v1", "port": 80}},
                {"destination": {"host": "app", "port": 80}},
            ],
            "tls": {"credentialName": "api-cert", "certificate": {"issuerRef": {"name": "ca"}, "issuerType": "acme"}},
        }
    },
    "logging": {"telemetry": {"edge": {"workload": "istio-ingressgateway"}}},
}


def editor(name: str, edit: Any, *fields: str) -> types.ModuleType:
    """A third-party plugin `name` whose gwpipe_modify_resources applies `edit` to every request it returns True for."""
    module = types.ModuleType(name)

    @hookimpl
    def gwpipe_modify_resources(spec: Spec, resources: Resources) -> None:
        for request in list(resources):
            if edit(request):
                request.touch(name, *fields)

    module.gwpipe_modify_resources = gwpipe_modify_resources  # type: ignore[attr-defined]
    return module


def add_cors(request: ResourceRequest) -> bool:
    if request.kind != "VirtualService":
        return False
    for route in request.values["http"]:
        route["corsPolicy"] = CORS
    return True


def test_unmodelled_route_key_reaches_the_output(tmp_path: Path) -> None:
    bundle = build(tmp_path, SPEC, plugins=[editor("cors", add_cors, "http[0].corsPolicy", "http[1].corsPolicy")])
    routes = find(bundle.objects, "VirtualService", "api")["spec"]["http"]
    assert [r["corsPolicy"] for r in routes] == [CORS, CORS]
    assert routes[0]["name"] == "v1"
    annotations = find(bundle.objects, "VirtualService", "api")["metadata"]["annotations"]
    assert annotations["gwpipe.dev/plugins"] == "http,cors"


def test_unmodelled_keys_of_destinations_servers_and_telemetry_reach_the_output(tmp_path: Path) -> None:
    def edit(request: ResourceRequest) -> bool:
        if request.kind == "VirtualService":
            target = request.values["http"][1]["route"][0]
            target["headers"] = {"request": {"set": {"x-a": "1"}}}
            target["destination"]["port"]["extra"] = 1
        elif request.kind == "Gateway":
            request.values["servers"][-1]["bind"] = "0.0.0.0"
            request.values["servers"][-1]["port"]["extra"] = 8443
        elif request.kind == "Telemetry":
            request.values["accessLogging"][0]["providers"][0]["extra"] = True
            request.values["accessLogging"][0]["match"] = {"mode": "SERVER", "other": "x"}
        else:
            return False
        return True

    # keys Istio does not know (`extra`) prove the emission is generic; the schema check would refuse them
    objects = build(tmp_path, SPEC, blocked=["schema"], plugins=[editor("extras", edit)]).objects
    target = find(objects, "VirtualService", "api")["spec"]["http"][1]["route"][0]
    assert target == {
        "destination": {"host": "app", "port": {"number": 80, "extra": 1}},
        "headers": {"request": {"set": {"x-a": "1"}}},
    }
    server = find(objects, "Gateway", "web")["spec"]["servers"][-1]
    assert server["bind"] == "0.0.0.0"
    assert server["port"] == {"number": 443, "name": "https", "protocol": "HTTPS", "extra": 8443}
    entry = find(objects, "Telemetry", "edge")["spec"]["accessLogging"][0]
    assert entry["providers"] == [{"name": "envoy", "extra": True}]
    assert entry["match"] == {"mode": "SERVER", "other": "x"}


def test_unmodelled_keys_follow_the_modelled_ones_sorted(tmp_path: Path) -> None:
    def edit(request: ResourceRequest) -> bool:
        if request.kind != "VirtualService":
            return False
        request.values["http"][0].update({"mirrorPercentage": {"value": 5.0}, "corsPolicy": CORS})
        return True

    [vs] = [o for o in build(tmp_path, SPEC, plugins=[editor("x", edit)]).objects if o.request.kind == "VirtualService"]
    lines = vs.text.splitlines()
    start = lines.index('    name: "v1"')
    assert lines[start + 1].startswith('    match: [{"uri": ')
    assert lines[start + 2].startswith('    "corsPolicy": {"allowMethods": ["GET"], "allowOrigins": ')
    assert lines[start + 3] == '    "mirrorPercentage": {"value": 5.0}'


OVERRIDE_WITHOUT_EXTRAS = """\
{% from "_macros/routes.j2" import destinations %}
apiVersion: {{ api_version }}
kind: VirtualService
{{ metadata_yaml(meta) -}}
spec:
  hosts: {{ hosts | tojson }}
  gateways: {{ gateways | tojson }}
  http:
{% for route in http %}
  - route:
{{ destinations(route.route) -}}
{% if route.name is defined %}
    name: {{ route.name | tojson }}
{% endif %}
{% if route.match is defined %}
    match: {{ route.match | tojson }}
{% endif %}
{% endfor %}
"""


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # error messages name override templates relative to the working directory
    monkeypatch.chdir(tmp_path)


def _override(tmp_path: Path, body: str, name: str = "http/virtualservice.yaml.j2") -> Path:
    folder = tmp_path / "tpl"
    (folder / name).parent.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(body)
    return folder


def test_override_that_omits_a_plugin_value_fails_naming_plugin_and_field(tmp_path: Path) -> None:
    folder = _override(tmp_path, OVERRIDE_WITHOUT_EXTRAS)
    plugin = editor("cors", add_cors, "http[0].corsPolicy", "http[1].corsPolicy")
    with pytest.raises(RenderError) as info:
        build(tmp_path, SPEC, plugins=[plugin], templates=[folder])
    assert [str(p) for p in info.value.problems] == [
        "tpl/http/virtualservice.yaml.j2: VirtualService shop/api: spec.http[0].corsPolicy "
        "set by plugin 'cors' did not reach the output"
    ]


def test_override_that_passes_everything_on_renders(tmp_path: Path) -> None:
    body = OVERRIDE_WITHOUT_EXTRAS + "{% for route in http %}{% endfor %}"
    body = body.replace(
        "    match: {{ route.match | tojson }}\n{% endif %}\n",
        "    match: {{ route.match | tojson }}\n{% endif %}\n    corsPolicy: {{ route.corsPolicy | tojson }}\n",
    )
    folder = _override(tmp_path, body)
    bundle = build(tmp_path, SPEC, plugins=[editor("cors", add_cors)], templates=[folder])
    assert find(bundle.objects, "VirtualService", "api")["spec"]["http"][1]["corsPolicy"] == CORS


def test_override_that_drops_a_builtin_value_names_the_builtin_plugin(tmp_path: Path) -> None:
    folder = _override(tmp_path, OVERRIDE_WITHOUT_EXTRAS.replace("    name: {{ route.name | tojson }}\n", ""))
    with pytest.raises(RenderError) as info:
        build(tmp_path, SPEC, templates=[folder])
    assert [str(p) for p in info.value.problems] == [
        "tpl/http/virtualservice.yaml.j2: VirtualService shop/api: spec.http[0].name "
        "set by plugin 'http' did not reach the output"
    ]


def test_a_changed_value_is_a_drop_too(tmp_path: Path) -> None:
    body = OVERRIDE_WITHOUT_EXTRAS.replace("gateways: {{ gateways | tojson }}", 'gateways: ["mesh"]')
    with pytest.raises(RenderError) as info:
        build(tmp_path, SPEC, templates=[_override(tmp_path, body)])
    assert str(info.value) == (
        "tpl/http/virtualservice.yaml.j2: VirtualService shop/api: spec.gateways[0] "
        "set by plugin 'http' did not reach the output"
    )


def test_gateway_override_dropping_a_tls_server_field(tmp_path: Path) -> None:
    body = (
        "apiVersion: {{ api_version }}\nkind: Gateway\n{{ metadata_yaml(meta) -}}\nspec:\n"
        "  selector: {{ selector | tojson }}\n  servers:\n"
        "{% for s in servers %}\n  - port: {{ s.port | tojson }}\n    hosts: {{ s.hosts | tojson }}\n{% endfor %}\n"
    )
    with pytest.raises(RenderError) as info:
        build(tmp_path, SPEC, templates=[_override(tmp_path, body, "http/gateway.yaml.j2")])
    # the tls plugin appended the server and touched the Gateway without naming fields: both are suspects
    assert str(info.value) == (
        "tpl/http/gateway.yaml.j2: Gateway shop/web: spec.servers[1].tls "
        "set by one of the plugins 'http', 'tls' did not reach the output"
    )


def _request(**values: Any) -> ResourceRequest:
    return ResourceRequest(
        "owner", "t/x.yaml.j2", "v1", "ConfigMap", "x", "shop", values, content={"data": "data", "deep": "spec.a.b"}
    )


@pytest.mark.parametrize(
    ("values", "obj", "field"),
    [
        ({"data": {"k": "v"}}, {"data": {}}, "data.k"),
        ({"data": {"k": [1, 2]}}, {"data": {"k": [1]}}, "data.k[1]"),
        ({"data": {"k": True}, "deep": "x"}, {"data": {"k": 1}}, "spec.a.b"),
        ({"data": {"a.b": "v"}}, {"data": {"a.b": "w"}}, "data['a.b']"),
        ({"deep": ["x"]}, {"spec": {"a": {}}}, "spec.a.b"),
        ({"labels": {"team": "a"}}, {"metadata": {"labels": {"team": "b"}}}, "metadata.labels.team"),
        ({"annotations": {"n/x": "1"}}, {"metadata": {}}, "metadata.annotations"),
        ({"annotations": {"n/x": "1"}}, {"metadata": {"annotations": {"n/x": 1}}}, "metadata.annotations['n/x']"),
    ],
)
def test_verify_content_reports_the_first_missing_or_different_leaf(
    values: dict[str, Any], obj: dict[str, Any], field: str
) -> None:
    with pytest.raises(RenderError) as info:
        verify_content(_request(**values), obj, "t.j2")
    assert str(info.value) == f"t.j2: ConfigMap shop/x: {field} set by plugin 'owner' did not reach the output"


@pytest.mark.parametrize(
    ("values", "obj"),
    [
        ({"data": {"k": "v"}}, {"data": {"k": "v", "extra": 1}}),
        ({"data": {}, "deep": []}, {}),
        ({"data": None}, {}),
        ({"data": {"k": None}}, {"data": {}}),
        ({"labels": {"app.kubernetes.io/managed-by": "me"}}, {"metadata": {"labels": {}}}),
        ({"notcontent": 1}, {}),
    ],
)
def test_verify_content_accepts_outputs_holding_every_planned_leaf(values: dict[str, Any], obj: dict[str, Any]) -> None:
    verify_content(_request(**values), obj, "t.j2")


def test_the_touching_plugin_that_named_the_field_is_blamed() -> None:
    request = _request(data={"k": {"x": 1}, "j": 2})
    request.touch("a", "data.k")
    request.touch("b", "data.j")
    with pytest.raises(RenderError, match=r"data\.k\.x set by plugin 'a' did"):
        verify_content(request, {"data": {"j": 2, "k": {}}}, "t.j2")
    with pytest.raises(RenderError, match=r"data\.j set by plugin 'b' did"):
        verify_content(request, {"data": {"k": {"x": 1}}}, "t.j2")
    # a path above the missing field counts too, and a path below it
    request.setters = {"data": "c"}
    with pytest.raises(RenderError, match=r"data\.j set by plugin 'c' did"):
        verify_content(request, {"data": {"k": {"x": 1}}}, "t.j2")
    request.setters = {"data.k.x": "d"}
    with pytest.raises(RenderError, match=r"data\.k set by plugin 'd' did"):
        verify_content(request, {"data": {"j": 2}}, "t.j2")
