"""Admission rules: each rule id has a failing case and a passing neighbour."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import codes

GW = """apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {{name: {name}, namespace: istio-system}}
spec:
  selector: {{istio: ingressgateway}}
  servers:
{servers}
"""


def gateway(servers: str, name: str = "gw") -> str:
    return GW.format(name=name, servers=servers)


HTTP = "  - port: {number: 80, name: http, protocol: HTTP}\n    hosts: [a.example.com]"

# (rule, failing servers / name, passing servers / name)
GATEWAY_CASES: list[tuple[str, str, str, str, str]] = [
    ("G1", "a.b", HTTP, "ab", HTTP),
    ("G2", "gw", "  - null", "gw", HTTP),
    (
        "G3",
        "gw",
        HTTP + "\n" + HTTP.replace("80", "8080"),
        "gw",
        HTTP + "\n" + HTTP.replace("80", "8080").replace("name: http,", "name: h2,"),
    ),
    ("G5", "gw", "  - port: {number: 80, name: http, protocol: HTTP}\n    hosts: []", "gw", HTTP),
    ("G7", "gw", "  - hosts: [a.example.com]", "gw", HTTP),
    ("G8", "gw", HTTP.replace("HTTP}", "KAFKA}"), "gw", HTTP.replace("HTTP}", "http2}")),
    ("G9", "gw", HTTP.replace("80,", "70000,"), "gw", HTTP.replace("80,", "65535,")),
    ("G10", "gw", HTTP.replace("HTTP}", "HTTP, targetPort: 8080}"), "gw", HTTP),
    ("G11", "gw", HTTP.replace("name: http, ", ""), "gw", HTTP),
    ("G12", "gw", HTTP + "\n    bind: not-an-ip", "gw", HTTP + "\n    bind: 10.0.0.1"),
    (
        "G13",
        "gw",
        HTTP.replace("HTTP}", "HTTPS}"),
        "gw",
        HTTP.replace("HTTP}", "HTTPS}") + "\n    tls: {mode: PASSTHROUGH}",
    ),
    (
        "G14",
        "gw",
        HTTP + "\n    tls: {mode: SIMPLE, httpsRedirect: true, credentialName: c}",
        "gw",
        HTTP + "\n    tls: {httpsRedirect: true}",
    ),
    (
        "G15",
        "gw",
        HTTP.replace("HTTP}", "TCP}") + "\n    tls: {mode: SIMPLE, credentialName: c}",
        "gw",
        HTTP.replace("HTTP}", "TCP}"),
    ),
    (
        "H1",
        "gw",
        HTTP.replace("a.example.com", "/a.example.com"),
        "gw",
        HTTP.replace("a.example.com", "./a.example.com"),
    ),
    (
        "H2",
        "gw",
        HTTP.replace("a.example.com", "'~/a.example.com'"),
        "gw",
        HTTP.replace("a.example.com", "'*/a.example.com'"),
    ),
    ("H3", "gw", HTTP.replace("a.example.com", "short"), "gw", HTTP.replace("a.example.com", "'*'")),
    ("H4", "gw", HTTP.replace("a.example.com", "a_b.example.com"), "gw", HTTP.replace("a.example.com", "10.0.0.1")),
    ("H5", "gw", HTTP.replace("a.example.com", "'*foo.com'"), "gw", HTTP.replace("a.example.com", "'*.foo.com'")),
    ("H5", "gw", HTTP.replace("a.example.com", "foo.*.com"), "gw", HTTP),
]
TLS = "  - port: {{number: 443, name: https, protocol: HTTPS}}\n    hosts: [a.example.com]\n    tls: {tls}"
TLS_CASES = [
    (
        "T1",
        "{mode: SIMPLE, credentialName: c, minProtocolVersion: TLSV1_1}",
        "{mode: SIMPLE, credentialName: c, minProtocolVersion: TLSV1_2}",
    ),
    (
        "T2",
        "{mode: SIMPLE, credentialName: c, cipherSuites: [NOPE]}",
        "{mode: SIMPLE, credentialName: c, cipherSuites: [AES128-SHA]}",
    ),
    ("T3", "{mode: ISTIO_MUTUAL, credentialName: c}", "{mode: ISTIO_MUTUAL}"),
    ("T4", "{mode: PASSTHROUGH, credentialName: c}", "{mode: PASSTHROUGH}"),
    (
        "T5",
        "{mode: SIMPLE, credentialName: c, serverCertificate: /a, privateKey: /b}",
        "{mode: SIMPLE, serverCertificate: /a, privateKey: /b}",
    ),
    ("T7", "{mode: SIMPLE, serverCertificate: /a}", "{mode: SIMPLE, credentialName: c}"),
    (
        "T7",
        "{mode: MUTUAL, serverCertificate: /a, privateKey: /b}",
        "{mode: MUTUAL, serverCertificate: /a, privateKey: /b, caCertificates: /c}",
    ),
    (
        "T8",
        "{mode: SIMPLE, serverCertificate: /a, privateKey: /b, caCrl: /c}",
        "{mode: MUTUAL, serverCertificate: /a, privateKey: /b, caCertificates: /c, caCrl: /d}",
    ),
]


def rule_hits(findings: list[Any], rule: str) -> list[str]:
    return [c for c in codes(findings) if c.endswith(f" {rule}")]


@pytest.mark.parametrize(("rule", "bad_name", "bad", "good_name", "good"), GATEWAY_CASES)
def test_gateway_rule(run: Any, rule: str, bad_name: str, bad: str, good_name: str, good: str) -> None:
    assert rule_hits(run(gateway(bad, bad_name)), rule), f"{rule} not raised"
    assert not rule_hits(run(gateway(good, good_name)), rule)


@pytest.mark.parametrize(("rule", "bad", "good"), TLS_CASES)
def test_tls_rule(run: Any, rule: str, bad: str, good: str) -> None:
    assert rule_hits(run(gateway(TLS.format(tls=bad))), rule), f"{rule} not raised"
    assert not rule_hits(run(gateway(TLS.format(tls=good))), rule)


def test_duplicate_port_name_message(run: Any) -> None:
    findings = run(gateway(HTTP + "\n" + HTTP.replace("80", "8080")))
    g3 = [f for f in findings if f.message.startswith("G3")]
    assert [(f.code, f.level, f.message) for f in g3] == [
        ("IST0106", "Error", "G3: port names in servers must be unique: duplicate name 'http'")
    ]
    lines = (tmp_input := run.last_path).read_text().splitlines()
    assert g3[0].line == max(i for i, line in enumerate(lines, 1) if "name: http," in line)
    assert tmp_input.name == "input.yaml"


VS = """apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: vs, namespace: apps}}
spec:
{spec}
"""
ROUTE = "  http:\n  - route: [{destination: {host: web}}]"
VS_CASES = [
    ("V1", "  gateways: [apps/gw]\n" + ROUTE, "  hosts: [a.example.com]\n  gateways: [apps/gw]\n" + ROUTE),
    (
        "V2",
        "  hosts: [a.example.com]\n  gateways: [Bad_Name/gw]\n" + ROUTE,
        "  hosts: [a.example.com]\n  gateways: [apps/gw]\n" + ROUTE,
    ),
    (
        "V2",
        "  hosts: [a.example.com]\n  gateways: [gw.apps.svc.cluster.local]\n" + ROUTE,
        "  hosts: [a.example.com]\n  gateways: [gw]\n" + ROUTE,
    ),
    (
        "V3",
        "  hosts: [a.example.com]\n  http:\n  - match: [{headers: {'@request.auth.claims.group': {exact: a}}}]\n    route: [{destination: {host: web}}]",
        "  hosts: [a.example.com]\n  gateways: [apps/gw]\n  http:\n  - match: [{headers: {'@request.auth.claims.group': {exact: a}}}]\n    route: [{destination: {host: web}}]",
    ),
    ("V4", "  hosts: [a_b.example.com]\n" + ROUTE, "  hosts: [ab.example.com]\n" + ROUTE),
    ("V5", "  hosts: ['*']\n" + ROUTE, "  hosts: ['*']\n  gateways: [apps/gw]\n" + ROUTE),
    ("V6", "  hosts: ['*.example.com', a.example.com]\n" + ROUTE, "  hosts: [b.example.com, a.example.com]\n" + ROUTE),
    ("V7", "  hosts: [a.example.com]", "  hosts: [a.example.com]\n" + ROUTE),
    (
        "V8",
        "  hosts: [a.example.com]\n  exportTo: ['*', apps]\n" + ROUTE,
        "  hosts: [a.example.com]\n  exportTo: [., other]\n" + ROUTE,
    ),
    (
        "R1",
        "  hosts: [a.example.com]\n  http:\n  - redirect: {uri: /x}\n    route: [{destination: {host: web}}]",
        "  hosts: [a.example.com]\n  http:\n  - redirect: {uri: /x}",
    ),
    (
        "R2",
        "  hosts: [a.example.com]\n  http:\n  - route: [{destination: {host: web}}]\n    mirror: {host: m}\n    mirrors: [{destination: {host: m}}]",
        "  hosts: [a.example.com]\n  http:\n  - route: [{destination: {host: web}}]\n    mirror: {host: m}",
    ),
    (
        "R3",
        "  hosts: [a.example.com]\n  http:\n  - delegate: {name: d}\n    route: [{destination: {host: web}}]",
        "  hosts: [a.example.com]\n  http:\n  - delegate: {name: d}",
    ),
    (
        "R4",
        "  hosts: [a.example.com]\n  http:\n  - match: [{uri: {regex: '(a'}}]\n    route: [{destination: {host: web}}]",
        "  hosts: [a.example.com]\n  http:\n  - match: [{uri: {regex: '(a)'}}]\n    route: [{destination: {host: web}}]",
    ),
    (
        "R4",
        "  hosts: [a.example.com]\n  http:\n  - match: [{headers: {'bad header': {exact: a}}}]\n    route: [{destination: {host: web}}]",
        "  hosts: [a.example.com]\n  http:\n  - match: [{headers: {x-a: {prefix: a}}}]\n    route: [{destination: {host: web}}]",
    ),
    (
        "R5",
        "  hosts: [a.example.com]\n  http:\n  - match: [{port: 70000}]\n    route: [{destination: {host: web}}]",
        "  hosts: [a.example.com]\n  http:\n  - match: [{port: 8080}]\n    route: [{destination: {host: web}}]",
    ),
    (
        "R6",
        "  hosts: [a.example.com]\n  http:\n  - route: [{destination: {host: web}}]\n    headers: {response: {set: {host: x}}}",
        "  hosts: [a.example.com]\n  http:\n  - route: [{destination: {host: web}}]\n    headers: {response: {set: {x-a: '%START_TIME%'}}}",
    ),
    (
        "R7",
        "  hosts: [a.example.com]\n  http:\n  - route: [{destination: {host: web}}]\n    rewrite: {authority: b}\n    headers: {request: {set: {':authority': c}}}",
        "  hosts: [a.example.com]\n  http:\n  - route: [{destination: {host: web}}]\n    rewrite: {authority: b}",
    ),
    (
        "R8",
        "  hosts: [a.example.com]\n  http:\n  - route: [{destination: {host: web}}]\n    corsPolicy: {allowMethods: [FETCH]}",
        "  hosts: [a.example.com]\n  http:\n  - route: [{destination: {host: web}}]\n    corsPolicy: {allowMethods: [GET], maxAge: 24h}",
    ),
    (
        "R9",
        "  hosts: [a.example.com]\n  http:\n  - route: [{destination: {host: web}}]\n    fault: {abort: {httpStatus: 100}}",
        "  hosts: [a.example.com]\n  http:\n  - route: [{destination: {host: web}}]\n    fault: {abort: {httpStatus: 503, percentage: {value: 5}}}",
    ),
    (
        "R10",
        "  hosts: [a.example.com]\n  http:\n  - route: [{destination: {host: web}}]\n    mirrors: [{destination: {host: m}, percentage: {value: 120}}]",
        "  hosts: [a.example.com]\n  http:\n  - route: [{destination: {host: web}}]\n    mirrors: [{destination: {host: m}, percentage: {value: 20}}]",
    ),
    (
        "R11",
        "  hosts: [a.example.com]\n  http:\n  - redirect: {redirectCode: 200, uri: /x}",
        "  hosts: [a.example.com]\n  http:\n  - redirect: {redirectCode: 308, uri: /x}",
    ),
    (
        # prefixRewrite (newer than the released CRDs, so judged here without schemas) constrains URI matches only
        "R11",
        "  hosts: [a.example.com]\n  http:\n  - match: [{uri: {exact: /a}}]\n    redirect: {prefixRewrite: /b}",
        "  hosts: [a.example.com]\n  http:\n  - match: [{headers: {x-v: {exact: '2'}}}]\n    redirect: {prefixRewrite: /b}",
    ),
    (
        "R12",
        "  hosts: [a.example.com]\n  http:\n  - directResponse: {status: 700}",
        "  hosts: [a.example.com]\n  http:\n  - directResponse: {status: 404}",
    ),
    (
        "R13",
        "  hosts: [a.example.com]\n  http:\n  - route: [{destination: {host: web}}]\n    retries: {attempts: 0, perTryTimeout: 1s}",
        "  hosts: [a.example.com]\n  http:\n  - route: [{destination: {host: web}}]\n    retries: {attempts: 3, perTryTimeout: 1s, retryOn: '5xx,503'}",
    ),
    (
        "R14",
        "  hosts: [a.example.com]\n  http:\n  - route: [{destination: {host: web}}]\n    rewrite: {uri: /a, uriRegexRewrite: {match: a, rewrite: b}}",
        "  hosts: [a.example.com]\n  http:\n  - route: [{destination: {host: web}}]\n    rewrite: {uriRegexRewrite: {match: '^/a', rewrite: /b}}",
    ),
    (
        "R15",
        "  hosts: [a.example.com]\n  http:\n  - route: [{destination: {host: web}}]\n    timeout: 10",
        "  hosts: [a.example.com]\n  http:\n  - route: [{destination: {host: web}}]\n    timeout: 1.5s",
    ),
    (
        "R16",
        "  hosts: [a.example.com]\n  http:\n  - route: [{destination: {host: a}, weight: 0}, {destination: {host: b}, weight: 0}]",
        "  hosts: [a.example.com]\n  http:\n  - route: [{destination: {host: a}, weight: 30}, {destination: {host: b}, weight: 30}]",
    ),
    (
        "L1",
        "  hosts: [a.example.com]\n  gateways: [apps/gw]\n  tls:\n  - route: [{destination: {host: web}}]",
        "  hosts: [a.example.com]\n  gateways: [apps/gw]\n  tls:\n  - match: [{sniHosts: [a.example.com]}]\n    route: [{destination: {host: web}}]",
    ),
    (
        "L2",
        "  hosts: [a.example.com]\n  gateways: [apps/gw]\n  tls:\n  - match: [{sniHosts: [b.example.com]}]\n    route: [{destination: {host: web}}]",
        "  hosts: ['*.example.com']\n  gateways: [apps/gw]\n  tls:\n  - match: [{sniHosts: [b.example.com]}]\n    route: [{destination: {host: web}}]",
    ),
    (
        "L3",
        "  hosts: [a.example.com]\n  gateways: [apps/gw]\n  tls:\n  - match: [{sniHosts: [a.example.com], destinationSubnets: [300.1.1.1]}]\n    route: [{destination: {host: web}}]",
        "  hosts: [a.example.com]\n  gateways: [apps/gw]\n  tls:\n  - match: [{sniHosts: [a.example.com], destinationSubnets: [10.0.0.0/8]}]\n    route: [{destination: {host: web}}]",
    ),
    (
        "L4",
        "  hosts: ['*']\n  gateways: [apps/gw]\n  tcp:\n  - match: [{port: 31400}]",
        "  hosts: ['*']\n  gateways: [apps/gw]\n  tcp:\n  - match: [{port: 31400}]\n    route: [{destination: {host: tcp-echo, port: {number: 2701}}}]",
    ),
    (
        "V9",
        "  hosts: [a.example.com]\n" + ROUTE + "\n  - route: [{destination: {host: b}}]",
        "  hosts: [a.example.com]\n  http:\n  - match: [{uri: {prefix: /a}}]\n    route: [{destination: {host: web}}]\n"
        + ROUTE.split("\n", 1)[1],
    ),
]


@pytest.mark.parametrize(("rule", "bad", "good"), VS_CASES)
def test_virtual_service_rule(run: Any, rule: str, bad: str, good: str) -> None:
    assert rule_hits(run(VS.format(spec=bad)), rule), f"{rule} not raised"
    assert not rule_hits(run(VS.format(spec=good)), rule)


TEL = """apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {{name: t, namespace: istio-system}}
spec:
{spec}
"""
TEL_CASES = [
    (
        "TL1",
        "  selector: {matchLabels: {istio: ingressgateway}}\n  targetRef: {kind: Gateway, group: gateway.networking.k8s.io, name: g}",
        "  selector: {matchLabels: {istio: ingressgateway}}",
    ),
    ("TL2", "  selector: {matchLabels: {istio: '*'}}", "  selector: {matchLabels: {istio: ingressgateway}}"),
    ("TL3", "  targetRefs: [{kind: Pod, name: p}]", "  targetRefs: [{kind: Service, group: '', name: p}]"),
    (
        "TL4",
        "  accessLogging: [{providers: [{name: envoy}], filter: {expression: 'response.code >='}}]",
        "  accessLogging: [{providers: [{name: envoy}], filter: {expression: 'response.code >= 400'}}]",
    ),
    ("TL5", "  tracing: [{randomSamplingPercentage: 101}]", "  tracing: [{randomSamplingPercentage: 10}]"),
    (
        "TL6",
        "  metrics: [{overrides: [{tagOverrides: {x: {operation: REMOVE, value: a}}}]}]",
        "  metrics: [{overrides: [{tagOverrides: {x: {operation: REMOVE}}}]}]",
    ),
    (
        "TL7",
        "  accessLogging: [{providers: [{name: envoy}], match: {mode: BOTH}}]",
        "  accessLogging: [{providers: [{name: envoy}], match: {mode: CLIENT}}]",
    ),
]


@pytest.mark.parametrize(("rule", "bad", "good"), TEL_CASES)
def test_telemetry_rule(run: Any, rule: str, bad: str, good: str) -> None:
    assert rule_hits(run(TEL.format(spec=bad)), rule), f"{rule} not raised"
    assert not rule_hits(run(TEL.format(spec=good)), rule)


IO = """apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
metadata: {{name: io, namespace: istio-system}}
spec:
{spec}
"""
IO_CASES = [
    ("IO1", "  profil: empty", "  profile: empty"),
    ("IO2", "  hub: 'Docker.IO/Istio'", "  hub: docker.io/istio"),
    ("IO3", "  revision: '1.24'", "  revision: canary"),
    ("IO4", "  components: {ingressGateways: [{name: My_GW}]}", "  components: {ingressGateways: [{name: my-gw}]}"),
    (
        "IO5",
        "  components: {ingressGateways: [{name: g, k8s: {service: {ports: [{port: 80, targetPort: 80}]}}}]}",
        "  values: {gateways: {istio-ingressgateway: {runAsRoot: true}}}\n  components: {ingressGateways: [{name: g, k8s: {service: {ports: [{port: 80, targetPort: 80}]}}}]}",
    ),
    (
        "IO6",
        "  components: {ingressGateways: [{name: g, k8s: {replicaCount: 2}}]}",
        "  values: {gateways: {istio-ingressgateway: {autoscaleEnabled: false}}}\n  components: {ingressGateways: [{name: g, k8s: {replicaCount: 2}}]}",
    ),
]


@pytest.mark.parametrize(("rule", "bad", "good"), IO_CASES)
def test_istio_operator_rule(run: Any, rule: str, bad: str, good: str) -> None:
    assert rule_hits(run(IO.format(spec=bad)), rule), f"{rule} not raised"
    assert not rule_hits(run(IO.format(spec=good)), rule)
