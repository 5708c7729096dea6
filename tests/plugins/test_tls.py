"""The tls plugin: HTTPS servers per host (SNI), port names, credential namespaces, cert-manager Certificates."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from gwpipe.engine import Options, Pipeline
from gwpipe.errors import SpecError
from gwpipe.hooks.manager import create_manager
from gwpipe.testing import build, find, write_spec
from plugins.tls_specs import spec

CRDS = Path(__file__).resolve().parents[3] / "shared" / "reference" / "crds"


def servers(bundle: Any, gateway: str = "edge") -> list[dict[str, Any]]:
    return list(find(bundle.objects, "Gateway", gateway)["spec"]["servers"])


def spec_errors(folder: Path, data: dict[str, Any] | str) -> list[str]:
    """Every problem line of the SpecError the spec raises (the test fails when it raises none)."""
    with pytest.raises(SpecError) as caught:
        build(folder, textwrap.dedent(data) if isinstance(data, str) else data)
    return [str(p) for p in caught.value.problems]


def where(folder: Path, line: int, column: int) -> str:
    return re.escape(f"{folder / 'test.yaml'}:{line}:{column}: ")


def test_one_tls_host_gets_an_https_server_named_https_after_the_http_server(spec_dir: Path) -> None:
    bundle = build(spec_dir, spec({"webapp.example.com": {"tls": {"credentialName": "webapp-credential"}}}))
    assert servers(bundle) == [
        {"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["webapp.example.com"]},
        {
            "port": {"number": 443, "name": "https", "protocol": "HTTPS"},
            "hosts": ["webapp.example.com"],
            "tls": {"mode": "SIMPLE", "credentialName": "webapp-credential"},
        },
    ]
    gateway = find(bundle.objects, "Gateway", "edge")
    # provenance: the Gateway says both plugins made it
    assert gateway["metadata"]["annotations"]["gwpipe.dev/plugins"] == "http,tls"


def test_several_hosts_share_port_443_with_one_server_and_certificate_each_sorted_by_host(spec_dir: Path) -> None:
    # SNI: Envoy picks the certificate by the ClientHello's server name, so each host needs its own server
    bundle = build(
        spec_dir,
        spec(
            {
                "webapp.example.com": {"http": False, "tls": {"credentialName": "webapp-credential"}},
                "catalog.example.com": {"http": False, "tls": {"credentialName": "catalog-credential"}},
                "api.example.com": {"tls": {"credentialName": "api-credential"}},
            }
        ),
    )
    got = [
        (s["port"]["name"], s["port"]["number"], s["hosts"], s.get("tls", {}).get("credentialName"))
        for s in servers(bundle)
    ]
    assert got == [
        ("http", 80, ["api.example.com"], None),
        ("https-api", 443, ["api.example.com"], "api-credential"),
        ("https-catalog", 443, ["catalog.example.com"], "catalog-credential"),
        ("https-webapp", 443, ["webapp.example.com"], "webapp-credential"),
    ]


def test_server_name_overrides_the_port_name_and_https_port_the_number(spec_dir: Path) -> None:
    gateways = {"edge": {"selector": {"istio": "ingressgateway"}, "httpsPort": 8443}}
    bundle = build(
        spec_dir,
        spec(
            {
                "a.example.com": {"tls": {"credentialName": "a", "serverName": "https-main"}},
                "b.example.com": {"tls": {"credentialName": "b"}},
            },
            gateways=gateways,
        ),
    )
    https = [s["port"] for s in servers(bundle) if s["port"]["protocol"] == "HTTPS"]
    assert https == [
        {"number": 8443, "name": "https-main", "protocol": "HTTPS"},
        {"number": 8443, "name": "https-b", "protocol": "HTTPS"},
    ]


def test_wildcard_host_gets_a_port_name_spelt_wildcard(spec_dir: Path) -> None:
    bundle = build(
        spec_dir,
        spec({"*.example.com": {"tls": {"credentialName": "wild"}}, "a.example.org": {"tls": {"credentialName": "a"}}}),
    )
    assert [s["port"]["name"] for s in servers(bundle)] == ["http", "https-wildcard", "https-a"]


def test_tls_options_are_copied_to_the_server_and_rendered_sorted(spec_dir: Path) -> None:
    tls = {
        "credentialName": "c",
        "minProtocolVersion": "TLSV1_2",
        "maxProtocolVersion": "TLSV1_3",
        "cipherSuites": ["ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-AES128-GCM-SHA256"],
    }
    bundle = build(spec_dir, spec({"a.example.com": {"tls": tls}}))
    assert servers(bundle)[1]["tls"] == {**tls, "mode": "SIMPLE"}
    text = next(o.text for o in bundle.objects if o.request.kind == "Gateway")
    block = text.split("    tls:\n", 1)[1].splitlines()
    assert [line.split(":")[0].strip() for line in block] == [
        "cipherSuites",
        "credentialName",
        "maxProtocolVersion",
        "minProtocolVersion",
        "mode",
    ]


def test_colliding_port_names_are_a_located_error_with_a_hint(spec_dir: Path) -> None:
    text = """\
        namespace: shop
        gateways:
          edge:
            selector: {istio: ingressgateway}
        hosts:
          webapp.a.example.com:
            gateway: edge
            routes: [{destination: {host: web, port: 80}}]
            tls:
              credentialName: a
          webapp.b.example.com:
            gateway: edge
            routes: [{destination: {host: web, port: 80}}]
            tls:
              credentialName: b
        """
    with pytest.raises(SpecError) as caught:
        build(spec_dir, textwrap.dedent(text))
    (problem,) = caught.value.problems
    assert re.fullmatch(
        where(spec_dir, 15, 7)
        + re.escape("hosts[\"webapp.b.example.com\"].tls: HTTPS port name 'https-webapp' is already used by host ")
        + re.escape("'webapp.a.example.com' on Gateway 'edge'"),
        str(problem),
    )
    assert problem.hint == "port names must be unique within a Gateway; set tls.serverName on one of these hosts"


def test_server_name_may_not_take_an_http_server_name(spec_dir: Path) -> None:
    errors = spec_errors(spec_dir, spec({"a.example.com": {"tls": {"credentialName": "a", "serverName": "http"}}}))
    assert len(errors) == 1
    assert re.fullmatch(
        r".*test\.yaml:\d+:\d+: hosts\[\"a\.example\.com\"\]\.tls\.serverName: port name 'http' is reserved for the Gateway's HTTP servers",
        errors[0],
    )


def test_https_port_may_not_be_the_http_port(spec_dir: Path) -> None:
    gateways = {"edge": {"selector": {"istio": "ingressgateway"}, "httpsPort": 80}}
    errors = spec_errors(spec_dir, spec({"a.example.com": {"tls": {"credentialName": "a"}}}, gateways=gateways))
    assert len(errors) == 1
    assert re.fullmatch(
        r".*test\.yaml:\d+:\d+: gateways\.edge\.httpsPort: HTTP and HTTPS servers cannot share port 80", errors[0]
    )


def test_credential_in_another_namespace_is_refused_naming_the_workload_namespace(spec_dir: Path) -> None:
    # hostile row 48: Istio denies `ns/name` outside the gateway pods' namespace at runtime (IST0161 semantics)
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
              credentialName: shop/a-credential
        """
    with pytest.raises(SpecError) as caught:
        build(spec_dir, textwrap.dedent(text))
    (problem,) = caught.value.problems
    assert re.fullmatch(
        where(spec_dir, 10, 23)
        + re.escape(
            'hosts["a.example.com"].tls.credentialName: secret must be in the gateway workload namespace '
            "'istio-system', got 'shop/a-credential'"
        ),
        str(problem),
    )
    assert problem.hint is not None
    assert problem.hint.startswith("use the plain name 'a-credential'")


