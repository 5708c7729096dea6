"""The gitops plugin: sync waves, prune guards, Argo CD and Flux objects per shard, spec validation."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gwpipe.engine import Bundle
from gwpipe.errors import SpecError
from gwpipe.model import Placement, ResourceRequest, Resources
from gwpipe.plugins import gitops
from gwpipe.spec.load import Spec
from gwpipe.testing import build
from gwpipe.tree.layout import MAX_SHARD_OBJECTS

from .specs import REPO_URL, example_with_gitops, http_env

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "examples" / "walkthrough").glob("*.yaml")) + sorted(
    p for p in (REPO / "environments").glob("*.yaml") if not p.name.startswith("_")
)


def _of(bundle: Bundle, kind: str) -> list[dict[str, Any]]:
    return [o.obj for o in bundle.objects if o.request.kind == kind]


def _annotations(obj: dict[str, Any]) -> dict[str, str]:
    return dict(obj["metadata"].get("annotations") or {})


def _with_gitops(example: Path, folder: Path, gitops_key: dict[str, Any]) -> Bundle:
    """The example's data (extends resolved) with this `gitops` key."""
    return build(folder, example_with_gitops(example, gitops_key), name="env")


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_sync_waves_order_installs_then_gateways_then_routes(example: Path, spec_dir: Path) -> None:
    bundle = _with_gitops(example, spec_dir, {})
    waves: dict[str, list[int]] = {"install": [], "gateway": [], "route": []}
    for o in bundle.objects:
        if o.request.plugin == "gitops":
            continue
        wave = int(_annotations(o.obj)[gitops.WAVE])
        kind = o.request.kind
        waves["gateway" if kind == "Gateway" else "route" if kind == "VirtualService" else "install"].append(wave)
    assert waves["gateway"], "every example has a Gateway"
    assert max(waves["install"], default=-2) < min(waves["gateway"])
    assert max(waves["gateway"]) < min(waves["route"], default=99)


def test_prune_guards_and_waves_follow_the_declared_placement_not_the_kind(spec_dir: Path) -> None:
    bundle = build(spec_dir, http_env(2, gitops={"argocd": {}, "flux": {}}))
    gateway = _annotations(_of(bundle, "Gateway")[0])
    assert gateway[gitops.SYNC_OPTIONS] == "Prune=confirm"
    assert gateway[gitops.FLUX_PRUNE] == "disabled"
    for vs in _of(bundle, "VirtualService"):
        assert gitops.SYNC_OPTIONS not in _annotations(vs)
        assert gitops.FLUX_PRUNE not in _annotations(vs)
    declared = Placement(protected=True, order=-1)
    namespace = ResourceRequest("x", "x/ns.j2", "v1", "Namespace", "shop", None, placement=declared)
    undeclared = ResourceRequest("x", "x/ns.j2", "v1", "Namespace", "other", None)
    resources = Resources()
    resources.add(namespace)
    resources.add(undeclared)
    spec = Spec("test", "test.yaml", {"gitops": {"repoURL": REPO_URL, "argocd": {}, "flux": {}}})
    gitops.gwpipe_modify_resources(spec, resources)
    assert namespace.values["annotations"] == {
        gitops.WAVE: "-1",
        gitops.SYNC_OPTIONS: "Prune=confirm",
        gitops.FLUX_PRUNE: "disabled",
    }
    assert namespace.plugins == ["x", "gitops"]
    assert undeclared.values["annotations"] == {gitops.WAVE: "0"}


def test_a_plugins_own_annotations_win_and_sync_options_are_extended() -> None:
    own = {"annotations": {gitops.WAVE: "5", gitops.SYNC_OPTIONS: "ServerSideApply=true"}}
    gateway = ResourceRequest(
        "x", "x/gw.j2", "networking.istio.io/v1", "Gateway", "edge", "shop", own, placement=Placement(protected=True)
    )
    resources = Resources()
    resources.add(gateway)
    gitops.gwpipe_modify_resources(Spec("test", "test.yaml", {"gitops": {"repoURL": REPO_URL}}), resources)
    assert gateway.values["annotations"] == {
        gitops.WAVE: "5",
        gitops.SYNC_OPTIONS: "ServerSideApply=true,Prune=confirm",
    }


