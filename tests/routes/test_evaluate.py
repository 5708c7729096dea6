"""The evaluator's Istio semantics, one rule per test: server selection, binding, matching, actions."""

from __future__ import annotations

from typing import Any

import pytest

from .helpers import gateway, go, request, server, to, vs, where

GW = "istio-system/gw"
HTTP = gateway("gw", [server(80, "HTTP", ["*"])])


def http_vs(routes: list[dict[str, Any]], hosts: list[str] | None = None) -> dict[str, Any]:
    return vs("app", hosts or ["a.example.com"], [GW], http=routes)


def test_no_server_on_port_fails_the_connection() -> None:
    assert (
        where([HTTP, http_vs([{"route": [to("web")]}])], request(port=8080))
        == "connection fails (no server on port 8080)"
    )


def test_protocol_must_fit_the_scheme() -> None:
    objects = [HTTP, http_vs([{"route": [to("web")]}])]
    assert go(objects, request("https", port=80)).kind == "fail"
    assert go(objects, request("tcp", port=80)).kind == "fail"


def test_most_specific_server_host_wins_by_sni() -> None:
    gw = gateway(
        "gw",
        [
            server(443, "HTTPS", ["*.example.com"], mode="SIMPLE", credentialName="wild"),
            server(443, "HTTPS", ["a.example.com"], mode="SIMPLE", credentialName="a"),
        ],
    )
    objects = [gw, vs("wild", ["b.example.com"], [GW], http=[{"route": [to("wild")]}])]
    objects.append(vs("a", ["a.example.com"], [GW], http=[{"route": [to("a")]}]))
    assert go(objects, request("https", "a.example.com")).server == "istio-system/gw server[1]"
    assert where(objects, request("https", "a.example.com")) == "a:80"
    assert where(objects, request("https", "b.example.com")) == "wild:80"
    assert go(objects, request("https", "b.other.com")).kind == "fail"
    # a wildcard VirtualService also yields a.example.com on the a server: two VirtualServices, one host
    objects[1] = vs("wild", ["*.example.com"], [GW], http=[{"route": [to("wild")]}])
    assert go(objects, request("https", "a.example.com")).kind == "ambiguous"


def test_sni_differs_from_host_header() -> None:
    gw = gateway(
        "gw",
        [
            server(443, "HTTPS", ["a.example.com"], mode="SIMPLE", credentialName="a"),
            server(443, "HTTPS", ["b.example.com"], mode="SIMPLE", credentialName="b"),
        ],
    )
    objects = [gw, vs("a", ["a.example.com"], [GW], http=[{"route": [to("a")]}])]
    objects.append(vs("b", ["b.example.com"], [GW], http=[{"route": [to("b")]}]))
    # each HTTPS server has its own route table: the b server knows no virtual host a.example.com
    assert go(objects, request("https", "a.example.com", sni="b.example.com")).status == 404


def test_https_redirect_is_per_server_on_a_merged_port() -> None:
    gw = gateway(
        "gw",
        [server(80, "HTTP", ["a.example.com"], httpsRedirect=True), server(80, "HTTP", ["b.example.com"])],
    )
    objects = [gw, vs("ab", ["a.example.com", "b.example.com"], [GW], http=[{"route": [to("web")]}])]
    assert where(objects, request(host="a.example.com", path="/x?y=1")) == "redirect 301 https://a.example.com/x?y=1"
    assert where(objects, request(host="b.example.com")) == "web:80"


def test_https_redirect_without_virtual_service_still_redirects() -> None:
    gw = gateway("gw", [server(80, "HTTP", ["a.example.com"], httpsRedirect=True)])
    assert go([gw], request(host="a.example.com")).kind == "redirect"
    assert go([gw], request(host="b.example.com")).status == 404


def test_several_http_servers_on_one_port_are_merged() -> None:
    one = gateway("one", [server(80, "HTTP", ["a.example.com"])])
    two = gateway("two", [server(80, "HTTP", ["b.example.com"])])
    objects = [one, two, vs("a", ["a.example.com"], ["istio-system/one"], http=[{"route": [to("a")]}])]
    objects.append(vs("b", ["b.example.com"], ["istio-system/two"], http=[{"route": [to("b")]}]))
    assert where(objects, request(host="a.example.com")) == "a:80"
    assert where(objects, request(host="b.example.com")) == "b:80"


