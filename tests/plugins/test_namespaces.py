"""The namespaces plugin: Namespace manifests never pruned, Argo CD's CreateNamespace option, and what each leaves out."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from gwpipe.errors import SpecError
from gwpipe.testing import build, find
from gwpipe.tree.declared import protected_kinds

from .tls_specs import spec as tls_spec

NEVER_PRUNE = {
    "argocd.argoproj.io/sync-options": "Prune=false,Delete=false",
    "kustomize.toolkit.fluxcd.io/prune": "disabled",
}
GITOPS = {"repoURL": "https://git.example.com/gitops.git"}
DEFAULT_WORKLOAD = {
    "namespace": "istio-system",
    "labels": {"istio": "ingressgateway"},
    "ports": [{"name": "https", "port": 443, "targetPort": 8443}],
}
TCP_WORKLOAD = {
    "tcp-gateway": {
        "namespace": "shop-tcp",
        "labels": {"istio": "tcp-gateway"},
        "ports": [{"name": "tcp-db", "port": 5432}],
        "install": {"form": "injection"},
    }
}


def spec(**top: Any) -> dict[str, Any]:
    """One TLS host in `shop`, its Certificate in istio-system; `top` adds or replaces top-level keys."""
    certificate = {"issuerRef": {"name": "le", "kind": "ClusterIssuer"}, "issuerType": "acme"}
    hosts = {"shop.example.com": {"tls": {"credentialName": "shop-cert", "certificate": certificate}}}
    return {**tls_spec(hosts), **top}


def namespaces(bundle: Any) -> dict[str, dict[str, Any]]:
    return {o.request.name: o.obj for o in bundle.objects if o.request.kind == "Namespace"}


def test_without_the_key_no_namespace_is_written(spec_dir: Path) -> None:
    assert namespaces(build(spec_dir, spec())) == {}


def test_manifests_cover_every_namespace_written_into_and_are_never_pruned(spec_dir: Path) -> None:
    bundle = build(spec_dir, spec(namespaces={"create": "manifests"}))
    written = namespaces(bundle)
    assert sorted(written) == ["istio-system", "shop"]
    for name, obj in written.items():
        assert obj["apiVersion"] == "v1"
        assert obj["metadata"]["name"] == name
        assert "namespace" not in obj["metadata"]
        assert {k: obj["metadata"]["annotations"][k] for k in NEVER_PRUNE} == NEVER_PRUNE
    assert "_cluster/namespace-shop.yaml" in bundle.files


def test_existing_and_always_present_namespaces_get_no_manifest(spec_dir: Path) -> None:
    data = spec(namespace="default", namespaces={"create": "manifests", "existing": ["istio-system"]})
    assert namespaces(build(spec_dir, data)) == {}


def test_argo_applies_namespaces_first_and_the_guards_beat_prune_confirm(spec_dir: Path) -> None:
    data = spec(namespaces={"create": "manifests"}, gitops={**GITOPS, "argocd": {}})
    annotations = namespaces(build(spec_dir, data))["shop"]["metadata"]["annotations"]
    assert annotations["argocd.argoproj.io/sync-wave"] == "-1"
    # the gitops plugin asks before pruning protected objects; a Namespace must not be pruned at all
    assert annotations["argocd.argoproj.io/sync-options"] == "Prune=false,Delete=false"


def test_another_plugins_namespace_is_kept_and_guarded_in_every_mode(spec_dir: Path) -> None:
    injected = {**TCP_WORKLOAD["tcp-gateway"], "install": {"form": "injection", "createNamespace": True}}
    workloads = {"istio-ingressgateway": DEFAULT_WORKLOAD, "tcp-gateway": injected}
    data = spec(workloads=workloads, namespaces={"create": "none"})
    written = namespaces(build(spec_dir, data))
    assert sorted(written) == ["shop-tcp"]
    assert written["shop-tcp"]["metadata"]["labels"]["istio-injection"] == "enabled"
    assert {k: written["shop-tcp"]["metadata"]["annotations"][k] for k in NEVER_PRUNE} == NEVER_PRUNE


def test_sync_option_lets_argo_create_the_main_namespace_and_writes_the_others(spec_dir: Path) -> None:
    data = spec(namespaces={"create": "sync-option"}, gitops={**GITOPS, "argocd": {}})
    bundle = build(spec_dir, data)
    app = find(bundle.objects, "Application", "test")["spec"]
    assert app["destination"] == {"namespace": "shop", "server": "https://kubernetes.default.svc"}
    assert app["syncPolicy"]["syncOptions"][-1] == "CreateNamespace=true"
    # Argo CD creates only the destination namespace: the Certificate's namespace still needs a manifest
    assert sorted(namespaces(bundle)) == ["istio-system"]


@pytest.mark.parametrize(
    ("gitops", "error"),
    [
        (None, "namespaces.create: sync-option needs Argo CD Applications (a `gitops` key)"),
        ({**GITOPS, "flux": {}}, "namespaces.create: Flux Kustomizations have no option that creates namespaces"),
        (
            {**GITOPS, "argocd": {"enabled": False}, "flux": {"enabled": False}},
            "namespaces.create: sync-option needs Argo CD, which gitops.argocd.enabled switches off",
        ),
    ],
)
def test_sync_option_needs_argo_cd(spec_dir: Path, gitops: dict[str, Any] | None, error: str) -> None:
    data = spec(namespaces={"create": "sync-option"}, **({"gitops": gitops} if gitops else {}))
    with pytest.raises(SpecError) as caught:
        build(spec_dir, data)
    assert [re.sub(r"^.*test\.yaml:\d+:\d+: ", "", str(p)) for p in caught.value.problems] == [error]


def test_an_unknown_mode_is_refused_at_its_line(spec_dir: Path) -> None:
    with pytest.raises(SpecError) as caught:
        build(spec_dir, spec(namespaces={"create": "always"}))
    assert "namespaces.create" in str(caught.value.problems[0])


def test_a_namespace_added_after_the_plugin_ran_is_reported(spec_dir: Path) -> None:
    from gwpipe.hooks.specs import hookimpl
    from gwpipe.model import ResourceRequest

    class Late:
        @hookimpl(trylast=True)
        def gwpipe_modify_resources(self, spec: Any, resources: Any) -> None:
            template = "gateway_split/serviceaccount.yaml.j2"
            resources.add(ResourceRequest("Late", template, "v1", "ServiceAccount", "late", "elsewhere"))

    bundle = build(spec_dir, spec(namespaces={"create": "manifests"}), plugins=[Late()])
    assert [(f.code, f.level, f.resource) for f in bundle.findings if f.code == "GWP1001"] == [
        ("GWP1001", "Warning", "Namespace elsewhere")
    ]


def test_hook_gwpipe_protected_kinds_names_namespace() -> None:
    assert "Namespace" in protected_kinds()