def test_without_gitops_key_nothing_is_added(spec_dir: Path) -> None:
    bundle = build(spec_dir, http_env(2))
    assert all(o.request.plugins == ["http"] for o in bundle.objects)
    assert not any(gitops.WAVE in _annotations(o.obj) for o in bundle.objects)


def test_flat_environment_gets_one_guarded_application(spec_dir: Path) -> None:
    bundle = build(spec_dir, http_env(2, gitops={"revision": "release", "path": "clusters/{env}"}))
    [app] = _of(bundle, "Application")
    assert app["metadata"]["name"] == "test"
    assert app["metadata"]["namespace"] == "argocd"
    assert app["spec"]["source"] == {"repoURL": REPO_URL, "targetRevision": "release", "path": "clusters/test"}
    assert app["spec"]["destination"] == {"server": "https://kubernetes.default.svc"}
    assert app["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True, "allowEmpty": False}
    assert app["spec"]["syncPolicy"]["syncOptions"] == ["PruneLast=true", "RespectIgnoreDifferences=true"]
    ignored = {(e["kind"], tuple(e["jqPathExpressions"])) for e in app["spec"]["ignoreDifferences"]}
    assert (
        "ValidatingWebhookConfiguration",
        (".webhooks[]?.clientConfig.caBundle", ".webhooks[]?.failurePolicy"),
    ) in ignored
    assert not any(kind in ("Gateway", "VirtualService") for kind, _ in ignored)
    assert "finalizers" not in app["metadata"]  # deleting an Application must never cascade to the ingress
    assert _of(bundle, "Kustomization") == []


def test_sharded_environment_gets_one_application_and_kustomization_per_shard(spec_dir: Path) -> None:
    bundle = build(spec_dir, http_env(MAX_SHARD_OBJECTS + 5, gateways=2, gitops={"argocd": {}, "flux": {}}))
    apps = {a["metadata"]["name"]: a for a in _of(bundle, "Application")}
    assert sorted(apps) == ["test-1-gateways-00", "test-2-routes-edge-0-00", "test-2-routes-edge-1-00"]
    assert {n: a["spec"]["source"]["path"] for n, a in apps.items()} == {
        "test-1-gateways-00": "test/1-gateways-00",
        "test-2-routes-edge-0-00": "test/2-routes-edge-0-00",
        "test-2-routes-edge-1-00": "test/2-routes-edge-1-00",
    }
    assert {n: _annotations(a)[gitops.WAVE] for n, a in apps.items()} == {
        "test-1-gateways-00": "1",
        "test-2-routes-edge-0-00": "2",
        "test-2-routes-edge-1-00": "2",
    }
    kustomizations = {k["metadata"]["name"]: k["spec"] for k in _of(bundle, "Kustomization")}
    assert kustomizations["test-1-gateways-00"].get("dependsOn") is None
    for name in ("test-2-routes-edge-0-00", "test-2-routes-edge-1-00"):
        assert kustomizations[name]["dependsOn"] == [{"name": "test-1-gateways-00"}]
        assert kustomizations[name]["prune"] is True
        assert kustomizations[name]["wait"] is True
        assert kustomizations[name]["path"] == f"./test/{name[len('test-') :]}"
    [source] = _of(bundle, "GitRepository")
    assert source["spec"] == {"url": REPO_URL, "ref": {"branch": "main"}, "interval": "5m"}


def test_application_set_generates_over_shard_folders_but_not_gitops(spec_dir: Path) -> None:
    bundle = build(spec_dir, http_env(MAX_SHARD_OBJECTS + 5, gitops={"argocd": {"applicationSet": True}}))
    assert _of(bundle, "Application") == []
    [appset] = _of(bundle, "ApplicationSet")
    [generator] = appset["spec"]["generators"]
    assert generator["git"]["directories"] == [{"path": "test/*"}, {"path": "test/_gitops", "exclude": True}]
    template = appset["spec"]["template"]
    assert template["metadata"]["name"] == "test-{{ .path.basename }}"
    assert template["spec"]["source"]["path"] == "{{ .path.path }}"
    assert template["spec"]["syncPolicy"]["automated"]["allowEmpty"] is False
    assert appset["spec"]["syncPolicy"] == {"preserveResourcesOnDeletion": True}


def test_flux_only_adds_no_argo_annotations(spec_dir: Path) -> None:
    bundle = build(spec_dir, http_env(2, gitops={"flux": {"createSource": False, "sourceRef": "flux-system"}}))
    assert _of(bundle, "Application") == []
    assert _of(bundle, "GitRepository") == []
    [kustomization] = _of(bundle, "Kustomization")
    assert kustomization["spec"]["sourceRef"] == {"kind": "GitRepository", "name": "flux-system"}
    assert not any(gitops.WAVE in _annotations(o.obj) for o in bundle.objects)


def test_long_names_are_shortened_to_a_label_value() -> None:
    name = gitops.object_name("e" * 40, "2-routes-" + "g" * 40 + "-00")
    assert len(name) == 63
    assert re.fullmatch(r"e{40}-2-routes-g{4}-[0-9a-f]{8}", name)
    assert gitops.object_name("prod", "") == "prod"


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ({"repoURL": "file:///etc/x"}, r"gitops\.repoURL: invalid value, got 'file:///etc/x'; expected an https://, "),
        ({"repoURL": REPO_URL, "path": "../x"}, r"gitops\.path: must be a relative folder without '\.', '\.\.', "),
        ({"repoURL": REPO_URL, "path": "a/.git"}, r"gitops\.path: must be a relative folder"),
        (
            {"repoURL": REPO_URL, "path": "{nope}"},
            r"gitops\.path: only the placeholder \{env\} is known, got '\{nope\}'$",
        ),
        ({"repoURL": REPO_URL, "flux": {"interval": "5 min"}}, r"gitops\.flux\.interval: invalid value, got '5 min'"),
        ({"revision": "main"}, r"gitops\.repoURL: required field"),
    ],
)
def test_spec_errors_are_located(spec_dir: Path, key: dict[str, Any], message: str) -> None:
    data = http_env(1)
    data["gitops"] = key
    with pytest.raises(SpecError) as info:
        build(spec_dir, data)
    assert any(re.match(r"^\S*/environments/test\.yaml:\d+:\d+: " + message, str(p)) for p in info.value.problems), [
        str(p) for p in info.value.problems
    ]


