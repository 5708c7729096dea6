"""`gwpipe analyze` checks structure first: one IST0106 per mistake, with the dotted field, and no cascade."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from gwpipe.cli.main import main

GATEWAY = """\
apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: public
  namespace: shop
spec:
  selector:
    istio: ingressgateway
  servers:
  - port:
      number: 443
      name: https
      protocol: HTTPS
    hosts:
    - shop.example.com
    tls:
      mode: SIMPLE
      credentialName: shop-cert
"""
ALLOWED_MODES = "PASSTHROUGH, SIMPLE, MUTUAL, AUTO_PASSTHROUGH, ISTIO_MUTUAL, OPTIONAL_MUTUAL"


def _analyze(tmp_path: Path, text: str, *args: str) -> tuple[int, list[str]]:
    (tmp_path / "in.yaml").write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["analyze", str(tmp_path / "in.yaml"), *args])
    return result.exit_code, result.output.splitlines()


def _line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def _inventory(tmp_path: Path, entries: str) -> str:
    path = tmp_path / "inventory.yaml"
    path.write_text(f"inventory: {entries}\n", encoding="utf-8")
    return str(path)


INGRESS_WORKLOAD = (
    "[{kind: Workload, namespace: istio-system, name: istio-ingressgateway, labels: {istio: ingressgateway}, "
    "ports: [{port: 443}]}]"
)


def test_files_alone_assume_no_gateway_workload_and_skip_its_analyzers(tmp_path: Path) -> None:
    # istioctl analyze --use-kube=false adds no default ingress gateway and skips the selector and Secret analyzers
    assert _analyze(tmp_path, GATEWAY) == (0, ["no findings"])


def test_a_valid_gateway_gets_to_the_analyzers(tmp_path: Path) -> None:
    # the inventory's ingress gateway runs in istio-system, where the credential Secret is looked for
    code, lines = _analyze(tmp_path, GATEWAY, "--inventory", _inventory(tmp_path, INGRESS_WORKLOAD))
    assert code == 1
    assert lines == [
        f"{tmp_path / 'in.yaml'}:{_line_of(GATEWAY, 'mode: SIMPLE')}: IST0101 (Error) Gateway shop/public: "
        'Referenced credentialName not found: "shop-cert" (looked in namespace istio-system, '
        "where the gateway workload runs)"
    ]


def test_with_an_empty_inventory_no_workload_carries_the_selector(tmp_path: Path) -> None:
    code, lines = _analyze(tmp_path, GATEWAY, "--inventory", _inventory(tmp_path, "[]"))
    assert code == 1
    assert lines == [
        f"{tmp_path / 'in.yaml'}:{_line_of(GATEWAY, 'istio: ingressgateway')}: IST0101 (Error) Gateway shop/public: "
        'Referenced selector not found: "istio=ingressgateway"'
    ]


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        (
            "mode: SIMPLE",
            "mode: STRICT",
            "mode:",
            f"spec.servers[0].tls.mode: unsupported value, got 'STRICT'; allowed: {ALLOWED_MODES}",
        ),
        (
            "mode: SIMPLE",
            "mode: SIMPEL",
            "mode:",
            f"spec.servers[0].tls.mode: unsupported value, got 'SIMPEL'; allowed: {ALLOWED_MODES}",
        ),
        (
            "  selector:\n    istio: ingressgateway",
            "  selector:\n  - istio: ingressgateway",
            "selector:",
            "spec.selector: expected object, got array",
        ),
        ("  servers:", "  sever:", "sever:", "spec.sever: unknown field; did you mean 'servers'?"),
        (
            "    hosts:\n    - shop.example.com",
            '    hosts: "a"',
            "hosts:",
            "spec.servers[0].hosts: expected array, got string",
        ),
    ],
    ids=["tls-mode-strict", "tls-mode-simpel", "selector-list", "sever", "hosts-string"],
)
def test_each_structural_mistake_gives_exactly_one_ist0106(
    tmp_path: Path, old: str, new: str, needle: str, message: str
) -> None:
    text = GATEWAY.replace(old, new)
    assert text != GATEWAY
    code, lines = _analyze(tmp_path, text)
    assert code == 1
    where = f"{tmp_path / 'in.yaml'}:{_line_of(text, needle)}"
    assert lines == [f"{where}: IST0106 (Error) Gateway shop/public: {message}"]


def test_a_misspelt_field_inside_a_server_names_it_and_the_missing_one(tmp_path: Path) -> None:
    text = GATEWAY.replace("    hosts:\n", "    hostz:\n")
    code, lines = _analyze(tmp_path, text)
    assert code == 1
    file = tmp_path / "in.yaml"
    assert lines == [
        f"{file}:{_line_of(text, '- port:')}: IST0106 (Error) Gateway shop/public: "
        "spec.servers[0].hosts: required field missing",
        f"{file}:{_line_of(text, 'hostz:')}: IST0106 (Error) Gateway shop/public: "
        "spec.servers[0].hostz: unknown field; did you mean 'hosts'?",
    ]


def test_cel_rules_of_the_catalog_run_too(tmp_path: Path) -> None:
    text = GATEWAY.replace("credentialName: shop-cert", "credentialName: shop-cert\n      credentialNames: [a]")
    code, lines = _analyze(tmp_path, text, "-o", "json")
    assert code == 1
    found = json.loads("\n".join(lines))
    assert [(f["code"], f["message"]) for f in found] == [
        ("GWP0100", "spec.servers[0].tls: only one of credentialName or credentialNames can be set")
    ]


def test_other_kinds_are_checked_against_their_schemas(tmp_path: Path) -> None:
    text = """\
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: shop}
spec:
  parentRefs: [{name: gw}]
  rules: [{matches: [{path: {type: Prefx, value: /}}]}]
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: c, namespace: shop}
spec: {secretName: c, issuerRef: {name: i}, dnsNames: example.com}
---
apiVersion: v1
kind: Service
metadata: {name: s, namespace: shop}
spec: {ports: [{port: "80"}]}
"""
    code, lines = _analyze(tmp_path, text, "-o", "json")
    assert code == 1
    found = [(f["kind"], f["code"], f["message"]) for f in json.loads("\n".join(lines))]
    assert found == [
        (
            "HTTPRoute",
            "GWP0100",
            "spec.rules[0].matches[0].path: type must be one of ['Exact', 'PathPrefix', 'RegularExpression']",
        ),
        (
            "HTTPRoute",
            "IST0106",
            "spec.rules[0].matches[0].path.type: unsupported value, got 'Prefx'; "
            "allowed: Exact, PathPrefix, RegularExpression",
        ),
        ("Certificate", "IST0106", "spec.dnsNames: expected array, got string"),
        ("Service", "IST0106", "spec.ports[0].port: expected integer, got string"),
    ]


def test_istio_version_picks_the_schemas(tmp_path: Path) -> None:
    text = """\
