"""Gateways terminating TLS need a ServiceAccount allowed to read Secrets: injected ones get it, others are checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gwpipe.testing import build, find

from .tls_specs import spec as tls_spec

PORTS = [{"name": "https", "port": 443, "targetPort": 8443}]


def spec(workload: dict[str, Any]) -> dict[str, Any]:
    """One TLS host on Gateway `edge`, served by workload `team-gateway` in `team`."""
    workloads = {"team-gateway": {"namespace": "team", "labels": {"istio": "team-gateway"}, "ports": PORTS, **workload}}
    return tls_spec(
        {"shop.example.com": {"tls": {"credentialName": "shop-cert"}}},
        workloads=workloads,
        gateways={"edge": {"workload": "team-gateway"}},
    )


def secret_access(bundle: Any) -> list[str]:
    return [f"{f.level} {f.resource}: {f.message}" for f in bundle.findings if f.code == "GWP0802"]


def test_an_injected_gateway_gets_the_chart_rbac_and_its_own_service_account(spec_dir: Path) -> None:
    bundle = build(spec_dir, spec({"install": {"form": "injection"}}))
    role = find(bundle.objects, "Role", "team-gateway")
    assert role["metadata"]["namespace"] == "team"
    assert role["rules"] == [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "watch", "list"]}]
    binding = find(bundle.objects, "RoleBinding", "team-gateway")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "team-gateway"}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "team-gateway", "namespace": "team"}]
    assert find(bundle.objects, "ServiceAccount", "team-gateway")["metadata"]["namespace"] == "team"
    deployment = find(bundle.objects, "Deployment", "team-gateway")
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == "team-gateway"
    assert secret_access(bundle) == []


def test_a_hand_written_gateway_terminating_tls_is_warned_about(spec_dir: Path) -> None:
    assert secret_access(build(spec_dir, spec({}))) == [
        "Warning Gateway shop/edge: terminates TLS on workload 'team-gateway', but nothing lets its ServiceAccount "
        "get, watch and list Secrets in namespace 'team' (the Role the istio/gateway chart creates): istiod will "
        "not send it the certificates; install it with gwpipe (workloads.team-gateway.install) or, when such a "
        "Role exists, say so with workloads.team-gateway.readsSecrets: true"
    ]


@pytest.mark.parametrize("workload", [{"readsSecrets": True}, {"install": {"form": "helm"}}])
def test_a_declared_role_or_an_installer_that_makes_one_silences_the_warning(
    spec_dir: Path, workload: dict[str, Any]
) -> None:
    assert secret_access(build(spec_dir, spec(workload))) == []


def test_the_injected_gateway_without_its_role_is_warned_about(spec_dir: Path) -> None:
    from gwpipe.hooks.specs import hookimpl

    class DropRole:
        @hookimpl(trylast=True)
        def gwpipe_modify_resources(self, spec: Any, resources: Any) -> None:
            resources.remove(resources.get("Role", "team-gateway", "team"))

    bundle = build(spec_dir, spec({"install": {"form": "injection"}}), plugins=[DropRole()])
    assert [m.split(":", 1)[0] for m in secret_access(bundle)] == ["Warning Gateway shop/edge"]


def test_the_default_ingress_gateway_of_an_istio_install_is_trusted(spec_dir: Path) -> None:
    data = tls_spec({"shop.example.com": {"tls": {"credentialName": "shop-cert"}}})
    assert secret_access(build(spec_dir, data)) == []