@pytest.mark.parametrize("value", [None, ""])
def test_empty_credential_name_is_required_field_empty(spec_dir: Path, value: str | None) -> None:
    errors = spec_errors(spec_dir, spec({"a.example.com": {"tls": {"credentialName": value}}}))
    assert [e.split(": ", 1)[1] for e in errors] == ['hosts["a.example.com"].tls.credentialName: required field empty']


def test_private_key_fields_do_not_exist_and_key_material_is_not_echoed(spec_dir: Path) -> None:
    pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"
    errors = spec_errors(
        spec_dir, spec({"a.example.com": {"tls": {"credentialName": "a", "tls.key": pem, "privateKey": pem}}})
    )
    # each field is named twice: key material in a spec, and a field that does not exist
    assert sorted(e.split(": ", 1)[1].split(";")[0] for e in errors) == [
        'hosts["a.example.com"].tls.privateKey: contains a PEM private key (value redacted, 87 bytes)',
        'hosts["a.example.com"].tls.privateKey: unknown field',
        'hosts["a.example.com"].tls["tls.key"]: contains a PEM private key (value redacted, 87 bytes)',
        'hosts["a.example.com"].tls["tls.key"]: unknown field',
    ]
    assert not any("PRIVATE KEY" in e for e in errors)


@pytest.mark.parametrize(
    ("tls", "message"),
    [
        (
            {"minProtocolVersion": "TLSV1_3", "maxProtocolVersion": "TLSV1_2"},
            "tls.maxProtocolVersion: must not be below minProtocolVersion 'TLSV1_3', got 'TLSV1_2'",
        ),
        (
            {"minProtocolVersion": "TLSV1_4"},
            "tls.minProtocolVersion: unsupported value, got 'TLSV1_4'; allowed: TLS_AUTO, TLSV1_0, TLSV1_1, TLSV1_2, TLSV1_3",
        ),
        (
            {"cipherSuites": ["AES128-SHA", "AES128-SHA"]},
            "tls.cipherSuites[1]: duplicate cipher suite, got 'AES128-SHA'",
        ),
    ],
)
def test_tls_versions_and_ciphers_follow_istio(spec_dir: Path, tls: dict[str, Any], message: str) -> None:
    errors = spec_errors(spec_dir, spec({"a.example.com": {"tls": {"credentialName": "a", **tls}}}))
    assert [e.split(": ", 1)[1] for e in errors] == [f'hosts["a.example.com"].{message}']


