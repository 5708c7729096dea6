"""Placement declared on requests, and the hooks that tell the core what written trees hold (protected kinds, synced folders)."""

from __future__ import annotations

import importlib
from typing import Any

import click
import pytest
import yaml

from gwpipe.errors import WriteError
from gwpipe.hooks.manager import create_manager
from gwpipe.hooks.specs import hookimpl
from gwpipe.model import Placement, RenderedObject, ResourceRequest
from gwpipe.plugins import gitops
from gwpipe.tree.guards import diff_tree, guard_deletions
from gwpipe.tree.layout import KUSTOMIZATION, desired_files, environment_folders, layout
from gwpipe.tree.moves import find_move, synced_roots


class _Protects:
    """A third-party plugin that protects its Telemetry objects."""

    @hookimpl
    def gwpipe_protected_kinds(self) -> list[str]:
        return ["Telemetry"]


class _Fleet:
    """A third-party GitOps controller: `_fleet/<name>.yaml` files say `syncs: <folder>`."""

    @hookimpl
    def gwpipe_synced_folders(self, files: dict[str, bytes]) -> list[str]:
        return [
            str(yaml.safe_load(data)["syncs"])
            for path, data in sorted(files.items())
            if path.startswith("_fleet/") and not path.endswith(KUSTOMIZATION)
        ]


def _manager(plugin: object, name: str) -> Any:
    pm = create_manager(entry_points=False)
    pm.register(plugin, name=name)
    return pm


def test_hook_gwpipe_protected_kinds() -> None:
    current = {KUSTOMIZATION: b"", "shop/telemetry-t.yaml": b"t", "shop/gateway-g.yaml": b"g"}
    current |= {f"shop/virtualservice-{i}.yaml": b"v" for i in range(4)}
    no_telemetry = {k: v for k, v in current.items() if "telemetry" not in k}
    # without a run's manager the built-ins are asked: they protect Gateways (http) and Namespaces (gateway_split), not Telemetry
    guard_deletions(diff_tree(current, no_telemetry), "env", False, False)
    no_gateway = {k: v for k, v in current.items() if "gateway" not in k}
    with pytest.raises(WriteError) as info:
        guard_deletions(diff_tree(current, no_gateway), "env", False, False)
    assert [str(p) for p in info.value.problems] == [
        "env: render would delete shop/gateway-g.yaml; pass --allow-delete to confirm"
    ]
    pm = _manager(_Protects(), "protects")
    # gateway_split and namespaces both declare Namespace: the guards read the set (tree.declared.protected_kinds)
    kinds = sorted({k for ks in pm.hook.gwpipe_protected_kinds() for k in ks})
    assert kinds == ["Gateway", "Namespace", "Telemetry"]
    with pytest.raises(WriteError) as info:
        guard_deletions(diff_tree(current, no_telemetry), "env", False, False, pm)
    assert [str(p) for p in info.value.problems] == [
        "env: render would delete shop/telemetry-t.yaml; pass --allow-delete to confirm"
    ]
    guard_deletions(diff_tree(current, no_telemetry), "env", False, True, pm)
    # a built-in protects its kinds even in a run that blocks it: the files may come from an earlier render
    with_namespace = {**current, "_cluster/namespace-shop.yaml": b"n"}
    no_namespace = {k: v for k, v in with_namespace.items() if "namespace-" not in k}
    with pytest.raises(WriteError):
        guard_deletions(diff_tree(with_namespace, no_namespace), "env", False, False)
    blocked = create_manager(blocked=["gateway_split"], entry_points=False)
    with pytest.raises(WriteError) as info:
        guard_deletions(diff_tree(with_namespace, no_namespace), "env", False, False, blocked)
    assert [str(p) for p in info.value.problems] == [
        "env: render would delete _cluster/namespace-shop.yaml; pass --allow-delete to confirm"
    ]


def test_hook_gwpipe_synced_folders() -> None:
    pm = _manager(_Fleet(), "fleet")
    before = {
        KUSTOMIZATION: b"",
        "shop/gateway-g.yaml": b"g",
        "_fleet/kustomization.yaml": b"",
        "_fleet/s.yaml": b"syncs: envs/dev\n",
    }
    after = {**before, "_fleet/s.yaml": b"syncs: moved/dev\n"}
    assert sorted(pm.hook.gwpipe_synced_folders(files=before)) == [[], ["envs/dev"]]  # gitops finds nothing of its own
    move = find_move(before, after, pm)
    assert move is not None
    assert (move.old, move.new, move.objects) == ("envs/dev", "moved/dev", 1)
    assert find_move(before, after) is None  # the built-ins do not know this controller
    # a shard folder the controller syncs folds into its environment folder
    sharded = {**before, "1-gateways-00/kustomization.yaml": b"", "_fleet/s.yaml": b"syncs: envs/dev/1-gateways-00\n"}
    assert synced_roots(sharded, pm) == {"envs/dev"}
    assert find_move(before, sharded, pm) is None


