"""Tree layout: small environments stay flat, large ones shard into small, stable kustomizations."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from gwpipe.errors import WriteError
from gwpipe.model import Placement, ResourceRequest
from gwpipe.plugins import http
from gwpipe.plugins.gitops import GITOPS_FOLDER
from gwpipe.testing import build
from gwpipe.tree.guards import TreeChange, diff_tree, guard_deletions
from gwpipe.tree.layout import KUSTOMIZATION, MAX_SHARD_OBJECTS, desired_files, layout, shard_tier

from .specs import http_env

SHARD_RE = re.compile(r"^[012]-(base|gateways|routes-[a-z0-9-]+)-[0-9]{2,}$")


def _request(kind: str, name: str, gateway: str = "edge") -> ResourceRequest:
    """A route or Gateway placed as the http plugin places them (the core knows no kind)."""
    values = {"gateways": [f"shop/{gateway}"]} if kind == "VirtualService" else {}
    placement = Placement(tier=2, group=gateway) if kind == "VirtualService" else http.GATEWAY_PLACEMENT
    return ResourceRequest(
        "http", "http/x.j2", "networking.istio.io/v1", kind, name, "shop", values, placement=placement
    )


def _kustomization(data: bytes) -> list[str]:
    doc = yaml.safe_load(data)
    assert doc["kind"] == "Kustomization"
    return list(doc["resources"])


def test_small_environment_stays_flat(spec_dir: Path) -> None:
    bundle = build(spec_dir, http_env(3))
    assert sorted(bundle.files) == [
        KUSTOMIZATION,
        "shop/gateway-edge-0.yaml",
        "shop/virtualservice-app0-shop-example-com.yaml",
        "shop/virtualservice-app1-shop-example-com.yaml",
        "shop/virtualservice-app2-shop-example-com.yaml",
    ]
    assert _kustomization(bundle.files[KUSTOMIZATION]) == sorted(p for p in bundle.files if p != KUSTOMIZATION)


def test_large_environment_is_sharded_by_tier_and_gateway(spec_dir: Path) -> None:
    bundle = build(spec_dir, http_env(MAX_SHARD_OBJECTS + 10, gateways=2))
    shards = sorted({p.split("/")[0] for p in bundle.files if "/" in p})
    assert shards == ["1-gateways-00", "2-routes-edge-0-00", "2-routes-edge-1-00"]
    assert _kustomization(bundle.files[KUSTOMIZATION]) == shards
    for shard in shards:
        listed = _kustomization(bundle.files[f"{shard}/{KUSTOMIZATION}"])
        in_folder = sorted(p[len(shard) + 1 :] for p in bundle.files if p.startswith(f"{shard}/"))
        assert listed == [p for p in in_folder if p != KUSTOMIZATION]
    routes = {o.request.name: o.path for o in bundle.objects if o.request.kind == "VirtualService"}
    assert routes["app1-shop-example-com"] == "2-routes-edge-1-00/shop/virtualservice-app1-shop-example-com.yaml"
    # every object's final path is a file of the bundle holding exactly its text, and laying out is idempotent
    assert all(bundle.files[o.path] == o.text.encode() for o in bundle.objects)
    assert desired_files(bundle.objects) == bundle.files


def test_controller_objects_live_outside_the_environment_kustomization(spec_dir: Path) -> None:
    bundle = build(spec_dir, http_env(2, gitops={"flux": {}}))
    controller = sorted(p for p in bundle.files if p.startswith(f"{GITOPS_FOLDER}/"))
    assert controller == [
        "_gitops/flux-system/gitrepository-gitops.yaml",
        "_gitops/flux-system/kustomization-test.yaml",
        "_gitops/kustomization.yaml",
    ]
    assert not any(r.startswith(GITOPS_FOLDER) for r in _kustomization(bundle.files[KUSTOMIZATION]))
    assert _kustomization(bundle.files["_gitops/kustomization.yaml"]) == [
        "flux-system/gitrepository-gitops.yaml",
        "flux-system/kustomization-test.yaml",
    ]


names = st.lists(st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True), min_size=1, max_size=60, unique=True)


@settings(max_examples=60, deadline=None)
@given(hosts=names, gateways=st.integers(1, 3), limit=st.integers(2, 12), data=st.data())
def test_every_shard_is_at_most_the_limit_and_independent_of_order(
    hosts: list[str], gateways: int, limit: int, data: st.DataObject
) -> None:
    requests = [_request("VirtualService", h, f"gw{i % gateways}") for i, h in enumerate(hosts)]
    requests += [_request("Gateway", f"gw{g}") for g in range(gateways)]
    folders = layout(requests, limit)
    shuffled = data.draw(st.permutations(requests))
    assert layout(shuffled, limit) == folders
    sizes = Counter(folders.values())
    assert max(sizes.values()) <= limit
    if len(requests) > limit:
        assert all(SHARD_RE.match(f) for f in sizes), sizes
        assert all(shard_tier(folders[r.key]) == (2 if r.kind == "VirtualService" else 1) for r in requests)
    else:
        assert set(sizes) == {""}


@settings(max_examples=60, deadline=None)
@given(hosts=names, extra=st.from_regex(r"z[a-z0-9]{1,8}", fullmatch=True), limit=st.integers(2, 12))
def test_adding_a_host_moves_no_other_object_unless_its_group_splits(hosts: list[str], extra: str, limit: int) -> None:
    requests = [_request("VirtualService", h) for h in hosts] + [_request("Gateway", "edge")]
    before = layout(requests, limit)
    after = layout([*requests, _request("VirtualService", extra)], limit)
    buckets_before = len({f for f in before.values() if f.startswith("2-")})
    buckets_after = len({f for f in after.values() if f.startswith("2-")})
    moved = [k for k in before if before[k] != after[k]]
    if before and "" not in before.values() and buckets_before == buckets_after:
        assert moved == []


def test_moving_objects_between_shards_is_not_a_deletion() -> None:
    current = {KUSTOMIZATION: b"", "shop/gateway-edge.yaml": b"g", "shop/virtualservice-a.yaml": b"a"}
    desired = {
        KUSTOMIZATION: b"x",
        "1-gateways-00/kustomization.yaml": b"",
        "1-gateways-00/shop/gateway-edge.yaml": b"g",
        "2-routes-edge-00/kustomization.yaml": b"",
        "2-routes-edge-00/shop/virtualservice-a.yaml": b"a",
    }
    guard_deletions(diff_tree(current, desired), "env", allow_empty=False, allow_delete=False)


def test_deleting_a_gateway_from_a_shard_is_still_guarded() -> None:
    current = {KUSTOMIZATION: b"", "1-gateways-00/kustomization.yaml": b"", "1-gateways-00/shop/gateway-a.yaml": b"g"}
    current |= {f"2-routes-a-00/shop/virtualservice-{i}.yaml": b"v" for i in range(4)}
    desired = {k: v for k, v in current.items() if "gateway-a" not in k}
    with pytest.raises(WriteError) as info:
        guard_deletions(diff_tree(current, desired), "env", allow_empty=False, allow_delete=False)
    assert [str(p) for p in info.value.problems] == [
        "env: render would delete 1-gateways-00/shop/gateway-a.yaml; pass --allow-delete to confirm"
    ]


def test_emptying_a_sharded_environment_is_refused() -> None:
    current = {KUSTOMIZATION: b"", "0-base-00/kustomization.yaml": b"", "0-base-00/ns/service-a.yaml": b"s"}
    change: TreeChange = diff_tree(current, {KUSTOMIZATION: b""})
    with pytest.raises(WriteError) as info:
        guard_deletions(change, "env", allow_empty=False, allow_delete=False)
    assert [str(p) for p in info.value.problems] == [
        "env: render would delete all 1 object files",
        "env: refusing to empty an environment; pass --allow-empty if that is intended",
    ]
