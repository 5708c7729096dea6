"""The walkthrough's TCP and operations manifests, reproduced from the examples/walkthrough specs 06-10."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest
from walkthrough import assert_contains, manifest

from gwpipe.engine import Bundle
from gwpipe.testing import build, find

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "walkthrough"


def render(tmp_path: Path, example: str) -> Bundle:
    """Build an example spec exactly as `gwpipe render examples/walkthrough/<example>.yaml` would."""
    return build(tmp_path, (EXAMPLES / f"{example}.yaml").read_text(encoding="utf-8"), name=example)


def kinds(bundle: Bundle) -> list[str]:
    return sorted(o.ref for o in bundle.objects)


def test_tcp_gateway_on_the_default_ingress_gateway(tmp_path: Path) -> None:
    bundle = render(tmp_path, "06-tcp")
    assert_contains(manifest("Gateway", "echo-tcp-gateway", 0), find(bundle.objects, "Gateway", "echo-tcp-gateway"))


def test_tcp_virtual_service_routes_port_31400_to_the_echo_service(tmp_path: Path) -> None:
    bundle = render(tmp_path, "06-tcp")
    vs = find(bundle.objects, "VirtualService", "tcp-echo-vs-from-gw")
    assert_contains(manifest("VirtualService", "tcp-echo-vs-from-gw"), vs)
    # the walkthrough applies it with -n istioinaction; gwpipe writes the namespace down
    assert vs["metadata"]["namespace"] == "istioinaction"
    assert "http" not in vs["spec"]


def test_split_gateway_istio_operator_matches_the_walkthrough(tmp_path: Path) -> None:
    bundle = render(tmp_path, "07-gateway-split")
    assert_contains(
        manifest("IstioOperator", "my-user-gateway-install"),
        find(bundle.objects, "IstioOperator", "my-user-gateway-install"),
    )


def test_split_gateway_tcp_gateway_selects_the_new_workload(tmp_path: Path) -> None:
    bundle = render(tmp_path, "07-gateway-split")
    assert_contains(manifest("Gateway", "echo-tcp-gateway", 1), find(bundle.objects, "Gateway", "echo-tcp-gateway"))
    assert kinds(bundle) == [
        "Gateway istioinaction/echo-tcp-gateway",
        "IstioOperator istioinaction/my-user-gateway-install",
        "VirtualService istioinaction/tcp-echo-vs-from-gw",
    ]


def test_injected_gateway_deployment_matches_the_walkthrough_and_gets_a_service(tmp_path: Path) -> None:
    bundle = render(tmp_path, "08-gateway-injection")
    deployment = find(bundle.objects, "Deployment", "my-user-gateway-injected")
    assert_contains(manifest("Deployment", "my-user-gateway-injected"), deployment)
    service: dict[str, Any] = find(bundle.objects, "Service", "my-user-gateway-injected")
    # the walkthrough checks `kubectl get deploy,svc,ep my-user-gateway-injected`: the Service selects the pods
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]


def test_access_logging_telemetry_matches_the_walkthrough(tmp_path: Path) -> None:
    bundle = render(tmp_path, "09-access-logging")
    telemetry = find(bundle.objects, "Telemetry", "ingress-gateway")
    assert_contains(manifest("Telemetry", "ingress-gateway"), telemetry)
    assert telemetry["apiVersion"] == "telemetry.istio.io/v1alpha1"


def test_pilot_filter_control_plane_matches_the_walkthrough(tmp_path: Path) -> None:
    bundle = render(tmp_path, "10-pilot-filter")
    operator = find(bundle.objects, "IstioOperator", "control-plane")
    assert_contains(manifest("IstioOperator", "control-plane"), operator)
    assert operator["metadata"]["namespace"] == "istio-system"


@pytest.mark.parametrize(
    "example", ["06-tcp", "07-gateway-split", "08-gateway-injection", "09-access-logging", "10-pilot-filter"]
)
def test_examples_render_without_error_findings(tmp_path: Path, example: str) -> None:
    bundle = render(tmp_path, example)
    assert [f for f in bundle.findings if f.level == "Error"] == []


CRDS = Path(__file__).resolve().parent.parent.parent / "shared" / "reference" / "crds" / "istio-crd-all.gen.yaml"


@functools.cache
def _load_crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    import yaml

    out = {}
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    for doc in yaml.load_all(CRDS.read_text(encoding="utf-8"), Loader=loader):
        if not doc:
            continue
        for version in doc["spec"]["versions"]:
            key = (f"{doc['spec']['group']}/{version['name']}", doc["spec"]["names"]["kind"])
            out[key] = version["schema"]["openAPIV3Schema"]
    return out


def crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """openAPIV3Schema per (apiVersion, kind) from Istio's upstream CRDs."""
    if not CRDS.exists():
        pytest.skip(f"Istio CRDs not found at {CRDS} (shared/reference is not beside the repository)")
    return _load_crd_schemas()