def test_gitops_reads_the_folders_its_own_controller_objects_sync() -> None:
    application = {"kind": "Application", "spec": {"source": {"path": "clusters/dev/1-gateways-00"}}}
    kustomization = {"kind": "Kustomization", "spec": {"path": "./clusters/dev"}}
    appset = {
        "kind": "ApplicationSet",
        "spec": {
            "generators": [{"git": {"directories": [{"path": "c/dev/*"}, {"path": "c/dev/_x", "exclude": True}]}}]
        },
    }
    files = {
        "_gitops/argocd/application-a.yaml": yaml.safe_dump(application).encode(),
        "_gitops/flux-system/kustomization-k.yaml": yaml.safe_dump(kustomization).encode(),
        "_gitops/argocd/applicationset-s.yaml": yaml.safe_dump(appset).encode(),
        "_gitops/kustomization.yaml": b"resources: []\n",
        "_gitops/argocd/broken.yaml": b"{not yaml",
        "shop/application-elsewhere.yaml": yaml.safe_dump(application).encode(),
    }
    assert sorted(gitops.gwpipe_synced_folders(files)) == ["c/dev", "clusters/dev", "clusters/dev/1-gateways-00"]


def test_placement_folder_must_be_a_side_folder_name() -> None:
    with pytest.raises(ValueError, match=r"^placement folder must be one name starting with '_', got 'gitops'$"):
        Placement(folder="gitops")
    with pytest.raises(ValueError, match=r"^placement folder must be one name starting with '_', got '_a/b'$"):
        Placement(folder="_a/b")
    with pytest.raises(ValueError, match=r"^placement folder '_cluster' holds cluster-scoped objects; choose another$"):
        Placement(folder="_cluster")
    with pytest.raises(ValueError, match=r"^placement tier must be one of \[0, 1, 2\], got 3$"):
        Placement(tier=3)


def _object(kind: str, name: str, placement: Placement) -> RenderedObject:
    request = ResourceRequest("x", "x/x.j2", "v1", kind, name, "shop", {}, placement=placement)
    return RenderedObject(request, f"kind: {kind}\n", {"kind": kind}, "")


def test_a_third_party_side_folder_has_its_own_kustomization_and_counts_for_no_shard() -> None:
    objects = [_object("ConfigMap", f"c{i}", Placement()) for i in range(3)]
    objects += [_object("Sync", f"s{i}", Placement(folder="_fleet")) for i in range(5)]
    files = desired_files(objects)
    assert yaml.safe_load(files[KUSTOMIZATION])["resources"] == [f"shop/configmap-c{i}.yaml" for i in range(3)]
    assert yaml.safe_load(files["_fleet/kustomization.yaml"])["resources"] == [f"shop/sync-s{i}.yaml" for i in range(5)]
    assert environment_folders(o.request for o in objects) == [""]
    folders = layout((o.request for o in objects), limit=3)
    assert sorted(set(folders.values())) == ["", "_fleet"]  # 3 environment objects: still flat


def test_routes_are_sharded_by_their_declared_group_and_other_tiers_by_name() -> None:
    requests = [
        ResourceRequest("x", "x/r.j2", "v1", "Route", f"r{i}", "shop", {}, placement=Placement(tier=2, group=group))
        for i, group in enumerate(["edge", "edge", None, "Not_A_Folder", "mesh"])
    ]
    requests.append(ResourceRequest("x", "x/g.j2", "v1", "VirtualService", "vs", "shop", {}))  # no placement: tier 0
    folders = layout(requests, limit=2)
    assert [folders[r.key] for r in requests] == [
        "2-routes-edge-00",
        "2-routes-edge-00",
        "2-routes-other-00",
        "2-routes-other-00",
        "2-routes-mesh-00",
        "0-base-00",
    ]


def test_gitops_plugin_declares_the_status_command() -> None:
    commands = gitops.gwpipe_commands()
    assert commands == {"status": "gwpipe.plugins.gitops.status:command"}
    module, _, attribute = commands["status"].partition(":")
    command = getattr(importlib.import_module(module), attribute)
    assert isinstance(command, click.Command)
    assert command.name == "status"
