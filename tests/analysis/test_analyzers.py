"""Analyzers beyond the bundle corpus: version-dependent IST0145, secrets, ports, inventory, hosts primitives."""

from __future__ import annotations

import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given
from hypothesis import strategies as st

from gwpipe.checks.analysis.hosts import (
    HostIndex,
    matches,
    names_for_namespace,
    sanitize_server_hosts,
    subset_of,
    to_fqdn,
)

from .conftest import codes


def two_gateways(host_a: str, port_a: int, host_b: str, port_b: int, bind_b: str = "") -> str:
    bind = f"\n    bind: {bind_b}" if bind_b else ""
    return f"""apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {{name: alpha, namespace: istio-system}}
spec:
  selector: {{istio: ingressgateway}}
  servers:
  - port: {{number: {port_a}, name: p, protocol: HTTP}}
    hosts: ['{host_a}']
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {{name: beta, namespace: apps}}
spec:
  selector: {{istio: ingressgateway}}
  servers:
  - port: {{number: {port_b}, name: p, protocol: HTTP}}
    hosts: ['{host_b}']{bind}
"""


def test_conflict_exact_host_same_port(run: Any) -> None:
    findings = [f for f in run(two_gateways("foo.com", 80, "foo.com", 80)) if f.code == "IST0145"]
    assert [f.message for f in findings] == [
        "Conflict with gateways apps/beta (workload selector istio=ingressgateway, port 80, hosts foo.com).",
        "Conflict with gateways istio-system/alpha (workload selector istio=ingressgateway, port 80, hosts foo.com).",
    ]


def test_conflict_different_bind_is_clean(run: Any) -> None:
    assert "IST0145" not in codes(run(two_gateways("foo.com", 80, "foo.com", 80, "10.0.0.1")))


def test_wildcard_overlap_conflicts_only_up_to_1_23(run: Any) -> None:
    text = two_gateways("*", 80, "foo.com", 80)
    assert "IST0145" in codes(run(text, version=(1, 23)))
    assert "IST0145" not in codes(run(text, version=(1, 24)))
    assert "IST0145" not in codes(run(text, version=(1, 28)))


def test_port_ignored_on_1_24_only(run: Any) -> None:
    text = two_gateways("foo.com", 80, "foo.com", 443)
    assert "IST0145" in codes(run(text, version=(1, 24)))
    assert "IST0145" not in codes(run(text, version=(1, 25)))
    assert "IST0145" not in codes(run(text, version=(1, 23)))


def test_namespace_prefix_is_a_different_string(run: Any) -> None:
    assert "IST0145" not in codes(run(two_gateways("apps/foo.com", 80, "foo.com", 80)))


def test_service_port_translation_and_missing_port(run: Any) -> None:
    ok = [f for f in run(two_gateways("a.com", 80, "b.com", 8080)) if f.code == "IST0162"]
    assert ok == []  # 80 is a Service port (-> 8080), 8080 a targetPort
    bad = [f for f in run(two_gateways("a.com", 80, "b.com", 9000)) if f.code == "IST0162"]
    assert [f.name for f in bad] == ["beta"]


def test_selector_without_pods_reports_once_and_no_port_check(run: Any) -> None:
    text = two_gateways("a.com", 9999, "b.com", 80).replace(
        "istio: ingressgateway}\n  servers:\n  - port: {number: 9999",
        "istio: typo}\n  servers:\n  - port: {number: 9999",
    )
    found = run(text)
    assert [(f.code, f.name, f.message) for f in found if f.name == "alpha"] == [
        ("IST0101", "alpha", 'Referenced selector not found: "istio=typo"')
    ]


