"""The tcp plugin: TCP servers on Gateways, port-matched VirtualServices, and the Service ports they need."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gwpipe.errors import PluginError, SpecError
from gwpipe.testing import build, find

WORKLOAD_PORTS = [
    {"name": "http2", "port": 80, "targetPort": 8080},
    {"name": "https", "port": 443, "targetPort": 8443},
    {"name": "tcp", "port": 31400, "targetPort": 31400},
]


def spec(tcp: dict[str, dict[str, Any]], **top: Any) -> dict[str, Any]:
    """One Gateway `edge` on the default ingress gateway, whose Service exposes 80, 443 and 31400."""
    return {
        "namespace": "shop",
        "workloads": top.pop(
            "workloads",
            {
                "istio-ingressgateway": {
                    "namespace": "istio-system",
                    "labels": {"istio": "ingressgateway"},
                    "ports": WORKLOAD_PORTS,
                }
            },
        ),
        "gateways": top.pop("gateways", {"edge": {}}),
        "tcp": tcp,
        **top,
    }


def echo(**extra: Any) -> dict[str, Any]:
    return {"gateway": "edge", "port": 31400, "destination": {"host": "tcp-echo", "port": 2701}, **extra}


def spec_errors(folder: Path, data: dict[str, Any] | str) -> list[str]:
    """Every problem line of the SpecError the spec raises (the test fails when it raises none)."""
    with pytest.raises(SpecError) as caught:
        build(folder, textwrap.dedent(data) if isinstance(data, str) else data)
    return [str(p) for p in caught.value.problems]


def where(folder: Path, line: int, column: int) -> str:
    return re.escape(f"{folder / 'test.yaml'}:{line}:{column}: ")


def test_a_tcp_entry_adds_a_tcp_server_with_every_host_to_its_gateway(spec_dir: Path) -> None:
    bundle = build(spec_dir, spec({"tcp-echo": echo()}))
    gateway = find(bundle.objects, "Gateway", "edge")
    # a Gateway bound only to TCP entries has no HTTP server at all: the http plugin adds none without hosts
    assert gateway["spec"]["servers"] == [
        {"port": {"number": 31400, "name": "tcp-echo", "protocol": "TCP"}, "hosts": ["*"]}
    ]
    assert gateway["metadata"]["annotations"]["gwpipe.dev/plugins"] == "http,tcp"


def test_the_virtual_service_matches_the_gateway_port_and_routes_to_the_destination(spec_dir: Path) -> None:
    bundle = build(spec_dir, spec({"tcp-echo": echo(virtualService="echo-vs")}))
    vs = find(bundle.objects, "VirtualService", "echo-vs")
    assert vs["metadata"]["namespace"] == "shop"
    # hosts "*" is legal because the VS names its gateway (never the mesh default)
    assert vs["spec"] == {
        "hosts": ["*"],
        "gateways": ["shop/edge"],
        "tcp": [
            {"match": [{"port": 31400}], "route": [{"destination": {"host": "tcp-echo", "port": {"number": 2701}}}]}
        ],
    }


def test_weighted_destinations_become_weighted_routes(spec_dir: Path) -> None:
    destinations = [
        {"host": "echo", "port": 2701, "subset": "v1", "weight": 90},
        {"host": "echo", "port": 2701, "subset": "v2", "weight": 10},
    ]
    entry = {"gateway": "edge", "port": 31400, "destinations": destinations}
    bundle = build(spec_dir, spec({"echo": entry}))
    route = find(bundle.objects, "VirtualService", "echo")["spec"]["tcp"][0]["route"]
    assert route == [
        {"destination": {"host": "echo", "port": {"number": 2701}, "subset": "v1"}, "weight": 90},
        {"destination": {"host": "echo", "port": {"number": 2701}, "subset": "v2"}, "weight": 10},
    ]


def test_tcp_servers_follow_the_http_and_https_servers_of_a_shared_gateway(spec_dir: Path) -> None:
    hosts = {
        "shop.example.com": {
            "gateway": "edge",
            "routes": [{"destination": {"host": "web", "port": 80}}],
            "tls": {
                "credentialName": "shop-cert",
                "certificate": {"issuerRef": {"name": "letsencrypt", "kind": "ClusterIssuer"}, "issuerType": "acme"},
            },
        }
    }
    bundle = build(spec_dir, spec({"tcp-echo": echo(serverName="tcp-echo-server")}, hosts=hosts))
    servers = find(bundle.objects, "Gateway", "edge")["spec"]["servers"]
    assert [(s["port"]["number"], s["port"]["protocol"], s["port"]["name"]) for s in servers] == [
        (80, "HTTP", "http"),
        (443, "HTTPS", "https"),
        (31400, "TCP", "tcp-echo-server"),
    ]


def test_a_gateway_port_that_matches_a_service_target_port_is_exposed(spec_dir: Path) -> None:
    # IST0162 accepts a server port equal to a TCP Service port or its targetPort
    workloads = {
        "istio-ingressgateway": {
            "labels": {"istio": "ingressgateway"},
            "ports": [{"name": "tcp", "port": 9000, "targetPort": 9400}],
        }
    }
    bundle = build(spec_dir, spec({"a": echo(port=9400)}, workloads=workloads))
    assert find(bundle.objects, "Gateway", "edge")["spec"]["servers"][0]["port"]["number"] == 9400


def test_a_port_the_workload_service_does_not_expose_is_a_located_error(spec_dir: Path) -> None:
    errors = spec_errors(
        spec_dir,
        """\
        namespace: shop
        workloads:
          istio-ingressgateway:
            labels: {istio: ingressgateway}
            ports:
              - {name: http2, port: 80, targetPort: 8080}
              - {name: dns, port: 5353, protocol: UDP}
        gateways:
          edge: {}
        tcp:
          tcp-echo:
            gateway: edge
            port: 5353
            destination: {host: tcp-echo, port: 2701}
        """,
    )
    # the UDP port with the same number does not count: the gateway listens on TCP
    assert len(errors) == 1
    assert re.fullmatch(
        where(spec_dir, 13, 11) + r"tcp\.tcp-echo\.port: port 5353 is not exposed by the Service of workload "
        r"'istio-ingressgateway' \(TCP ports: 80\)",
        errors[0],
    )


def test_every_clash_on_one_gateway_is_reported_together(spec_dir: Path) -> None:
    errors = spec_errors(
        spec_dir,
        """\
        namespace: shop
        workloads:
          istio-ingressgateway:
            labels: {istio: ingressgateway}
            ports: [{name: http2, port: 80}, {name: https, port: 443}, {name: tcp, port: 31400}]
        gateways:
          edge: {}
        hosts:
          shop.example.com:
            gateway: edge
            routes: [{destination: {host: web, port: 80}}]
            tls: {credentialName: shop-cert}
        tcp:
          a:
            gateway: edge
            port: 80
            destination: {host: a, port: 1}
          b:
            gateway: edge
            port: 443
            destination: {host: b, port: 1}
          c:
            gateway: edge
            port: 31400
            serverName: https
            destination: {host: c, port: 1}
          d:
            gateway: edge
            port: 31400
            serverName: a
            destination: {host: d, port: 1}
        """,
    )
    assert len(errors) == 5, errors
    expected = [
        (16, 11, r"tcp\.a\.port: port 80 is the HTTP server port of gateway 'edge'; a TCP server cannot share it"),
        (20, 11, r"tcp\.b\.port: port 443 is the HTTPS server port of gateway 'edge'; a TCP server cannot share it"),
        (25, 17, r"tcp\.c\.serverName: server name 'https' is already used by the HTTPS server of gateway 'edge'"),
        (30, 17, r"tcp\.d\.serverName: server name 'a' on gateway 'edge' is already used by tcp entry 'a'"),
        (29, 11, r"tcp\.d\.port: port 31400 on gateway 'edge' is already used by tcp entry 'c'"),
    ]
    for line, column, what in expected:
        assert any(re.fullmatch(where(spec_dir, line, column) + what, e) for e in errors), (what, errors)


def test_unknown_gateway_and_virtual_service_name_clashes_are_located(spec_dir: Path) -> None:
    data = spec(
        {"x": echo(gateway="nope"), "y": echo(virtualService="webapp-example-com")},
        hosts={"webapp.example.com": {"gateway": "edge", "routes": [{"destination": {"host": "web", "port": 80}}]}},
    )
    errors = spec_errors(spec_dir, data)
    assert any(re.fullmatch(r".*: tcp\.x\.gateway: unknown gateway 'nope'; declared: edge", e) for e in errors), errors
    assert any(
        re.fullmatch(
            r".*: tcp\.y\.virtualService: VirtualService 'webapp-example-com' is already used by host 'webapp\.example\.com'",
            e,
        )
        for e in errors
    ), errors


def test_an_entry_without_destination_and_weights_off_100_are_refused(spec_dir: Path) -> None:
    entry = {
        "gateway": "edge",
        "port": 31400,
        "destinations": [{"host": "a", "port": 1, "weight": 60}, {"host": "b", "port": 1, "weight": 60}],
    }
    errors = spec_errors(spec_dir, spec({"bare": {"gateway": "edge", "port": 31400}, "weighted": entry}))
    assert any(re.fullmatch(r".*: tcp\.bare: a tcp entry needs destination or destinations", e) for e in errors), errors
    assert any(
        re.fullmatch(r".*: tcp\.weighted\.destinations: weights must add up to 100, got 120", e) for e in errors
    ), errors


def test_a_gateway_left_without_any_server_is_a_located_error(spec_dir: Path) -> None:
    # the http plugin emits a Gateway for every entry; one with no host and no tcp entry would have `servers: null`
    # the core's `objects` plugin owns the rule, once every plugin has added its servers
    data = spec({"tcp-echo": echo()}, gateways={"edge": {}, "idle": {}})
    with pytest.raises(PluginError) as caught:
        build(spec_dir, data)
    assert [str(p) for p in caught.value.problems] == [
        f"{spec_dir / 'test.yaml'}:19:9: gateways.idle: Gateway shop/idle has no servers; bind a host or a tcp entry to it, or remove it"
    ]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    http_port=st.sampled_from([80, 8080]),
    tcp_ports=st.lists(st.sampled_from([80, 8080, 9000, 9001]), min_size=1, max_size=4),
)
def test_a_port_clash_is_reported_exactly_when_two_servers_share_a_number(
    spec_dir: Path, http_port: int, tcp_ports: list[int]
) -> None:
    """Property: the spec is refused iff a TCP port equals the HTTP port or another TCP entry's port."""
    ports = [{"name": f"tcp-{p}", "port": p} for p in sorted({80, 8080, 9000, 9001})]
    workloads = {"istio-ingressgateway": {"labels": {"istio": "ingressgateway"}, "ports": ports}}
    hosts = {"shop.example.com": {"gateway": "edge", "routes": [{"destination": {"host": "web", "port": 80}}]}}
    entries = {f"t{i}": echo(port=p) for i, p in enumerate(tcp_ports)}
    data = spec(entries, workloads=workloads, gateways={"edge": {"httpPort": http_port}}, hosts=hosts)
    clashes = sum(1 for i, p in enumerate(tcp_ports) if p == http_port) + sum(
        1 for i, p in enumerate(tcp_ports) if p in tcp_ports[:i]
    )
    if clashes:
        errors = spec_errors(spec_dir, data)
        assert len([e for e in errors if "cannot share it" in e or "is already used by tcp entry" in e]) == clashes
    else:
        servers = find(build(spec_dir, data).objects, "Gateway", "edge")["spec"]["servers"]
        assert sorted(s["port"]["number"] for s in servers) == sorted([http_port, *tcp_ports])