def test_short_gateway_reference_resolves_in_the_virtual_service_namespace() -> None:
    gw = gateway("gw", [server(80, "HTTP", ["*"])], namespace="shop")
    elsewhere = vs("x", ["a.example.com"], ["gw"], namespace="other", http=[{"route": [to("x")]}])
    assert go([gw, elsewhere], request()).status == 404
    local = vs("x", ["a.example.com"], ["gw"], namespace="shop", http=[{"route": [to("x")]}])
    assert where([gw, local], request()) == "x:80"


def test_virtual_service_without_gateways_is_mesh_only() -> None:
    mesh = {**http_vs([{"route": [to("web")]}])}
    mesh["spec"] = {k: v for k, v in mesh["spec"].items() if k != "gateways"}
    assert go([HTTP, mesh], request()).status == 404


def test_virtual_service_host_must_intersect_server_hosts() -> None:
    gw = gateway("gw", [server(80, "HTTP", ["*.example.com"])])
    objects = [gw, vs("x", ["a.other.com"], [GW], http=[{"route": [to("x")]}])]
    assert go(objects, request(host="a.other.com")).status == 404
    objects = [gw, vs("x", ["*"], [GW], http=[{"route": [to("x")]}])]
    assert where(objects, request(host="z.example.com")) == "x:80"
    assert go(objects, request(host="z.other.com")).status == 404


def test_server_host_namespace_restricts_virtual_services() -> None:
    gw = gateway("gw", [server(80, "HTTP", ["shop/a.example.com", "./b.example.com"])])
    objects = [gw, vs("a", ["a.example.com", "b.example.com"], [GW], namespace="shop", http=[{"route": [to("a")]}])]
    assert where(objects, request(host="a.example.com")) == "a:80"
    assert go(objects, request(host="b.example.com")).status == 404


def test_exact_virtual_host_beats_wildcard() -> None:
    objects = [HTTP, vs("wild", ["*.example.com"], [GW], http=[{"route": [to("wild")]}])]
    objects.append(vs("exact", ["a.example.com"], [GW], http=[{"route": [to("exact")]}]))
    assert where(objects, request(host="a.example.com")) == "exact:80"
    assert where(objects, request(host="A.Example.com:80")) == "exact:80"
    assert where(objects, request(host="b.example.com")) == "wild:80"


def test_two_virtual_services_for_one_host_are_ambiguous() -> None:
    objects = [HTTP, vs("one", ["a.example.com"], [GW], http=[{"route": [to("one")]}])]
    objects.append(vs("two", ["a.example.com"], [GW], http=[{"route": [to("two")]}]))
    outcome = go(objects, request())
    assert outcome.kind == "ambiguous"
    assert outcome.reason.startswith("VirtualServices shop/one, shop/two all route a.example.com on istio-system/gw")


def test_first_matching_route_wins() -> None:
    routes = [{"route": [to("catch-all")]}, {"match": [{"uri": {"prefix": "/api"}}], "route": [to("api")]}]
    assert where([HTTP, http_vs(routes)], request(path="/api/x")) == "catch-all:80"
    assert str(go([HTTP, http_vs(routes)], request(path="/api/x")).route) == "shop/app http[0]"


def test_match_entries_are_ored_conditions_anded() -> None:
    match = [{"uri": {"prefix": "/a"}, "method": {"exact": "POST"}}, {"headers": {"x-k": {"exact": "v"}}}]
    objects = [HTTP, http_vs([{"match": match, "route": [to("hit")]}, {"route": [to("miss")]}])]
    assert where(objects, request(path="/a", method="POST")) == "hit:80"
    assert where(objects, request(path="/a", method="GET")) == "miss:80"
    assert where(objects, request(path="/b", headers={"X-K": "v"})) == "hit:80"


@pytest.mark.parametrize(
    ("rule", "path", "hit"),
    [
        ({"exact": "/a"}, "/a?x=1", True),
        ({"exact": "/a"}, "/a/", False),
        ({"prefix": "/api"}, "/apix", True),
        ({"prefix": "/api/"}, "/api", False),
        ({"regex": "/v[0-9]+"}, "/v12", True),
        ({"regex": "/v[0-9]+"}, "/v12/x", False),
    ],
)
def test_uri_match(rule: dict[str, str], path: str, hit: bool) -> None:
    objects = [HTTP, http_vs([{"match": [{"uri": rule}], "route": [to("hit")]}])]
    assert (where(objects, request(path=path)) == "hit:80") is hit