def _pem(not_before: datetime.datetime, not_after: datetime.datetime) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "a.example.com")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _secret_gateway(pem: str) -> str:
    import base64

    data = base64.b64encode(pem.encode()).decode()
    return f"""apiVersion: v1
kind: Secret
metadata: {{name: cred, namespace: istio-system}}
data: {{tls.crt: {data}, tls.key: a2V5}}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {{name: gw, namespace: istio-system}}
spec:
  selector: {{istio: ingressgateway}}
  servers:
  - port: {{number: 443, name: https, protocol: HTTPS}}
    hosts: [a.example.com]
    tls: {{mode: SIMPLE, credentialName: cred}}
"""


def test_certificate_validity(run: Any) -> None:
    now = datetime.datetime(2026, 6, 1, tzinfo=datetime.UTC)
    day = datetime.timedelta(days=1)
    assert codes(run(_secret_gateway(_pem(now - day, now + day)), now=now)) == []
    expired = run(_secret_gateway(_pem(now - 2 * day, now - day)), now=now)
    assert [f.code for f in expired] == ["IST0161"]
    assert "expired at 2026-05-31" in expired[0].message
    future = run(_secret_gateway(_pem(now + day, now + 2 * day)), now=now)
    assert [f.code for f in future] == ["IST0161"]
    assert [f.code for f in run(_secret_gateway("not pem"), now=now)] == ["IST0161"]


def test_inventory_secret_and_workload(run: Any) -> None:
    gw = """apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: apps}
spec:
  selector: {app: edge}
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [a.example.com]
    tls: {mode: SIMPLE, credentialName: cred}
"""
    assert sorted(f.code for f in run(gw, ingress=False)) == ["IST0101"]
    inventory = [
        {
            "kind": "Workload",
            "namespace": "edge",
            "name": "edge",
            "labels": {"app": "edge"},
            "ports": [{"port": 443, "targetPort": 8443}],
        },
        {"kind": "Secret", "namespace": "edge", "name": "cred", "notAfter": "2000-01-01T00:00:00Z"},
    ]
    found = run(gw, ingress=False, inventory=inventory)
    assert [(f.code, f.message) for f in found] == [
        (
            "IST0161",
            "The credential referenced by the Gateway gw in namespace edge is invalid: its certificate expired "
            "at 2000-01-01T00:00:00+00:00.",
        )
    ]
    inventory[1].pop("notAfter")
    assert run(gw, ingress=False, inventory=inventory) == []


def test_istio_operator_components_are_gateway_pods(run: Any) -> None:
    text = """apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
metadata: {name: my-user-gateway-install, namespace: istioinaction}
spec:
  profile: empty
  components:
    ingressGateways:
    - name: my-user-gateway
      namespace: istioinaction
      enabled: true
      label: {istio: my-user-gateway}
      k8s: {service: {ports: [{name: tcp, port: 31400, targetPort: 31400}]}}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: echo-tcp-gateway, namespace: istioinaction}
spec:
  selector: {istio: my-user-gateway}
  servers:
  - port: {number: 31400, name: tcp-echo, protocol: TCP}
    hosts: ['*']
"""
    assert run(text, ingress=False) == []
    assert [f.code for f in run(text.replace("number: 31400", "number: 31401"), ingress=False)] == ["IST0162"]


def test_json_and_suppress_glob(run: Any) -> None:
    from gwpipe.checks.analysis.manifests import ManifestSet
    from gwpipe.checks.analysis.suppress import parse_suppression, unsuppressed

    found = run(two_gateways("foo.com", 80, "foo.com", 80))
    rule = parse_suppression("IST0145=Gateway apps/*")
    assert rule is not None
    kept = unsuppressed(found, ManifestSet([]), [rule])
    assert [f.resource for f in kept if f.code == "IST0145"] == ["Gateway istio-system/alpha"]
    assert parse_suppression("IST0145") is None


HOST = st.from_regex(r"\A(\*|\*\.[a-c]{1,2}(\.[a-c]{1,2}){0,2}|[a-c]{1,2}(\.[a-c]{1,2}){0,2})\Z")