def test_problems_of_tcp_gateway_split_and_logging_come_in_one_error(spec_dir: Path) -> None:
    # one run shows every mistake across the plugins, so a user fixes them in one go
    data = spec(
        {"tcp-echo": echo(gateway="team")},
        workloads={
            "team-gateway": {
                "namespace": "team",
                "labels": {"istio": "team-gateway"},
                "ports": [{"name": "echo", "port": 9000}],
                "install": {"form": "injection"},
            }
        },
        gateways={"team": {"workload": "team-gateway"}},
        logging={"telemetry": {"team-logs": {"workload": "team-gateway", "mode": "SERVER"}}},
    )
    errors = [re.sub(r"^.*test\.yaml:\d+:\d+: ", "", e) for e in spec_errors(spec_dir, data)]
    assert sorted(e.split(":", 1)[0] for e in errors) == [
        "logging.telemetry.team-logs.mode",
        "tcp.tcp-echo.port",
        "workloads.team-gateway.ports[0].name",
    ]


def test_a_port_another_plugin_already_took_is_refused_while_planning(spec_dir: Path) -> None:
    # servers the spec does not explain (a plugin that edits Gateways before tcp) are checked on the plan itself
    from gwpipe.model import ResourceRequest, Resources
    from gwpipe.plugins import tcp
    from gwpipe.spec.load import load_spec
    from gwpipe.testing import write_spec

    loaded = load_spec(write_spec(spec_dir, spec({"tcp-echo": echo()})))
    gateway = ResourceRequest(
        "http", "http/gateway.yaml.j2", "v1", "Gateway", "edge", "shop", {"selector": {}, "servers": []}
    )
    gateway.values["servers"].append(
        {"port": {"number": 31400, "name": "tls-passthrough", "protocol": "TLS"}, "hosts": ["*"]}
    )
    gateway.touch("sni")
    resources = Resources()
    resources.add(gateway)
    with pytest.raises(PluginError) as caught:
        tcp.gwpipe_modify_resources(spec=loaded, resources=resources)
    line = (spec_dir / "test.yaml").read_text().splitlines().index("    port: 31400") + 1
    assert [str(p) for p in caught.value.problems] == [
        f"{spec_dir / 'test.yaml'}:{line}:11: tcp.tcp-echo.port: port 31400 is already used by the TLS server "
        "'tls-passthrough' of Gateway shop/edge (plugins: http, sni); a TCP server cannot share a port"
    ]
    assert len(gateway.values["servers"]) == 1


def test_a_tcp_server_cannot_take_the_name_of_the_redirect_server(spec_dir: Path) -> None:
    # the redirect plugin splits port 80 into `http` and `http-redirect`; a tcp entry must not reuse either
    data = {
        "namespace": "shop",
        "workloads": {
            "gw": {
                "namespace": "istio-system",
                "labels": {"istio": "gw"},
                "ports": [
                    {"name": "http2", "port": 80},
                    {"name": "https", "port": 443},
                    {"name": "tcp", "port": 31400},
                ],
            }
        },
        "gateways": {"edge": {"workload": "gw"}},
        "hosts": {
            "a.example.com": {
                "gateway": "edge",
                "routes": [{"destination": {"host": "a", "port": 80}}],
                "tls": {"credentialName": "a"},
                "redirect": True,
            },
            "b.example.com": {"gateway": "edge", "routes": [{"destination": {"host": "b", "port": 80}}]},
        },
        "tcp": {"http-redirect": {"gateway": "edge", "port": 31400, "destination": {"host": "db", "port": 5432}}},
    }
    with pytest.raises(SpecError) as caught:
        build(spec_dir, data)
    assert any("http-redirect" in str(p) and "tcp" in str(p) for p in caught.value.problems), caught.value.problems
