"""gwpipe-cors against the real gwpipe pipeline: schema, routes, the ConfigMap, the check, and the no-drop rule."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gwpipe_cors
import pytest

from gwpipe.errors import CheckError, RenderError, SpecError
from gwpipe.testing import build, find, objects_by_ref

ORIGINS = [{"exact": "https://shop.example.com"}, {"prefix": "https://preview-"}]


def spec(cors: dict[str, Any] | None = None, **top: Any) -> dict[str, Any]:
    api: dict[str, Any] = {
        "gateway": "web",
        "virtualService": "api",
        "routes": [
            {"match": [{"uri": {"prefix": "/v1"}}], "destination": {"host": "v1", "port": 80}},
            {"destination": {"host": "app", "port": 80}},
        ],
    }
    if cors is not None:
        api["cors"] = cors
    return {
        "namespace": "shop",
        "gateways": {"web": {"selector": {"istio": "ingressgateway"}}},
        "hosts": {"api.example.com": api, "www.example.com": {"gateway": "web", "routes": api["routes"][1:]}},
        **top,
    }


def test_every_route_of_the_host_gets_the_policy_and_other_hosts_none(spec_dir: Path) -> None:
    policy = {"allowOrigins": ORIGINS, "allowMethods": ["GET", "POST"], "maxAge": "24h"}
    objects = build(spec_dir, spec(policy), plugins=[gwpipe_cors]).objects
    api = find(objects, "VirtualService", "api")
    assert [route["corsPolicy"] for route in api["spec"]["http"]] == [policy, policy]
    assert api["metadata"]["annotations"]["gwpipe.dev/plugins"] == "http,cors"
    other = find(objects, "VirtualService", "www-example-com")
    assert all("corsPolicy" not in route for route in other["spec"]["http"])


def test_the_spec_key_is_validated_with_the_plugins_schema(spec_dir: Path) -> None:
    with pytest.raises(SpecError) as info:
        build(spec_dir, spec({"allowOrigins": ORIGINS, "allowMethods": ["FETCH"]}), plugins=[gwpipe_cors])
    assert str(info.value).endswith(
        "test.yaml:26:9: hosts[\"api.example.com\"].cors.allowMethods[0]: unsupported value, got 'FETCH'; "
        "allowed: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, CONNECT, TRACE, *"
    )


def test_without_the_plugin_the_key_is_unknown(spec_dir: Path) -> None:
    with pytest.raises(SpecError, match=r'hosts\["api\.example\.com"\]\.cors: unknown field'):
        build(spec_dir, spec({"allowOrigins": ORIGINS}))


def test_config_map_lists_the_origins_from_the_plugins_template(spec_dir: Path) -> None:
    bundle = build(spec_dir, spec({"allowOrigins": ORIGINS}, corsConfigMap="cors-origins"), plugins=[gwpipe_cors])
    config = objects_by_ref(bundle)["ConfigMap shop/cors-origins"]
    assert config["data"] == {"api.example.com": "exact:https://shop.example.com\nprefix:https://preview-"}
    assert bundle.files["shop/configmap-cors-origins.yaml"].decode().startswith("apiVersion: v1\nkind: ConfigMap\n")


def test_wildcard_origin_with_credentials_is_a_warning(spec_dir: Path) -> None:
    policy = {"allowOrigins": [{"exact": "*"}], "allowCredentials": True}
    bundle = build(spec_dir, spec(policy), plugins=[gwpipe_cors])
    [finding] = [f for f in bundle.findings if f.code == gwpipe_cors.WILDCARD_CODE]
    assert (finding.level, finding.resource) == ("Warning", "VirtualService shop/api")
    assert finding.file == str(spec_dir / "test.yaml")
    lines = (spec_dir / "test.yaml").read_text().splitlines()
    assert finding.line == 1 + next(i for i, line in enumerate(lines) if line.strip() == "allowCredentials: true")
    # the same policy without credentials is fine
    quiet = build(spec_dir, spec({"allowOrigins": [{"exact": "*"}]}), plugins=[gwpipe_cors])
    assert not [f for f in quiet.findings if f.code == gwpipe_cors.WILDCARD_CODE]


def test_warning_fails_the_run_at_fail_level_warning(spec_dir: Path) -> None:
    policy = {"allowOrigins": [{"regex": ".*"}], "allowCredentials": True}
    with pytest.raises(
        CheckError, match=r"CORS0001 VirtualService shop/api: host 'api\.example\.com' allows any origin"
    ):
        build(spec_dir, spec(policy), plugins=[gwpipe_cors], fail_level="Warning").settle()


def test_an_override_template_that_drops_the_policy_fails_naming_this_plugin(
    spec_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "tpl" / "http"
    folder.mkdir(parents=True)
    # a site template that lays out only host and port of the first destination of each route
    (folder / "virtualservice.yaml.j2").write_text(
        "apiVersion: {{ api_version }}\nkind: VirtualService\n{{ metadata_yaml(meta) -}}\nspec:\n"
        "  hosts: {{ hosts | tojson }}\n  gateways: {{ gateways | tojson }}\n  http:\n"
        "{% for r in http %}\n  - route: {{ r.route | tojson }}\n"
        "{% if r.match is defined %}\n    match: {{ r.match | tojson }}\n{% endif %}\n{% endfor %}\n"
    )
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RenderError) as info:
        build(spec_dir, spec({"allowOrigins": ORIGINS}), plugins=[gwpipe_cors], templates=[tmp_path / "tpl"])
    assert str(info.value) == (
        "tpl/http/virtualservice.yaml.j2: VirtualService shop/api: spec.http[0].corsPolicy "
        "set by plugin 'cors' did not reach the output"
    )