@given(st.lists(HOST, max_size=8), HOST)
def test_host_index_agrees_with_matches(hosts: list[str], name: str) -> None:
    index: HostIndex[int] = HostIndex([(h, i) for i, h in enumerate(hosts)])
    assert index.overlapping(name) == {i for i, h in enumerate(hosts) if matches(h, name)}


@given(HOST, HOST)
def test_matches_symmetric_and_subset_implies_match(a: str, b: str) -> None:
    assert matches(a, b) == matches(b, a)
    if subset_of(a, b):
        assert matches(a, b)


def test_host_primitives() -> None:
    assert matches("*.com", "*.foo.com")
    assert not matches("*.foo.com", "foo.com")
    assert names_for_namespace(["a/x.com", "*/y.com", "z.com", "b/w.com"], "a") == ["x.com", "y.com", "z.com"]
    assert sanitize_server_hosts(["./a.com", "*/b.com"], "gw") == ["gw/a.com", "b.com"]
    assert sanitize_server_hosts(["a.com", "*/*"], "gw") == ["*"]
    assert to_fqdn("default", "reviews") == "reviews.default.svc.cluster.local"
    assert to_fqdn("default", "reviews.default") == "reviews.default"


def test_default_access_log_providers_silence_ist0157(run: Any) -> None:
    telemetry = """apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: t, namespace: istio-system}
spec:
  accessLogging: [{filter: {expression: "response.code >= 400"}}]
"""
    assert [f.code for f in run(telemetry)] == ["IST0157"]
    mesh = """---
apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
metadata: {name: cp, namespace: istio-system}
spec:
  profile: minimal
  meshConfig: {defaultProviders: {accessLogging: [envoy]}}
"""
    assert run(telemetry + mesh) == []


def test_gateway_service_does_not_declare_backends(run: Any) -> None:
    text = """apiVersion: apps/v1
kind: Deployment
metadata: {name: my-gw, namespace: apps}
spec:
  template: {metadata: {labels: {ingress: my-gw}}}
---
apiVersion: v1
kind: Service
metadata: {name: my-gw, namespace: apps}
spec:
  selector: {ingress: my-gw}
  ports: [{port: 80, protocol: TCP}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: apps}
spec:
  selector: {ingress: my-gw}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: [a.example.com]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs, namespace: apps}
spec:
  hosts: [a.example.com]
  gateways: [apps/gw]
  http: [{route: [{destination: {host: backend}}]}]
"""
    assert run(text, ingress=False) == []
    backend = (
        "---\napiVersion: v1\nkind: Service\nmetadata: {name: other, namespace: apps}\nspec: {ports: [{port: 80}]}\n"
    )
    assert [(f.code, f.message) for f in run(text + backend, ingress=False)] == [
        ("IST0101", 'Referenced host not found: "backend"')
    ]


def test_list_items_and_kustomization(tmp_path: Any) -> None:
    from gwpipe.checks.analysis.loader import load_manifests

    path = tmp_path / "in.yaml"
    path.write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [a.yaml]\n---\n"
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata: {name: a}\n"
        "- apiVersion: v1\n  kind: Service\n  metadata: {name: b, namespace: kube-system}\n"
        "- apiVersion: v1\n  kind: Service\n  metadata: {name: c, namespace: x}\n"
    )
    found = load_manifests(path, "dflt")
    assert [(m.ref, m.line) for m in found] == [("Service dflt/a", 8), ("Service x/c", 14)]


def test_empty_selector_counts_as_selector_for_ist0160(run: Any) -> None:
    text = """apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: a, namespace: ns1}
spec: {accessLogging: [{providers: [{name: envoy}]}]}
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: b, namespace: ns1}
spec: {selector: {}, accessLogging: [{providers: [{name: envoy}]}]}
"""
    assert codes(run(text)) == ["IST0133 TL2"]
    assert codes(run(text.replace("selector: {}, ", ""))) == ["IST0160", "IST0160"]