def test_ignore_uri_case_applies_to_exact_and_prefix_not_regex() -> None:
    routes = [{"match": [{"uri": {"prefix": "/API"}, "ignoreUriCase": True}], "route": [to("hit")]}]
    assert where([HTTP, http_vs(routes)], request(path="/api/x")) == "hit:80"
    routes = [{"match": [{"uri": {"regex": "/API"}, "ignoreUriCase": True}], "route": [to("hit")]}]
    assert go([HTTP, http_vs(routes)], request(path="/api")).status == 404


def test_regex_outside_re2_cannot_be_evaluated() -> None:
    routes = [{"match": [{"uri": {"regex": "/(a)\\1"}}], "route": [to("hit")]}]
    outcome = go([HTTP, http_vs(routes)], request(path="/aa"))
    assert outcome.summary() == "cannot evaluate: shop/app http[0].uri.regex (regex '/(a)\\\\1' is not RE2)"


def test_headers_names_case_insensitive_values_exact_prefix_regex_and_presence() -> None:
    match = {"X-Env": {"exact": "qa"}, "x-user": {"prefix": "ad"}, "x-id": {"regex": "[0-9]+"}, "x-any": {}}
    objects = [HTTP, http_vs([{"match": [{"headers": match}], "route": [to("hit")]}])]
    headers = {"x-env": "qa", "X-User": "admin", "x-id": "42", "x-any": ""}
    assert where(objects, request(headers=headers)) == "hit:80"
    for name, bad in (("x-env", "QA"), ("X-User", "root"), ("x-id", "4a")):
        assert go(objects, request(headers={**headers, name: bad})).status == 404
    assert go(objects, request(headers={k: v for k, v in headers.items() if k != "x-any"})).status == 404


def test_without_headers() -> None:
    routes = [{"match": [{"withoutHeaders": {"x-debug": {}}}], "route": [to("plain")]}, {"route": [to("debug")]}]
    assert where([HTTP, http_vs(routes)], request()) == "plain:80"
    assert where([HTTP, http_vs(routes)], request(headers={"X-Debug": "1"})) == "debug:80"


def test_method_authority_port_and_query_params() -> None:
    routes = [
        {"match": [{"method": {"exact": "DELETE"}}], "route": [to("method")]},
        {"match": [{"authority": {"prefix": "b."}}], "route": [to("authority")]},
        {"match": [{"port": 8080}], "route": [to("port")]},
        {"match": [{"queryParams": {"debug": {"exact": "1"}}}], "route": [to("query")]},
        {"route": [to("rest")]},
    ]
    gw = gateway("gw", [server(80, "HTTP", ["*"]), server(8080, "HTTP", ["*"])])
    objects = [gw, vs("app", ["*.example.com"], [GW], http=routes)]
    assert where(objects, request(method="DELETE")) == "method:80"
    assert where(objects, request(host="b.example.com")) == "authority:80"
    assert where(objects, request(port=8080)) == "port:80"
    assert where(objects, request(path="/x?debug=1")) == "query:80"
    assert where(objects, request(path="/x?debug=2")) == "rest:80"


def test_redirect_fields() -> None:
    routes = [
        {"match": [{"uri": {"exact": "/a"}}], "redirect": {"uri": "/b"}},
        {"match": [{"uri": {"exact": "/c"}}], "redirect": {"authority": "c.example.com", "redirectCode": 302}},
        {"match": [{"uri": {"exact": "/d"}}], "redirect": {"scheme": "https", "port": 8443}},
        {"match": [{"uri": {"exact": "/e"}}], "redirect": {"scheme": "https", "port": 443, "uri": "/f?x=1"}},
    ]
    objects = [HTTP, http_vs(routes)]
    assert where(objects, request(path="/a?q=1")) == "redirect 301 http://a.example.com/b?q=1"
    assert where(objects, request(path="/c")) == "redirect 302 http://c.example.com/c"
    assert where(objects, request(path="/d")) == "redirect 301 https://a.example.com:8443/d"
    assert where(objects, request(path="/e?q=1")) == "redirect 301 https://a.example.com/f?x=1"


