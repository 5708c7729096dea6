"""The redirect plugin: httpsRedirect on the HTTP server, the split when only some hosts redirect, cross-plugin rules."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from gwpipe.engine import Options, Pipeline
from gwpipe.errors import SpecError
from gwpipe.hooks.manager import create_manager
from gwpipe.testing import build, find, write_spec
from plugins.tls_specs import spec


def http_servers(bundle: Any, gateway: str = "edge") -> list[dict[str, Any]]:
    return [s for s in find(bundle.objects, "Gateway", gateway)["spec"]["servers"] if s["port"]["protocol"] == "HTTP"]


def test_all_hosts_redirected_keep_one_http_server_that_redirects(spec_dir: Path) -> None:
    # walkthrough step 3: the single port-80 server carries tls.httpsRedirect and nothing else
    hosts = {
        h: {"tls": {"credentialName": h.split(".")[0]}, "redirect": True} for h in ("a.example.com", "b.example.com")
    }
    bundle = build(spec_dir, spec(hosts))
    assert http_servers(bundle) == [
        {
            "port": {"number": 80, "name": "http", "protocol": "HTTP"},
            "hosts": ["a.example.com", "b.example.com"],
            "tls": {"httpsRedirect": True},
        }
    ]
    gateway = find(bundle.objects, "Gateway", "edge")
    assert gateway["metadata"]["annotations"]["gwpipe.dev/plugins"] == "http,redirect,tls"


def test_mixed_hosts_split_into_plain_and_redirecting_servers_on_the_same_port(spec_dir: Path) -> None:
    # httpsRedirect is per server: a redirecting server would also 301 the hosts that must stay on plain HTTP
    hosts = {
        "a.example.com": {"tls": {"credentialName": "a"}, "redirect": True},
        "b.example.com": {},
        "c.example.com": {"tls": {"credentialName": "c"}, "redirect": True},
        "d.example.com": {"tls": {"credentialName": "d"}, "redirect": False},
    }
    gateways = {"edge": {"selector": {"istio": "ingressgateway"}, "httpPort": 8080}}
    bundle = build(spec_dir, spec(hosts, gateways=gateways))
    all_servers = find(bundle.objects, "Gateway", "edge")["spec"]["servers"]
    assert [s["port"]["name"] for s in all_servers] == ["http", "http-redirect", "https-a", "https-c", "https-d"]
    assert http_servers(bundle) == [
        {"port": {"number": 8080, "name": "http", "protocol": "HTTP"}, "hosts": ["b.example.com", "d.example.com"]},
        {
            "port": {"number": 8080, "name": "http-redirect", "protocol": "HTTP"},
            "hosts": ["a.example.com", "c.example.com"],
            "tls": {"httpsRedirect": True},
        },
    ]


def test_only_the_gateway_with_redirected_hosts_changes(spec_dir: Path) -> None:
    hosts = {
        "a.example.com": {"tls": {"credentialName": "a"}, "redirect": True},
        "b.example.com": {"gateway": "other", "tls": {"credentialName": "b"}},
    }
    gateways = {"edge": {"selector": {"istio": "ingressgateway"}}, "other": {"selector": {"istio": "ingressgateway"}}}
    bundle = build(spec_dir, spec(hosts, gateways=gateways))
    assert "tls" in http_servers(bundle, "edge")[0]
    assert "tls" not in http_servers(bundle, "other")[0]
    other = find(bundle.objects, "Gateway", "other")
    assert other["metadata"]["annotations"]["gwpipe.dev/plugins"] == "http,tls"


def test_cross_plugin_rules_are_reported_together_with_their_lines(spec_dir: Path) -> None:
    text = """\
        namespace: shop
        gateways:
          edge:
            selector: {istio: ingressgateway}
        hosts:
          a.example.com:
            gateway: edge
            routes: [{destination: {host: web, port: 80}}]
            redirect: true
          b.example.com:
            gateway: edge
            routes: [{destination: {host: web, port: 80}}]
            http: false
            tls: {credentialName: b}
            redirect: true
          c.example.com:
            gateway: edge
            routes: [{destination: {host: web, port: 80}}]
            mtls: {mode: MUTUAL}
        """
    with pytest.raises(SpecError) as caught:
        build(spec_dir, textwrap.dedent(text))
    file = spec_dir / "test.yaml"
    assert [(str(p), p.hint) for p in caught.value.problems] == [
        (
            f'{file}:9:15: hosts["a.example.com"].redirect: needs tls on the same host '
            "(an HTTPS server in the same Gateway to redirect to)",
            "add tls.credentialName to this host, or drop redirect",
        ),
        (
            f'{file}:15:15: hosts["b.example.com"].redirect: cannot be combined with http: false '
            "(there is no HTTP server to redirect from)",
            "drop http: false to answer plain HTTP with a redirect, or drop redirect to serve HTTPS only",
        ),
        (
            f'{file}:19:11: hosts["c.example.com"].mtls: needs tls on the same host '
            "(mutual TLS is a mode of the host's HTTPS server)",
            "add tls.credentialName to this host",
        ),
    ]


def test_redirect_must_be_a_boolean(spec_dir: Path) -> None:
    with pytest.raises(SpecError) as caught:
        build(spec_dir, spec({"a.example.com": {"tls": {"credentialName": "a"}, "redirect": "yes"}}))
    assert [str(p).split(": ", 1)[1] for p in caught.value.problems] == [
        'hosts["a.example.com"].redirect: expected boolean, got string'
    ]


# property: whatever mix of plain, redirected and HTTPS-only hosts, each HTTP host sits in exactly one HTTP server,
# and that server redirects exactly when the host asked for it

_ROWS = st.lists(st.sampled_from(["plain", "tls", "redirect", "https-only"]), min_size=1, max_size=7)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kinds=_ROWS)
def test_every_http_host_is_served_once_and_redirects_exactly_when_asked(spec_dir: Path, kinds: list[str]) -> None:
    hosts: dict[str, dict[str, Any]] = {}
    for i, kind in enumerate(kinds):
        entry: dict[str, Any] = (
            {} if kind == "plain" else {"tls": {"credentialName": f"c{i}", "serverName": f"https-{i}"}}
        )
        if kind == "redirect":
            entry["redirect"] = True
        if kind == "https-only":
            entry["http"] = False
        hosts[f"h{i}.example.com"] = entry
    pipeline = Pipeline(Options(), pm=create_manager(entry_points=False))
    plan = pipeline.plan(pipeline.load(write_spec(spec_dir, spec(hosts)), spec_dir))
    gateway = plan.get("Gateway", "edge", "shop")
    assert gateway is not None
    http = [s for s in gateway.values["servers"] if s["port"]["protocol"] == "HTTP"]
    served = [h for s in http for h in s["hosts"]]
    assert sorted(served) == sorted(h for h, e in hosts.items() if e.get("http", True))
    for server in http:
        redirects = server.get("tls") == {"httpsRedirect": True}
        assert all(bool(hosts[h].get("redirect")) == redirects for h in server["hosts"])
    names = [s["port"]["name"] for s in gateway.values["servers"]]
    assert len(names) == len(set(names))
    expected = ["http", "http-redirect"] if {"plain", "tls"} & set(kinds) and "redirect" in kinds else ["http"]
    assert [s["port"]["name"] for s in http] == (expected if served else [])
    event("split" if len(http) == 2 else f"{len(http)} http server(s)")