def test_tls_auto_never_conflicts_with_an_explicit_version(spec_dir: Path) -> None:
    tls = {"credentialName": "a", "minProtocolVersion": "TLSV1_3", "maxProtocolVersion": "TLS_AUTO"}
    bundle = build(spec_dir, spec({"a.example.com": {"tls": tls}}))
    assert servers(bundle)[1]["tls"]["maxProtocolVersion"] == "TLS_AUTO"


def _cacert(secret: str) -> dict[str, Any]:
    """The `<secret>-cacert` Secret a user provides for a mutual server whose issuer writes no ca.crt."""
    return {"kind": "Secret", "namespace": "istio-system", "name": f"{secret}-cacert", "keys": ["ca.crt"]}


def _certificate(**extra: Any) -> dict[str, Any]:
    return {"issuerRef": {"name": "letsencrypt", "kind": "ClusterIssuer"}, "issuerType": "acme", **extra}


def test_certificate_lives_in_the_gateway_workload_namespace_and_covers_every_host_of_its_secret(
    spec_dir: Path,
) -> None:
    # the app namespace is shop, the Gateway CR is in edge-ns, the gateway pods run in ingress: the Secret goes there
    data = spec(
        {
            "b.example.com": {
                "tls": {"credentialName": "shared", "certificate": _certificate(duration="2160h", renewBefore="360h")}
            },
            "a.example.com": {"tls": {"credentialName": "shared"}},
            "c.example.com": {"tls": {"credentialName": "other"}},
        },
        gateways={"edge": {"namespace": "edge-ns", "workload": "gw", "selector": {"istio": "ingressgateway"}}},
        workloads={"gw": {"namespace": "ingress", "labels": {"istio": "ingressgateway"}}},
    )
    bundle = build(spec_dir, data)
    certificates = [o for o in bundle.objects if o.request.kind == "Certificate"]
    assert [o.ref for o in certificates] == ["Certificate ingress/shared"]
    assert certificates[0].obj["apiVersion"] == "cert-manager.io/v1"
    assert certificates[0].obj["spec"] == {
        "secretName": "shared",
        "dnsNames": ["a.example.com", "b.example.com"],
        "issuerRef": {"name": "letsencrypt", "kind": "ClusterIssuer", "group": "cert-manager.io"},
        "duration": "2160h",
        "renewBefore": "360h",
    }
    assert certificates[0].path == "ingress/certificate-shared.yaml"


def test_same_secret_name_in_two_workload_namespaces_makes_two_certificates(spec_dir: Path) -> None:
    data = spec(
        {
            "a.example.com": {"tls": {"credentialName": "cred", "certificate": _certificate()}},
            "b.example.com": {"gateway": "inner", "tls": {"credentialName": "cred", "certificate": _certificate()}},
        },
        gateways={"edge": {"workload": "outer"}, "inner": {"workload": "inner"}},
        workloads={
            "outer": {"namespace": "outer-ns", "labels": {"istio": "outer"}},
            "inner": {"namespace": "inner-ns", "labels": {"istio": "inner"}},
        },
    )
    bundle = build(spec_dir, data)
    got = {o.ref: o.obj["spec"]["dnsNames"] for o in bundle.objects if o.request.kind == "Certificate"}
    assert got == {"Certificate outer-ns/cred": ["a.example.com"], "Certificate inner-ns/cred": ["b.example.com"]}