def test_a_folder_no_controller_object_syncs_is_an_error(spec_dir: Path) -> None:
    bundle = build(spec_dir, http_env(MAX_SHARD_OBJECTS + 1, gitops={"argocd": {}, "flux": {}}))
    spec = Spec("test", "test.yaml", bundle.spec.data)
    assert gitops.gwpipe_check(spec, bundle.objects) == []
    kept = [o for o in bundle.objects if o.request.name != "test-1-gateways-00"]
    assert [(f.code, f.level, f.kind, f.name, f.message) for f in gitops.gwpipe_check(spec, kept)] == [
        (
            "GWP0901",
            "Error",
            kind,
            "test-1-gateways-00",
            f"no {kind} syncs folder 1-gateways-00: a plugin added objects after the gitops plugin",
        )
        for kind in ("Application", "Kustomization")
    ]


shard_names = st.lists(
    st.tuples(st.integers(0, 2), st.from_regex(r"[a-z]{1,6}", fullmatch=True), st.integers(0, 3)),
    min_size=1,
    max_size=12,
    unique=True,
)


@settings(max_examples=80, deadline=None)
@given(shards=shard_names)
def test_flux_dependencies_point_at_every_shard_of_the_previous_present_tier(
    shards: list[tuple[int, str, int]],
) -> None:
    folders = sorted({f"{tier}-{group}-{bucket:02d}" for tier, group, bucket in shards})
    config = gitops.Settings("prod", REPO_URL, "main", "prod", None, {})
    kustomizations = {r.name: r for r in gitops.controller_requests(config, folders) if r.kind == "Kustomization"}
    assert sorted(kustomizations) == sorted(f"prod-{f}" for f in folders)
    tiers = sorted({int(f[0]) for f in folders})
    for folder in folders:
        earlier = [t for t in tiers if t < int(folder[0])]
        expected = sorted(f"prod-{f}" for f in folders if earlier and int(f[0]) == earlier[-1])
        assert sorted(kustomizations[f"prod-{folder}"].values["depends_on"]) == expected
