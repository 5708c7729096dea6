"""The mtls plugin: mutual modes on a host's HTTPS server, where the client CA comes from, ACME refusal."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from gwpipe.engine import Options, Pipeline
from gwpipe.errors import CheckError, SpecError
from gwpipe.hooks.manager import create_manager
from gwpipe.testing import build, find, write_spec
from plugins.tls_specs import spec

ACME = {"issuerRef": {"name": "letsencrypt", "kind": "ClusterIssuer"}, "issuerType": "acme"}


def https(bundle: Any) -> dict[str, dict[str, Any]]:
    """HTTPS server tls settings keyed by host."""
    servers = find(bundle.objects, "Gateway", "edge")["spec"]["servers"]
    return {s["hosts"][0]: s["tls"] for s in servers if s["port"]["protocol"] == "HTTPS"}


def errors(folder: Path, data: dict[str, Any]) -> list[str]:
    with pytest.raises(SpecError) as caught:
        build(folder, data)
    return [str(p).split(": ", 1)[1] for p in caught.value.problems]


def test_mutual_with_its_own_credential_replaces_the_simple_one(spec_dir: Path) -> None:
    # walkthrough step 4: the Secret with tls.crt, tls.key and ca.crt is a different one from step 2's
    mtls = {"mode": "MUTUAL", "credentialName": "webapp-credential-mtls"}
    bundle = build(spec_dir, spec({"a.example.com": {"tls": {"credentialName": "webapp-credential"}, "mtls": mtls}}))
    assert https(bundle) == {"a.example.com": {"mode": "MUTUAL", "credentialName": "webapp-credential-mtls"}}
    gateway = find(bundle.objects, "Gateway", "edge")
    assert gateway["metadata"]["annotations"]["gwpipe.dev/plugins"] == "http,mtls,tls"


def test_defaults_are_mutual_with_the_tls_credential_and_only_that_host_changes(spec_dir: Path) -> None:
    hosts = {
        "a.example.com": {"tls": {"credentialName": "a", "minProtocolVersion": "TLSV1_2"}, "mtls": {}},
        "b.example.com": {"tls": {"credentialName": "b"}, "mtls": {"mode": "OPTIONAL_MUTUAL"}},
        "c.example.com": {"tls": {"credentialName": "c"}},
    }
    assert https(build(spec_dir, spec(hosts))) == {
        "a.example.com": {"mode": "MUTUAL", "credentialName": "a", "minProtocolVersion": "TLSV1_2"},
        "b.example.com": {"mode": "OPTIONAL_MUTUAL", "credentialName": "b"},
        "c.example.com": {"mode": "SIMPLE", "credentialName": "c"},
    }


def test_mutual_with_an_acme_certificate_and_no_ca_source_is_refused_with_a_hint(spec_dir: Path) -> None:
    # cert-manager writes ca.crt only when the issuer knows its CA; ACME never does, so Envoy would have no client CA
    text = """\
        namespace: shop
        gateways:
          edge:
            selector: {istio: ingressgateway}
        hosts:
          a.example.com:
            gateway: edge
            routes: [{destination: {host: web, port: 80}}]
            tls:
              credentialName: a-cert
              certificate:
                issuerRef: {name: letsencrypt, kind: ClusterIssuer}
                issuerType: acme
            mtls:
              mode: MUTUAL
              caSource: credential
        """
    with pytest.raises(SpecError) as caught:
        build(spec_dir, textwrap.dedent(text))
    (problem,) = caught.value.problems
    assert str(problem) == (
        f'{spec_dir / "test.yaml"}:16:17: hosts["a.example.com"].mtls.caSource: MUTUAL needs a client CA, '
        "but an ACME issuer writes no ca.crt into Secret 'a-cert'"
    )
    assert problem.hint == (
        "set caSource: cacert-secret and provide Secret 'a-cert-cacert' (key ca.crt) in namespace 'istio-system'"
    )


def test_the_refusal_follows_the_certificate_declared_on_a_host_sharing_the_secret(spec_dir: Path) -> None:
    hosts = {
        "a.example.com": {"tls": {"credentialName": "shared", "certificate": ACME}},
        "b.example.com": {"tls": {"credentialName": "shared"}, "mtls": {"mode": "OPTIONAL_MUTUAL"}},
    }
    assert errors(spec_dir, spec(hosts)) == [
        "hosts[\"b.example.com\"].mtls: OPTIONAL_MUTUAL needs a client CA, but an ACME issuer writes no ca.crt into Secret 'shared'"
    ]


def test_acme_with_a_cacert_secret_is_accepted_and_nothing_secret_is_emitted(spec_dir: Path) -> None:
    # the user provides a-cacert (declared in the inventory, as the analyzers see the cluster); gwpipe emits no Secret
    cacert = {"kind": "Secret", "namespace": "istio-system", "name": "a-cacert", "keys": ["ca.crt"]}
    hosts = {
        "a.example.com": {"tls": {"credentialName": "a", "certificate": ACME}, "mtls": {"caSource": "cacert-secret"}}
    }
    bundle = build(spec_dir, spec(hosts, inventory=(cacert,)))
    assert https(bundle)["a.example.com"] == {"mode": "MUTUAL", "credentialName": "a"}
    assert sorted(o.ref for o in bundle.objects) == [
        "Certificate istio-system/a",
        "Gateway shop/edge",
        "VirtualService shop/a-example-com",
    ]


@pytest.mark.parametrize("issuer_type", ["ca", "selfsigned", "vault", "venafi"])
@pytest.mark.parametrize("ca_source", [None, "credential", "cacert-secret"])
def test_issuers_other_than_acme_are_trusted_to_provide_the_ca(
    spec_dir: Path, issuer_type: str, ca_source: str | None
) -> None:
    # validation and plan only: whether the CA really arrives is the analyzers' business (they see the cluster)
    certificate = {"issuerRef": {"name": "internal"}, "issuerType": issuer_type}
    mtls = {"caSource": ca_source} if ca_source else {}
    pipeline = Pipeline(Options(), pm=create_manager(entry_points=False))
    path = write_spec(
        spec_dir, spec({"a.example.com": {"tls": {"credentialName": "a", "certificate": certificate}, "mtls": mtls}})
    )
    plan = pipeline.plan(pipeline.load(path, spec_dir))
    assert sorted(r.ref for r in plan) == [
        "Certificate istio-system/a",
        "Gateway shop/edge",
        "VirtualService shop/a-example-com",
    ]
    gateway = plan.get("Gateway", "edge", "shop")
    assert gateway is not None
    assert gateway.values["servers"][1]["tls"] == {"mode": "MUTUAL", "credentialName": "a"}
    assert gateway.plugins == ["http", "mtls", "tls"]


def test_own_credential_cannot_replace_a_secret_cert_manager_issues(spec_dir: Path) -> None:
    hosts = {
        "a.example.com": {"tls": {"credentialName": "a", "certificate": ACME}, "mtls": {"credentialName": "a-mtls"}}
    }
    assert errors(spec_dir, spec(hosts)) == [
        "hosts[\"a.example.com\"].mtls.credentialName: would replace Secret 'a', which cert-manager issues "
        "(tls.certificate on host 'a.example.com')"
    ]


def test_own_credential_must_live_in_the_gateway_workload_namespace(spec_dir: Path) -> None:
    hosts = {"a.example.com": {"tls": {"credentialName": "a"}, "mtls": {"credentialName": "shop/a-mtls"}}}
    assert errors(spec_dir, spec(hosts)) == [
        'hosts["a.example.com"].mtls.credentialName: secret must be in the gateway workload namespace '
        "'istio-system', got 'shop/a-mtls'"
    ]


def test_unknown_mode_is_refused(spec_dir: Path) -> None:
    hosts = {"a.example.com": {"tls": {"credentialName": "a"}, "mtls": {"mode": "ISTIO_MUTUAL"}}}
    assert errors(spec_dir, spec(hosts)) == [
        "hosts[\"a.example.com\"].mtls.mode: unsupported value, got 'ISTIO_MUTUAL'; allowed: MUTUAL, OPTIONAL_MUTUAL"
    ]


def test_a_foreign_secret_is_reported_once_without_a_misleading_ca_hint(spec_dir: Path) -> None:
    hosts = {"a.example.com": {"tls": {"credentialName": "other/a", "certificate": ACME}, "mtls": {}}}
    assert errors(spec_dir, spec(hosts)) == [
        'hosts["a.example.com"].tls.credentialName: secret must be in the gateway workload namespace '
        "'istio-system', got 'other/a'"
    ]


@pytest.mark.parametrize("issuer_type", ["ca", "selfsigned", "vault"])
def test_a_ca_issuers_certificate_counts_as_the_client_ca_in_a_full_build(spec_dir: Path, issuer_type: str) -> None:
    # the issuer lives outside the GitOps tree: its declared type, recorded on the Certificate, tells
    # the analyzers that cert-manager writes ca.crt into the Secret (no IST0161 for MUTUAL)
    certificate = {"issuerRef": {"name": "internal"}, "issuerType": issuer_type}
    hosts = {"a.example.com": {"tls": {"credentialName": "a", "certificate": certificate}, "mtls": {}}}
    bundle = build(spec_dir, spec(hosts))
    cert = find(bundle.objects, "Certificate", "a")
    assert cert["metadata"]["annotations"]["gwpipe.dev/issuer-type"] == issuer_type
    assert not [f for f in bundle.findings if f.code == "IST0161"]


def test_a_venafi_certificate_is_not_assumed_to_carry_a_client_ca(spec_dir: Path) -> None:
    certificate = {"issuerRef": {"name": "internal"}, "issuerType": "venafi"}
    hosts = {"a.example.com": {"tls": {"credentialName": "a", "certificate": certificate}, "mtls": {}}}
    with pytest.raises(CheckError, match=r"IST0161 Gateway shop/edge: .*"):
        build(spec_dir, spec(hosts))