def test_direct_response_and_no_route() -> None:
    routes = [{"match": [{"uri": {"exact": "/gone"}}], "directResponse": {"status": 410}}]
    assert go([HTTP, http_vs(routes)], request(path="/gone")).status == 410
    outcome = go([HTTP, http_vs(routes)], request(path="/here"))
    assert (outcome.kind, outcome.status, outcome.reason) == ("status", 404, "no route of shop/app matches")


def test_rewrite_is_reported() -> None:
    routes = [
        {"match": [{"uri": {"prefix": "/api/"}}], "rewrite": {"uri": "/", "authority": "svc"}, "route": [to("api")]}
    ]
    actual = go([HTTP, http_vs(routes)], request(path="/api/users?x=1")).as_dict()
    assert actual["rewrite"] == {"path": "/users?x=1", "authority": "svc"}
    routes = [
        {"rewrite": {"uriRegexRewrite": {"match": "^/v([0-9])/(.*)$", "rewrite": "/\\2/v\\1"}}, "route": [to("a")]}
    ]
    assert go([HTTP, http_vs(routes)], request(path="/v1/users")).rewrite == {"path": "/users/v1"}


def test_weights() -> None:
    routes = [{"route": [to("a", weight=80), to("b", weight=20)]}]
    actual = go([HTTP, http_vs(routes)], request()).as_dict()
    assert actual["weights"] == [{"host": "a", "port": 80, "weight": 80}, {"host": "b", "port": 80, "weight": 20}]


def test_unmodelled_fields_are_explicit() -> None:
    routes = [{"match": [{"sourceLabels": {"app": "x"}}], "route": [to("a")]}]
    assert where([HTTP, http_vs(routes)], request()) == "cannot evaluate: shop/app http[0].match.sourceLabels"
    routes = [{"fault": {"abort": {"httpStatus": 503}}, "route": [to("a")]}]
    assert where([HTTP, http_vs(routes)], request()) == "cannot evaluate: shop/app http[0].fault.abort"
    assert (
        where([HTTP, http_vs([{"delegate": {"name": "d"}}])], request()) == "cannot evaluate: shop/app http[0].delegate"
    )


def test_tcp_routes_by_port() -> None:
    gw = gateway("gw", [server(31400, "TCP", ["*"]), server(31401, "TCP", ["*"])])
    tcp = [{"match": [{"port": 31400}], "route": [to("echo", 2701)]}]
    objects = [gw, vs("echo", ["*"], [GW], tcp=tcp)]
    assert where(objects, request("tcp", "", port=31400)) == "echo:2701"
    assert where(objects, request("tcp", "", port=31401)) == "connection fails (no tcp route on port 31401)"


def test_tls_passthrough_routes_by_sni() -> None:
    gw = gateway("gw", [server(443, "TLS", ["*.example.com"], mode="PASSTHROUGH")])
    tls = [
        {"match": [{"sniHosts": ["a.example.com"]}], "route": [to("a", 8443)]},
        {"match": [{"sniHosts": ["*.example.com"]}], "route": [to("rest", 8443)]},
    ]
    objects = [gw, vs("tls", ["*.example.com"], [GW], tls=tls)]
    assert where(objects, request("tls", "", port=443, sni="a.example.com")) == "a:8443"
    assert where(objects, request("https", "b.example.com")) == "rest:8443"
    assert go(objects, request("tls", "", port=443, sni="x.other.com")).kind == "fail"


def test_gateway_workloads_on_one_port_are_ambiguous_unless_pinned() -> None:
    one = gateway("one", [server(80, "HTTP", ["*"])], istio="one")
    two = gateway("two", [server(80, "HTTP", ["*"])], istio="two")
    objects = [
        one,
        two,
        vs("a", ["a.example.com"], ["istio-system/one", "istio-system/two"], http=[{"route": [to("a")]}]),
    ]
    assert go(objects, request()).kind == "ambiguous"
    assert where(objects, request(gateway="istio-system/two")) == "a:80"


def test_export_to_hides_a_virtual_service_from_the_gateway_namespace() -> None:
    hidden = vs("x", ["a.example.com"], [GW], http=[{"route": [to("x")]}])
    hidden["spec"]["exportTo"] = ["."]
    assert go([HTTP, hidden], request()).status == 404
    hidden["spec"]["exportTo"] = [".", "istio-system"]
    assert where([HTTP, hidden], request()) == "x:80"
