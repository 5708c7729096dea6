"""What an environment expects, read from rendered Gateways and Certificates (and from real specs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gwpipe.certs.environment import render_environment
from gwpipe.certs.expected import ExpectedCertificate, Workload, expected_credentials, expected_from_bundle
from gwpipe.engine import Pipeline
from gwpipe.hooks.manager import create_manager
from gwpipe.model import RenderedObject, ResourceRequest
from gwpipe.testing import write_spec

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "walkthrough"
EDGE = Workload("edge", "edge", {"app": "edge", "tier": "gw"})
OTHER = Workload("other", "other-ns", {"app": "other"})


def rendered(kind: str, name: str, namespace: str, obj: dict[str, Any]) -> RenderedObject:
    request = ResourceRequest("test", "x.j2", obj.get("apiVersion", "v1"), kind, name, namespace)
    return RenderedObject(request, "", {"kind": kind, **obj}, f"{namespace}/{kind.lower()}-{name}.yaml")


def gateway(
    name: str, selector: dict[str, str], servers: list[dict[str, Any]], namespace: str = "shop"
) -> RenderedObject:
    return rendered("Gateway", name, namespace, {"spec": {"selector": selector, "servers": servers}})


def server(hosts: list[str], tls: dict[str, Any] | None, protocol: str = "HTTPS") -> dict[str, Any]:
    out: dict[str, Any] = {"port": {"number": 443, "name": "https", "protocol": protocol}, "hosts": hosts}
    if tls is not None:
        out["tls"] = tls
    return out


def cert(name: str, namespace: str, dns: list[str], secret: str | None = None) -> RenderedObject:
    spec = {"secretName": secret or name, "dnsNames": dns, "issuerRef": {"name": "ca", "kind": "ClusterIssuer"}}
    return rendered("Certificate", name, namespace, {"apiVersion": "cert-manager.io/v1", "spec": spec})


def test_credentials_in_the_namespace_of_the_selected_pods() -> None:
    objects = [
        gateway(
            "web",
            {"app": "edge"},
            [
                server(["a.example.com"], {"mode": "SIMPLE", "credentialName": "shared"}),
                server(["b.example.com"], {"mode": "MUTUAL", "credentialName": "shared"}),
                server(["c.example.com"], {"mode": "PASSTHROUGH"}),
                server(["d.example.com"], {"mode": "ISTIO_MUTUAL"}),
                server(["e.example.com"], {"httpsRedirect": True}, protocol="HTTP"),
                server(["f.example.com"], None, protocol="HTTP"),
            ],
        ),
    ]
    [credential] = expected_credentials(objects, [EDGE, OTHER])
    assert (credential.ref, credential.mode, credential.hosts, credential.gateways) == (
        "edge/shared",
        "MUTUAL",
        ["a.example.com", "b.example.com"],
        ["shop/web"],
    )
    assert credential.problems == []


def test_a_selector_matching_two_workloads_expects_the_secret_in_both() -> None:
    twin = Workload("twin", "edge-2", {"app": "edge"})
    objects = [gateway("web", {"app": "edge"}, [server(["a.example.com"], {"credentialName": "a"})])]
    assert [c.ref for c in expected_credentials(objects, [EDGE, twin])] == ["edge/a", "edge-2/a"]


def test_fallback_namespace_when_no_workload_matches_and_credential_names_list() -> None:
    objects = [gateway("web", {"app": "nobody"}, [server(["a.example.com"], {"credentialNames": ["rsa", "ecdsa"]})])]
    assert expected_credentials(objects, [EDGE]) == []
    found = expected_credentials(objects, [EDGE], fallback_namespace={"shop/web": "istio-system"})
    assert [(c.ref, c.mode) for c in found] == [("istio-system/ecdsa", "SIMPLE"), ("istio-system/rsa", "SIMPLE")]


def test_deployments_in_the_bundle_count_as_workloads() -> None:
    deployment = rendered(
        "Deployment", "gw", "gw-ns", {"spec": {"template": {"metadata": {"labels": {"app": "own", "x": "y"}}}}}
    )
    objects = [deployment, gateway("web", {"app": "own"}, [server(["a.example.com"], {"credentialName": "a"})])]
    assert [c.ref for c in expected_credentials(objects, [])] == ["gw-ns/a"]


def test_certificate_attached_and_checked_against_hosts() -> None:
    objects = [
        gateway("web", {"app": "edge"}, [server(["a.example.com", "x.y.example.com"], {"credentialName": "a"})]),
        cert("a", "edge", ["*.example.com"]),
    ]
    [credential] = expected_credentials(objects, [EDGE])
    assert credential.certificate == ExpectedCertificate("a", "edge", "a", ("*.example.com",), "ClusterIssuer/ca")
    assert credential.problems == ["rendered Certificate edge/a dnsNames do not cover host(s) x.y.example.com"]


def test_certificate_in_another_namespace_than_the_pods() -> None:
    objects = [
        gateway("web", {"app": "edge"}, [server(["a.example.com"], {"credentialName": "a"})]),
        cert("a", "shop", ["a.example.com"]),
    ]
    [credential] = expected_credentials(objects, [EDGE])
    assert credential.certificate is None
    assert credential.problems == [
        "Certificate shop/a issues Secret 'a' into namespace 'shop', but the gateway workload reads it from 'edge'"
    ]


def test_cross_namespace_credential_reference() -> None:
    objects = [gateway("web", {"app": "edge"}, [server(["a.example.com"], {"credentialName": "other/a"})])]
    [credential] = expected_credentials(objects, [EDGE])
    assert credential.ref == "edge/a"
    assert credential.problems == [
        "credentialName 'other/a' of Gateway shop/web points outside the gateway workload namespace 'edge'; "
        "istio refuses cross-namespace credentials"
    ]


@pytest.fixture
def pipeline() -> Pipeline:
    return Pipeline(pm=create_manager(entry_points=False))


@pytest.mark.parametrize(
    ("example", "expected"),
    [
        ("02-tls", [("istio-system/webapp-credential", "SIMPLE", ["webapp.istioinaction.io"], None)]),
        ("04-mtls", [("istio-system/webapp-credential-mtls", "MUTUAL", ["webapp.istioinaction.io"], "credential")]),
        (
            "05-multi-host-tls",
            [
                ("istio-system/catalog-credential", "SIMPLE", ["catalog.istioinaction.io"], None),
                ("istio-system/webapp-credential", "SIMPLE", ["webapp.istioinaction.io"], None),
            ],
        ),
    ],
)
def test_walkthrough_examples(
    pipeline: Pipeline, spec_dir: Path, example: str, expected: list[tuple[Any, ...]]
) -> None:
    path = write_spec(spec_dir, (EXAMPLES / f"{example}.yaml").read_text(encoding="utf-8"), name=example)
    found = expected_from_bundle(render_environment(pipeline, path, spec_dir))
    assert [(c.ref, c.mode, c.hosts, c.ca_source) for c in found] == expected
    assert all(c.certificate is None and c.problems == [] for c in found)


def test_spec_with_cert_manager_and_cacert_secret(pipeline: Pipeline, spec_dir: Path) -> None:
    spec = {
        "namespace": "shop",
        "workloads": {"edge": {"namespace": "edge", "labels": {"app": "edge"}}},
        "gateways": {"web": {"workload": "edge"}},
        "hosts": {
            "a.example.com": {
                "gateway": "web",
                "routes": [{"destination": {"host": "web", "port": 80}}],
                "tls": {
                    "credentialName": "a-cred",
                    "certificate": {"issuerRef": {"name": "ca", "kind": "ClusterIssuer"}, "issuerType": "ca"},
                },
                "mtls": {"mode": "OPTIONAL_MUTUAL", "caSource": "cacert-secret"},
            }
        },
    }
    path = write_spec(spec_dir, spec, name="shop")
    [credential] = expected_from_bundle(render_environment(pipeline, path, spec_dir))
    assert (credential.ref, credential.mode, credential.ca_source, credential.gateways) == (
        "edge/a-cred",
        "OPTIONAL_MUTUAL",
        "cacert-secret",
        ["shop/web"],
    )
    assert credential.certificate == ExpectedCertificate(
        "a-cred", "edge", "a-cred", ("a.example.com",), "ClusterIssuer/ca"
    )