def test_hosts_sharing_a_secret_must_agree_on_the_issuer(spec_dir: Path) -> None:
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
              credentialName: shared
              certificate:
                issuerRef: {name: letsencrypt, kind: ClusterIssuer}
                issuerType: acme
          b.example.com:
            gateway: edge
            routes: [{destination: {host: web, port: 80}}]
            tls:
              credentialName: shared
              certificate:
                issuerRef: {name: internal-ca}
                issuerType: ca
        """
    with pytest.raises(SpecError) as caught:
        build(spec_dir, textwrap.dedent(text))
    lines = [str(p) for p in caught.value.problems]
    tail = ", which shares credentialName 'shared'"
    assert lines == [
        f"{spec_dir / 'test.yaml'}:20:20: hosts[\"b.example.com\"].tls.certificate.issuerRef: differs from host 'a.example.com'{tail}",
        f"{spec_dir / 'test.yaml'}:21:21: hosts[\"b.example.com\"].tls.certificate.issuerType: differs from host 'a.example.com'{tail}",
    ]


def test_explicit_issuer_defaults_agree_with_omitted_ones(spec_dir: Path) -> None:
    explicit = {"issuerRef": {"name": "ca", "kind": "Issuer", "group": "cert-manager.io"}, "issuerType": "ca"}
    implicit = {"issuerRef": {"name": "ca"}, "issuerType": "ca"}
    data = spec(
        {
            "a.example.com": {"tls": {"credentialName": "s", "certificate": explicit}},
            "b.example.com": {"tls": {"credentialName": "s", "certificate": implicit}},
        }
    )
    bundle = build(spec_dir, data)
    assert find(bundle.objects, "Certificate", "s")["spec"]["issuerRef"] == explicit["issuerRef"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"duration": "30m"}, "duration: must be at least 1h (cert-manager's minimum), got '30m'"),
        ({"renewBefore": "1m"}, "renewBefore: must be at least 5m (cert-manager's minimum), got '1m'"),
        ({"duration": "24h", "renewBefore": "1440m"}, "renewBefore: must be shorter than duration 24h, got '1440m'"),
        ({"renewBefore": "2160h"}, "renewBefore: must be shorter than duration 2160h (the default), got '2160h'"),
        ({"duration": "90d"}, "duration: invalid value, got '90d'; expected a Go duration such as 2160h or 1h30m"),
    ],
)
def test_certificate_durations_follow_cert_manager(spec_dir: Path, extra: dict[str, str], message: str) -> None:
    errors = spec_errors(
        spec_dir, spec({"a.example.com": {"tls": {"credentialName": "a", "certificate": _certificate(**extra)}}})
    )
    assert [e.split(": ", 1)[1] for e in errors] == [f'hosts["a.example.com"].tls.certificate.{message}']


def test_no_certificate_for_the_catch_all_host(spec_dir: Path) -> None:
    errors = spec_errors(spec_dir, spec({"*": {"tls": {"credentialName": "a", "certificate": _certificate()}}}))
    assert [e.split(": ", 1)[1] for e in errors] == ["hosts[\"*\"].tls.certificate: no certificate can name host '*'"]


def test_no_secret_and_no_key_material_in_the_output(spec_dir: Path) -> None:
    data = spec(
        {
            "a.example.com": {
                "tls": {"credentialName": "a", "certificate": _certificate()},
                "mtls": {"caSource": "cacert-secret"},
            }
        },
        inventory=[_cacert("a")],
    )
    bundle = build(spec_dir, data)
    assert sorted(o.request.kind for o in bundle.objects) == ["Certificate", "Gateway", "VirtualService"]
    everything = b"".join(bundle.files.values()).decode()
    for needle in ("kind: Secret", "PRIVATE KEY", "tls.key", "privateKey", "stringData"):
        assert needle not in everything


def test_output_is_byte_identical_whatever_the_host_order(spec_dir: Path, tmp_path: Path) -> None:
    hosts = {
        "b.example.com": {"tls": {"credentialName": "b", "certificate": _certificate()}},
        "a.example.com": {"tls": {"credentialName": "a"}, "redirect": True},
        "c.example.com": {"http": False, "tls": {"credentialName": "b"}},
    }
    first = build(spec_dir, spec(hosts)).files
    again = build(spec_dir, spec(hosts)).files
    reordered = build(tmp_path / "other", spec(dict(reversed(list(hosts.items()))))).files
    assert first == again
    # provenance names the spec file, which is the same relative path in both folders
    assert {k: v.replace(b"other/", b"environments/") for k, v in reordered.items()} == first


# property: whatever hosts share a Gateway, the plan either has unique port names or validation names the clash

_LABELS = st.sampled_from(["api", "web", "shop", "x"])
_HOSTS = st.lists(
    st.tuples(
        _LABELS, st.sampled_from(["a.io", "b.io"]), st.sampled_from([None, "https", "https-web", "http", "tls-x"])
    ),
    min_size=1,
    max_size=6,
    unique_by=lambda t: (t[0], t[1]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=_HOSTS)
def test_any_set_of_hosts_gets_unique_port_names_or_a_located_error(
    spec_dir: Path, rows: list[tuple[str, str, str | None]]
) -> None:
    hosts = {}
    for label, domain, server_name in rows:
        tls: dict[str, Any] = {"credentialName": f"{label}-{domain[0]}"}
        if server_name:
            tls["serverName"] = server_name
        hosts[f"{label}.{domain}"] = {"tls": tls}
    # the naming rule, restated: serverName, else `https` alone, else `https-<first label>`
    wanted = [name or ("https" if len(rows) == 1 else f"https-{label}") for label, _domain, name in rows]
    clash = len(set(wanted)) < len(wanted) or "http" in wanted
    pipeline = Pipeline(Options(), pm=create_manager(entry_points=False))
    path = write_spec(spec_dir, spec(hosts))
    problems: list[str] = []
    try:
        loaded = pipeline.load(path, spec_dir)
    except SpecError as exc:
        problems = [str(p) for p in exc.problems]
    assert bool(problems) == clash, problems
    if problems:
        event("validation named a clash")
        for problem in problems:
            assert re.fullmatch(
                r".*test\.yaml:\d+:\d+: hosts\[\"[a-z.]+\"\]\.tls(\.serverName)?: "
                r"(HTTPS port name '[a-z-]+' is already used by host '[a-z.]+' on Gateway 'edge'"
                r"|port name 'http' is reserved for the Gateway's HTTP servers)",
                problem,
            ), problem
        return
    event("unique port names")
    gateway = pipeline.plan(loaded).get("Gateway", "edge", "shop")
    assert gateway is not None
    names = [s["port"]["name"] for s in gateway.values["servers"]]
    assert names == ["http", *(n for _h, n in sorted(zip(hosts, wanted, strict=True)))]
    assert len(set(names)) == len(names)


# the rendered objects against the upstream CRDs (served versions' openAPIV3Schema)


def _crd_schema(file: str, kind: str, version: str) -> dict[str, Any]:
    if not CRDS.is_dir():
        pytest.skip(f"upstream CRDs not found at {CRDS} (shared/reference is not beside the repository)")
    for doc in yaml.safe_load_all((CRDS / file).read_text(encoding="utf-8")):
        if doc and doc["spec"]["names"]["kind"] == kind:
            for v in doc["spec"]["versions"]:
                if v["name"] == version and v["served"]:
                    return dict(v["schema"]["openAPIV3Schema"])
    raise AssertionError(f"{file} serves no {kind} {version}")


def test_rendered_certificate_and_gateway_satisfy_the_upstream_crds(spec_dir: Path) -> None:
    data = spec(
        {
            "a.example.com": {
                "tls": {
                    "credentialName": "a",
                    "minProtocolVersion": "TLSV1_2",
                    "cipherSuites": ["AES256-SHA"],
                    "certificate": _certificate(duration="2160h", renewBefore="360h"),
                },
                "redirect": True,
            },
            "*.example.org": {
                "tls": {"credentialName": "w", "certificate": _certificate()},
                "mtls": {"mode": "OPTIONAL_MUTUAL", "caSource": "cacert-secret"},
            },
        },
        istio={"version": "1.17"},
        inventory=[_cacert("w")],
    )
    bundle = build(spec_dir, data)
    certificate = _crd_schema("cert-manager.io_certificates.yaml", "Certificate", "v1")
    gateway = _crd_schema("istio-crd-all.gen.yaml", "Gateway", "v1beta1")
    checked = 0
    for obj in bundle.objects:
        schema = {"Certificate": certificate, "Gateway": gateway}.get(obj.request.kind)
        if schema is not None:
            jsonschema.validate(obj.obj, schema)
            checked += 1
    assert checked == 3


def test_a_certificate_the_crd_rejects_is_caught_by_the_same_check() -> None:
    # the check above can fail: a Certificate without issuerRef breaks the CRD's required list
    schema = _crd_schema("cert-manager.io_certificates.yaml", "Certificate", "v1")
    with pytest.raises(jsonschema.ValidationError, match="'issuerRef' is a required property"):
        jsonschema.validate(
            {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "spec": {"secretName": "a"}}, schema
        )