def schema_errors(obj: dict[str, Any]) -> list[str]:
    import jsonschema

    schema = crd_schemas()[(obj["apiVersion"], obj["kind"])]
    return sorted(e.message for e in jsonschema.Draft7Validator(schema).iter_errors({"spec": obj["spec"]}))


def test_the_crd_schema_check_rejects_a_tcp_server_without_a_port_number() -> None:
    broken = {
        "apiVersion": "networking.istio.io/v1beta1",
        "kind": "Gateway",
        "spec": {"servers": [{"port": {"number": "31400x"}, "hosts": ["*"]}]},
    }
    assert schema_errors(broken) != []


@pytest.mark.parametrize("example", ["06-tcp", "07-gateway-split", "09-access-logging", "10-pilot-filter"])
@pytest.mark.parametrize("istio", ["1.17", "1.28"])
def test_istio_objects_satisfy_the_upstream_crd_schema(tmp_path: Path, example: str, istio: str) -> None:
    import yaml

    schemas = crd_schemas()
    data = yaml.safe_load((EXAMPLES / f"{example}.yaml").read_text(encoding="utf-8"))
    data["istio"]["version"] = istio
    bundle = build(tmp_path, data, name=example)
    checked = [o for o in bundle.objects if (o.obj["apiVersion"], o.obj["kind"]) in schemas]
    assert checked, "the example renders no Istio object to check"
    for obj in checked:
        assert schema_errors(obj.obj) == [], obj.ref


WRITTEN = {
    "06-tcp": ["istioinaction/gateway-echo-tcp-gateway.yaml", "istioinaction/virtualservice-tcp-echo-vs-from-gw.yaml"],
    "07-gateway-split": [
        "istioinaction/gateway-echo-tcp-gateway.yaml",
        "istioinaction/istiooperator-my-user-gateway-install.yaml",
        "istioinaction/virtualservice-tcp-echo-vs-from-gw.yaml",
    ],
    "08-gateway-injection": [
        "istioinaction/deployment-my-user-gateway-injected.yaml",
        "istioinaction/gateway-echo-tcp-gateway.yaml",
        # the ServiceAccount the istio/gateway chart would create, allowed to read the namespace's Secrets
        "istioinaction/role-my-user-gateway-injected.yaml",
        "istioinaction/rolebinding-my-user-gateway-injected.yaml",
        "istioinaction/service-my-user-gateway-injected.yaml",
        "istioinaction/serviceaccount-my-user-gateway-injected.yaml",
        "istioinaction/virtualservice-tcp-echo-vs-from-gw.yaml",
    ],
    "09-access-logging": [
        "istio-system/telemetry-ingress-gateway.yaml",
        "istioinaction/gateway-coolstore-gateway.yaml",
        "istioinaction/virtualservice-webapp-vs-from-gw.yaml",
    ],
    "10-pilot-filter": [
        "istio-system/istiooperator-control-plane.yaml",
        "istioinaction/gateway-echo-tcp-gateway.yaml",
        "istioinaction/virtualservice-tcp-echo-vs-from-gw.yaml",
    ],
}


@pytest.mark.parametrize("example", sorted(WRITTEN))
def test_gwpipe_render_writes_each_example_to_a_folder(
    tmp_path: Path, example: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from gwpipe.cli.main import main

    monkeypatch.chdir(EXAMPLES.parent.parent)
    result = CliRunner().invoke(main, ["render", f"examples/walkthrough/{example}.yaml", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    written = sorted(p.relative_to(tmp_path / example).as_posix() for p in (tmp_path / example).rglob("*.yaml"))
    assert written == sorted([*WRITTEN[example], "kustomization.yaml"])