apiVersion: extensions.istio.io/v1alpha1
kind: TrafficExtension
metadata: {name: t, namespace: shop}
spec: {}
"""
    _, new = _analyze(tmp_path, text, "--istio-version", "1.30")
    code_old, old = _analyze(tmp_path, text, "--istio-version", "1.26")
    assert not any("no loaded CRD" in line for line in new)
    assert code_old == 1
    assert old == [
        f"{tmp_path / 'in.yaml'}:1: IST0106 (Error) TrafficExtension shop/t: "
        "no loaded CRD of group extensions.istio.io serves kind TrafficExtension"
    ]


def test_crds_option_overrides_the_catalog(tmp_path: Path) -> None:
    crd = tmp_path / "crds" / "gateway.yaml"
    crd.parent.mkdir()
    crd.write_text(
        """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gateways.networking.istio.io}
spec:
  group: networking.istio.io
  names: {kind: Gateway, plural: gateways}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, x-kubernetes-preserve-unknown-fields: true}
""",
        encoding="utf-8",
    )
    text = GATEWAY.replace("mode: SIMPLE", "mode: STRICT")
    assert _analyze(tmp_path, text)[0] == 1
    _, lines = _analyze(tmp_path, text, "--crds", str(crd.parent), "--inventory", _inventory(tmp_path, "[]"))
    assert [line.split(": ", 1)[1] for line in lines] == [
        'IST0101 (Error) Gateway shop/public: Referenced selector not found: "istio=ingressgateway"'
    ]


def test_unreachable_crd_url_is_one_error_line_and_a_hint(tmp_path: Path) -> None:
    url = "http://127.0.0.1:9/releases/v1.2.3/crds.yaml"
    (tmp_path / "in.yaml").write_text(GATEWAY, encoding="utf-8")
    result = CliRunner().invoke(main, ["analyze", str(tmp_path / "in.yaml"), "--crds", url])
    assert result.exit_code == 1
    lines = result.stderr.splitlines() if result.stderr_bytes is not None else result.output.splitlines()
    assert lines[0] == f"error: {url}: cannot fetch: cannot connect (offline, or the host is unreachable)"
    assert lines[1].startswith("hint: --crds[0] lists this URL; fetch it once online (it is then cached)")
    assert len(lines) == 2
