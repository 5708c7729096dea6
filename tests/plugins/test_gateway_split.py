"""The gateway_split plugin: a second gateway workload as IstioOperator, injected Deployment or Flux HelmRelease."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from gwpipe.errors import SpecError
from gwpipe.testing import build, find

TCP_PORT = {"name": "tcp", "port": 31400, "targetPort": 31400, "nodePort": 30007}


def spec(install: dict[str, Any], ports: list[dict[str, Any]] | None = None, **workload: Any) -> dict[str, Any]:
    """A spec with one installed workload `team-gateway` in `team`, and a TCP service on it."""
    return {
        "istio": {"version": "1.24"},
        "namespace": "team",
        "workloads": {
            "team-gateway": {
                "namespace": "team",
                "labels": {"istio": "team-gateway"},
                "ports": [TCP_PORT] if ports is None else ports,
                "install": install,
                **workload,
            }
        },
        "gateways": {"edge": {"workload": "team-gateway"}},
        "tcp": {"echo": {"gateway": "edge", "port": 31400, "destination": {"host": "echo", "port": 2701}}},
    }


def spec_errors(folder: Path, data: dict[str, Any]) -> list[str]:
    with pytest.raises(SpecError) as caught:
        build(folder, data)
    return [str(p).split("test.yaml:", 1)[1] for p in caught.value.problems]


def refs(bundle: Any) -> list[str]:
    return sorted(o.ref for o in bundle.objects)


def test_istiooperator_form_installs_only_the_new_gateway_by_default(spec_dir: Path) -> None:
    bundle = build(spec_dir, spec({"form": "istiooperator"}))
    iop = find(bundle.objects, "IstioOperator", "team-gateway-install")
    assert iop["apiVersion"] == "install.istio.io/v1alpha1"
    # profile empty: istioctl installs nothing but the listed component, the control plane stays as it is
    assert iop["spec"] == {
        "profile": "empty",
        "components": {
            "ingressGateways": [
                {
                    "name": "team-gateway",
                    "namespace": "team",
                    "enabled": True,
                    "label": {"istio": "team-gateway"},
                    "k8s": {"service": {"ports": [{**TCP_PORT, "protocol": "TCP"}]}},
                }
            ]
        },
    }


def test_istiooperator_options_disable_the_default_gateway_and_set_autoscaling_revision_and_type(
    spec_dir: Path,
) -> None:
    install = {
        "disableDefault": True,
        "autoscale": False,
        "revision": "canary",
        "serviceType": "NodePort",
        "name": "team-iop",
    }
    iop = find(build(spec_dir, spec(install)).objects, "IstioOperator", "team-iop")["spec"]
    assert iop["revision"] == "canary"
    assert iop["values"] == {"gateways": {"istio-ingressgateway": {"autoscaleEnabled": False}}}
    gateways = iop["components"]["ingressGateways"]
    assert gateways[0] == {"name": "istio-ingressgateway", "enabled": False}
    assert gateways[1]["k8s"]["service"]["type"] == "NodePort"


def test_injection_form_emits_a_deployment_the_injector_completes_and_its_service(spec_dir: Path) -> None:
    ports = [{"name": "http2", "port": 80}, TCP_PORT]
    bundle = build(spec_dir, spec({"form": "injection"}, ports=ports))
    assert refs(bundle) == [
        "Deployment team/team-gateway",
        "Gateway team/edge",
        "Role team/team-gateway",
        "RoleBinding team/team-gateway",
        "Service team/team-gateway",
        "ServiceAccount team/team-gateway",
        "VirtualService team/echo",
    ]
    deployment = find(bundle.objects, "Deployment", "team-gateway")
    pod = deployment["spec"]["template"]
    assert deployment["spec"]["selector"] == {"matchLabels": {"istio": "team-gateway"}}
    # the webhooks' objectSelector reads the label; the annotation alone only works in an injection-enabled namespace
    assert pod["metadata"]["labels"] == {"istio": "team-gateway", "sidecar.istio.io/inject": "true"}
    assert pod["metadata"]["annotations"] == {"inject.istio.io/templates": "gateway", "sidecar.istio.io/inject": "true"}
    assert pod["spec"] == {
        "serviceAccountName": "team-gateway",
        "containers": [{"name": "istio-proxy", "image": "auto"}],
    }
    service = find(bundle.objects, "Service", "team-gateway")["spec"]
    # protocol is written out: IST0162 ignores Service ports without it
    assert service == {
        "type": "LoadBalancer",
        "selector": {"istio": "team-gateway"},
        "ports": [
            {"name": "http2", "port": 80, "targetPort": 80, "protocol": "TCP"},
            {**TCP_PORT, "protocol": "TCP"},
        ],
    }


@pytest.mark.parametrize(
    ("revision", "pod_extra", "namespace_labels"),
    [
        (None, {}, {"istio-injection": "enabled"}),
        ("canary", {"istio.io/rev": "canary"}, {"istio.io/rev": "canary"}),
    ],
)
def test_injection_namespace_carries_the_label_the_webhook_selects(
    spec_dir: Path, revision: str | None, pod_extra: dict[str, str], namespace_labels: dict[str, str]
) -> None:
    install: dict[str, Any] = {"form": "injection", "createNamespace": True}
    if revision:
        install["revision"] = revision
    bundle = build(spec_dir, spec(install))
    namespace = find(bundle.objects, "Namespace", "team")
    assert "namespace" not in namespace["metadata"]
    labels = namespace["metadata"]["labels"]
    assert {k: v for k, v in labels.items() if k != "app.kubernetes.io/managed-by"} == namespace_labels
    pod_labels = find(bundle.objects, "Deployment", "team-gateway")["spec"]["template"]["metadata"]["labels"]
    assert pod_labels == {"istio": "team-gateway", "sidecar.istio.io/inject": "true", **pod_extra}


def test_helm_form_is_a_flux_helmrelease_of_the_gateway_chart_for_the_target_minor(spec_dir: Path) -> None:
    install = {"form": "helm", "autoscale": False, "repository": {"name": "istio-charts", "namespace": "infra"}}
    release = find(build(spec_dir, spec(install)).objects, "HelmRelease", "team-gateway")
    assert release["apiVersion"] == "helm.toolkit.fluxcd.io/v2"
    assert release["metadata"]["namespace"] == "team"
    assert release["spec"]["chart"] == {
        "spec": {
            "chart": "gateway",
            "version": "1.24.x",
            "sourceRef": {"kind": "HelmRepository", "name": "istio-charts", "namespace": "infra"},
        }
    }
    assert release["spec"]["values"] == {
        "name": "team-gateway",
        "labels": {"istio": "team-gateway"},
        "autoscaling": {"enabled": False},
        "service": {"type": "LoadBalancer", "ports": [{**TCP_PORT, "protocol": "TCP"}]},
    }


def test_helm_repository_defaults_to_istio_in_flux_system(spec_dir: Path) -> None:
    release = find(build(spec_dir, spec({"form": "helm"})).objects, "HelmRelease", "team-gateway")
    assert release["spec"]["chart"]["spec"]["sourceRef"] == {
        "kind": "HelmRepository",
        "name": "istio",
        "namespace": "flux-system",
    }
    assert "autoscaling" not in release["spec"]["values"]


def test_options_of_another_form_are_refused_with_their_location(spec_dir: Path) -> None:
    errors = spec_errors(spec_dir, spec({"form": "injection", "disableDefault": True, "repository": {"name": "x"}}))
    assert [re.sub(r"^\d+:\d+: ", "", e) for e in errors] == [
        "workloads.team-gateway.install.disableDefault: only applies to form istiooperator, got form 'injection'",
        "workloads.team-gateway.install.repository: only applies to form helm, got form 'injection'",
    ]


def test_disabling_the_default_gateway_from_the_default_gateway_is_refused(spec_dir: Path) -> None:
    data = spec({"disableDefault": True})
    data["workloads"] = {"istio-ingressgateway": data["workloads"]["team-gateway"]}
    data["gateways"]["edge"]["workload"] = "istio-ingressgateway"
    errors = spec_errors(spec_dir, data)
    assert any(
        e.endswith(
            "workloads.istio-ingressgateway.install.disableDefault: would disable workload 'istio-ingressgateway' itself"
        )
        for e in errors
    ), errors


def test_istioctl_refuses_privileged_target_ports_so_gwpipe_does_too(spec_dir: Path) -> None:
    ports = [{"name": "http2", "port": 80}, {"name": "https", "port": 443, "targetPort": 443}, TCP_PORT]
    errors = spec_errors(spec_dir, spec({"form": "istiooperator"}, ports=ports))
    assert [re.sub(r"^\d+:\d+: ", "", e) for e in errors] == [
        "workloads.team-gateway.ports[0].port: istioctl refuses a gateway port of 1024 or less without targetPort "
        "(the gateway does not run as root), got 80",
        "workloads.team-gateway.ports[1].targetPort: istioctl refuses a gateway target port below 1024 "
        "(the gateway does not run as root), got 443",
    ]
    # the injected gateway binds low ports through the sysctl the gateway template sets
    build(spec_dir, spec({"form": "injection"}, ports=ports))


def test_port_names_need_a_protocol_prefix_and_must_be_unique(spec_dir: Path) -> None:
    ports = [
        {"name": "echo", "port": 31400, "targetPort": 31400},
        {"name": "tcp-echo", "port": 31401, "targetPort": 31401},
        {"name": "tcp-echo", "port": 31402, "targetPort": 31402},
    ]
    errors = spec_errors(spec_dir, spec({"form": "istiooperator"}, ports=ports))
    assert [re.sub(r"^\d+:\d+: ", "", e) for e in errors] == [
        "workloads.team-gateway.ports[0].name: port name 'echo' does not start with a protocol; allowed: "
        "grpc, grpc-web, http, http2, https, mongo, mysql, redis, tcp, tls, udp",
        "workloads.team-gateway.ports[2].name: port name 'tcp-echo' is already used by ports[1]",
    ]


def test_an_installed_gateway_needs_ports_and_a_namespace_the_injector_serves(spec_dir: Path) -> None:
    data = spec({"form": "injection"}, ports=[])
    data["workloads"]["team-gateway"]["namespace"] = "kube-system"
    data.pop("tcp")
    data.pop("gateways")
    errors = spec_errors(spec_dir, data)
    assert [re.sub(r"^\d+:\d+: ", "", e) for e in errors] == [
        "workloads.team-gateway: namespace 'kube-system' is never injected; an injected gateway cannot run there",
        "workloads.team-gateway.ports: an installed gateway needs at least one Service port",
    ]


def test_two_workloads_cannot_share_one_istiooperator_name(spec_dir: Path) -> None:
    data = spec({"name": "gateways"})
    data["workloads"]["other-gateway"] = {**data["workloads"]["team-gateway"], "labels": {"istio": "other"}}
    errors = spec_errors(spec_dir, data)
    assert any(
        e.endswith(
            "workloads.team-gateway.install.name: IstioOperator 'gateways' is already installed by workload 'other-gateway'"
        )
        for e in errors
    ), errors


def test_a_tcp_port_the_installed_gateway_does_not_expose_is_refused(spec_dir: Path) -> None:
    # the cross-plugin rule: the tcp plugin checks the ports gateway_split will put on the new Service
    data = spec({"form": "injection"}, ports=[{"name": "tcp-other", "port": 9000}])
    errors = spec_errors(spec_dir, data)
    assert [re.sub(r"^\d+:\d+: ", "", e) for e in errors] == [
        "tcp.echo.port: port 31400 is not exposed by the Service of workload 'team-gateway' (TCP ports: 9000)"
    ]


@pytest.mark.parametrize(("version", "warned"), [("1.23", []), ("1.24", ["IstioOperator team/team-gateway-install"])])
def test_istiooperators_are_flagged_as_istioctl_input_from_istio_1_24(
    spec_dir: Path, version: str, warned: list[str]
) -> None:
    data = spec({"form": "istiooperator"})
    data["istio"]["version"] = version
    findings = [f for f in build(spec_dir, data).findings if f.code == "GWP0801"]
    assert [f.resource for f in findings] == warned
    assert all(f.level == "Warning" and "removed in Istio 1.24" in f.message for f in findings)


def test_the_control_plane_istiooperator_is_flagged_too(spec_dir: Path) -> None:
    data = spec({"form": "helm"})
    data["pilot_filter"] = {}
    findings = [f for f in build(spec_dir, data).findings if f.code == "GWP0801"]
    assert [f.resource for f in findings] == ["IstioOperator istio-system/control-plane"]
