"""The http plugin: why Gateways select and serve what they do, and why VirtualServices look as they do."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gwpipe.errors import PluginError, SpecError
from gwpipe.testing import build, find


def spec(hosts: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {
        "namespace": "shop",
        "gateways": {"edge": {"selector": {"istio": "ingressgateway"}}},
        "hosts": hosts,
        **top,
    }


def route(host: str = "webapp", port: int = 80) -> list[dict[str, Any]]:
    return [{"destination": {"host": host, "port": port}}]


def test_one_http_server_lists_every_bound_host_sorted(spec_dir: Path) -> None:
    bundle = build(
        spec_dir,
        spec(
            {
                "b.example.com": {"gateway": "edge", "routes": route()},
                "a.example.com": {"gateway": "edge", "routes": route()},
            }
        ),
    )
    gateway = find(bundle.objects, "Gateway", "edge")
    assert gateway["spec"]["servers"] == [
        {"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["a.example.com", "b.example.com"]}
    ]
    assert gateway["metadata"]["namespace"] == "shop"


def test_http_false_keeps_a_host_off_the_http_server(spec_dir: Path) -> None:
    # a host served only over HTTPS (or TCP) must not be reachable in clear text
    hosts = {
        "a.example.com": {"gateway": "edge", "routes": route()},
        "b.example.com": {"gateway": "edge", "http": False, "routes": route(), "tls": {"credentialName": "b"}},
    }
    secret = {"kind": "Secret", "namespace": "istio-system", "name": "b", "keys": ["tls.crt", "tls.key"]}
    gateway = find(build(spec_dir, spec(hosts, checks={"inventory": [secret]})).objects, "Gateway", "edge")
    http = [s for s in gateway["spec"]["servers"] if s["port"]["protocol"] == "HTTP"]
    assert http == [{"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["a.example.com"]}]


def test_selector_defaults_to_the_workload_labels(spec_dir: Path) -> None:
    # without an explicit selector the Gateway selects exactly the pods of its workload
    data = spec({"a.example.com": {"gateway": "edge", "routes": route()}})
    data["workloads"] = {"team-gw": {"namespace": "team", "labels": {"app": "team-gw", "istio": "team"}}}
    data["gateways"] = {"edge": {"workload": "team-gw"}}
    gateway = find(build(spec_dir, data).objects, "Gateway", "edge")
    assert gateway["spec"]["selector"] == {"app": "team-gw", "istio": "team"}


def test_virtual_service_names_its_gateway_with_namespace_by_default(spec_dir: Path) -> None:
    # without `gateways` a VirtualService binds to the mesh gateway; a qualified ref survives namespace moves
    vs = find(
        build(spec_dir, spec({"a.example.com": {"gateway": "edge", "routes": route()}})).objects,
        "VirtualService",
        "a-example-com",
    )
    assert vs["spec"]["gateways"] == ["shop/edge"]
    assert vs["spec"]["hosts"] == ["a.example.com"]


def test_short_refs_only_within_one_namespace(spec_dir: Path) -> None:
    data = spec(
        {
            "a.example.com": {"gateway": "edge", "routes": route()},
            "b.example.com": {"gateway": "other", "routes": route()},
        },
        gatewayRefs="short",
    )
    data["gateways"]["other"] = {"namespace": "ingress", "selector": {"istio": "ingressgateway"}}
    objects = build(spec_dir, data).objects
    assert find(objects, "VirtualService", "a-example-com")["spec"]["gateways"] == ["edge"]
    assert find(objects, "VirtualService", "b-example-com")["spec"]["gateways"] == ["ingress/other"]


def test_routes_keep_order_and_istio_shape(spec_dir: Path) -> None:
    routes = [
        {
            "name": "api",
            "match": [{"uri": {"prefix": "/api/"}, "headers": {"x-canary": {"exact": "true"}}}],
            "destinations": [
                {"host": "api", "port": 8080, "weight": 90},
                {"host": "api-canary", "port": 8080, "weight": 10, "subset": "v2"},
            ],
            "timeout": "3s",
            "retries": {"attempts": 2, "perTryTimeout": "1s", "retryOn": "5xx"},
        },
        {"destination": {"host": "webapp", "port": 80}, "rewrite": {"uri": "/"}},
    ]
    vs = find(
        build(spec_dir, spec({"a.example.com": {"gateway": "edge", "routes": routes}})).objects,
        "VirtualService",
        "a-example-com",
    )
    assert vs["spec"]["http"] == [
        {
            "name": "api",
            "match": [{"uri": {"prefix": "/api/"}, "headers": {"x-canary": {"exact": "true"}}}],
            "route": [
                {"destination": {"host": "api", "port": {"number": 8080}}, "weight": 90},
                {"destination": {"host": "api-canary", "port": {"number": 8080}, "subset": "v2"}, "weight": 10},
            ],
            "timeout": "3s",
            "retries": {"attempts": 2, "perTryTimeout": "1s", "retryOn": "5xx"},
        },
        {"route": [{"destination": {"host": "webapp", "port": {"number": 80}}}], "rewrite": {"uri": "/"}},
    ]


@pytest.mark.parametrize(("version", "api"), [("1.17", "v1beta1"), ("1.21", "v1beta1"), ("1.22", "v1"), ("1.28", "v1")])
def test_api_version_follows_the_target_istio(spec_dir: Path, version: str, api: str) -> None:
    # networking.istio.io/v1 is served from Istio 1.22; older control planes reject it
    bundle = build(
        spec_dir, spec({"a.example.com": {"gateway": "edge", "routes": route()}}, istio={"version": version})
    )
    assert {o.obj["apiVersion"] for o in bundle.objects} == {f"networking.istio.io/{api}"}


def test_every_cross_field_problem_is_reported_at_once_with_its_line(spec_dir: Path) -> None:
    text = textwrap.dedent(
        """\
        namespace: shop
        gateways:
          edge:
            workload: nope
        hosts:
          a.example.com:
            gateway: edge
            virtualService: same
            routes:
              - destinations:
                  - {host: a, port: 80, weight: 60}
                  - {host: b, port: 80, weight: 30}
          b.example.com:
            gateway: missing
            virtualService: same
            routes:
              - timeout: 5s
        """
    )
    with pytest.raises(SpecError) as caught:
        build(spec_dir, text)
    file = spec_dir / "test.yaml"
    assert [str(p) for p in caught.value.problems] == [
        f"{file}:4:15: gateways.edge.workload: unknown workload 'nope'; declared: istio-ingressgateway",
        f'{file}:11:11: hosts["a.example.com"].routes[0].destinations: weights must add up to 100, got 90',
        f"{file}:14:14: hosts[\"b.example.com\"].gateway: unknown gateway 'missing'; declared: edge",
        f"{file}:15:21: hosts[\"b.example.com\"].virtualService: VirtualService 'same' is already used by host "
        "'a.example.com'",
        f'{file}:17:9: hosts["b.example.com"].routes[0]: a route needs destination or destinations',
    ]


def test_destination_and_destinations_exclude_each_other(spec_dir: Path) -> None:
    routes = [{"destination": {"host": "a", "port": 80}, "destinations": [{"host": "b", "port": 80, "weight": 100}]}]
    with pytest.raises(SpecError) as caught:
        build(spec_dir, spec({"a.example.com": {"gateway": "edge", "routes": routes}}))
    assert any(
        re.search(r"routes\[0\]\.destination: cannot be combined with 'destinations'$", str(p))
        for p in caught.value.problems
    )


def test_a_gateway_without_any_server_is_refused(spec_dir: Path) -> None:
    # Istio rejects a Gateway with no servers; nothing binds to "edge" here
    data = spec({"a.example.com": {"gateway": "edge", "http": False, "routes": route()}})
    with pytest.raises((SpecError, PluginError)) as caught:
        build(spec_dir, data)
    assert any("no servers" in str(p) for p in caught.value.problems)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True), min_size=1, max_size=6, unique=True))
def test_every_host_gets_exactly_one_virtual_service_bound_to_its_gateway(
    tmp_path_factory: Any, labels: list[str]
) -> None:
    folder = tmp_path_factory.mktemp("env")
    hosts = {f"{label}.example.com": {"gateway": "edge", "routes": route()} for label in labels}
    objects = build(folder, spec(hosts)).objects
    services = [o.obj for o in objects if o.request.kind == "VirtualService"]
    assert sorted(h for vs in services for h in vs["spec"]["hosts"]) == sorted(hosts)
    assert all(vs["spec"]["gateways"] == ["shop/edge"] for vs in services)
