"""Checks decidable from the spec run at validate and point at the spec line; mis-indented blocks get one hint."""

from __future__ import annotations

from pathlib import Path

import pytest

from gwpipe.engine import Options, Pipeline
from gwpipe.errors import SpecError
from gwpipe.hooks.manager import create_manager

HEAD = """\
namespace: shop
gateways:
  web:
    selector: {istio: ingressgateway}
hosts:
  shop.example.com:
    gateway: web
    routes:
      - destination: {host: app, port: 80}
"""


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    return Pipeline(Options(), pm=create_manager(entry_points=False))


def problems(pipeline: Pipeline, folder: Path, text: str) -> list[str]:
    (folder / "environments").mkdir(exist_ok=True)
    path = folder / "environments" / "dev.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as caught:
        pipeline.load(path, folder / "environments")
    return [str(p).split("environments/", 1)[1] for p in caught.value.problems]


def test_dns_label_longer_than_63(pipeline: Pipeline, tmp_path: Path) -> None:
    label = "a" * 64
    text = (
        HEAD + f"  {label}.example.com:\n    gateway: web\n    routes:\n      - destination: {{host: app, port: 80}}\n"
    )
    assert problems(pipeline, tmp_path, text) == [
        f'dev.yaml:11:5: hosts["{label}.example.com"]: invalid host name: '
        f"label '{label}' is 64 characters; a DNS label has at most 63"
    ]


def test_all_numeric_top_level_label(pipeline: Pipeline, tmp_path: Path) -> None:
    text = HEAD.replace("shop.example.com", "shop.example.123")
    assert problems(pipeline, tmp_path, text) == [
        "dev.yaml:7:5: hosts[\"shop.example.123\"]: invalid host name: domain name 'shop.example.123' invalid "
        "(top-level label all numeric)"
    ]


def test_regex_by_re2_rules_in_uri_and_headers(pipeline: Pipeline, tmp_path: Path) -> None:
    text = HEAD.replace(
        "      - destination: {host: app, port: 80}\n",
        "      - match:\n"
        "          - uri: {regex: '/api/(?=v1)'}\n"
        "            headers: {x-id: {regex: '(a)\\1'}}\n"
        "          - method: {regex: '[A-Z'}\n"
        "        destination: {host: app, port: 80}\n",
    )
    assert problems(pipeline, tmp_path, text) == [
        'dev.yaml:10:26: hosts["shop.example.com"].routes[0].match[0].uri.regex: '
        "regex '/api/(?=v1)' uses a construct RE2 does not support",
        'dev.yaml:11:37: hosts["shop.example.com"].routes[0].match[0].headers.x-id.regex: '
        "regex '(a)\\\\1' uses a construct RE2 does not support",
        'dev.yaml:12:29: hosts["shop.example.com"].routes[0].match[1].method.regex: '
        "regex '[A-Z' does not compile: unterminated character set at position 0",
    ]


MTLS = (
    HEAD
    + """\
    tls: {credentialName: shop-credential}
    mtls: {mode: MUTUAL}
checks:
  inventory:
    - {kind: Secret, namespace: istio-system, name: shop-credential, keys: [tls.crt, tls.key]}
"""
)


def test_mtls_ca_missing_from_the_inventory_secret(pipeline: Pipeline, tmp_path: Path) -> None:
    assert problems(pipeline, tmp_path, MTLS) == [
        "dev.yaml:11:11: hosts[\"shop.example.com\"].mtls: MUTUAL needs a client CA, but Secret 'shop-credential' "
        "in checks.inventory has no ca.crt or cacert key and there is no Secret 'shop-credential-cacert' "
        "in namespace 'istio-system'"
    ]


CACERT_SECRET = "    - {kind: Secret, namespace: istio-system, name: shop-credential-cacert, keys: [ca.crt]}"


@pytest.mark.parametrize(
    "fix",
    [
        ("keys: [tls.crt, tls.key]", "keys: [tls.crt, tls.key, ca.crt]"),
        ("keys: [tls.crt, tls.key]}", "keys: [tls.crt, tls.key]}\n" + CACERT_SECRET),
        (", keys: [tls.crt, tls.key]", ""),  # keys unknown: the analyzers judge what they see
    ],
)
def test_mtls_ca_present_or_unknown_passes(pipeline: Pipeline, tmp_path: Path, fix: tuple[str, str]) -> None:
    (tmp_path / "environments").mkdir()
    path = tmp_path / "environments" / "dev.yaml"
    path.write_text(MTLS.replace(*fix))
    assert pipeline.load(path, tmp_path / "environments").name == "dev"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (  # tls one level too far left: a host named "tls" with no gateway, no routes and unknown fields
            HEAD + "  tls:\n    credentialName: shop-credential\n    minProtocolVersion: TLSV1_2\n",
            "dev.yaml:11:5: hosts.tls: check indentation: `tls` belongs under `hosts.<name>`",
        ),
        (  # at the top level
            HEAD + "tls:\n  credentialName: shop-credential\n",
            "dev.yaml:11:3: tls: check indentation: `tls` belongs under `hosts.<name>`",
        ),
        (  # too far right, inside the route
            HEAD + "        tls:\n          credentialName: shop-credential\n",
            'dev.yaml:11:11: hosts["shop.example.com"].routes[0].tls: check indentation: `tls` belongs under '
            "`hosts.<name>`",
        ),
        (  # a top-level block under a host
            HEAD + "    workloads:\n      edge: {labels: {istio: x}}\n",
            'dev.yaml:11:7: hosts["shop.example.com"].workloads: check indentation: `workloads` belongs under '
            "the top level",
        ),
    ],
)
def test_one_indentation_hint_instead_of_a_cascade(
    pipeline: Pipeline, tmp_path: Path, text: str, expected: str
) -> None:
    assert problems(pipeline, tmp_path, text) == [expected]


def test_a_typo_stays_a_typo(pipeline: Pipeline, tmp_path: Path) -> None:
    text = HEAD + "    tsl:\n      credentialName: shop-credential\n"
    assert problems(pipeline, tmp_path, text) == [
        "dev.yaml:11:7: hosts[\"shop.example.com\"].tsl: unknown field; did you mean 'tls'?"
    ]
