"""Rendered-output guards (catalogue rows 36, 37, 41): empty render, mass delete, determinism."""

from __future__ import annotations

import yaml

from .conftest import GOOD_SPEC, Workspace, _hash_files, assert_f0


def _without_hosts(*hosts: str) -> str:
    spec = yaml.safe_load(GOOD_SPEC)
    for host in hosts:
        del spec["hosts"][host]
    if not spec["hosts"]:
        del spec["hosts"]
    return yaml.safe_dump(spec, sort_keys=False)


def test_row36_empty_render_refused(workspace: Workspace) -> None:
    workspace.write("good", "namespace: shop\n")
    where = r"(.*/)?\.gwpipe/gitops/good"
    assert_f0(
        workspace,
        ["render", "good"],
        [
            rf"{where}: render would delete all 3 object files",
            rf"{where}: refusing to empty an environment; pass --allow-empty if that is intended",
        ],
        exit_code=1,
    )


def test_row36_allow_empty_commits(workspace: Workspace) -> None:
    workspace.write("good", "namespace: shop\n")
    result = workspace.run("render", "good", "--allow-empty")
    assert result.returncode == 0, result.stderr
    assert workspace.commits() == 2
    assert sorted(p.name for p in (workspace.repo / "good").rglob("*") if p.is_file()) == ["kustomization.yaml"]


def test_row37_mass_delete_refused_with_the_list(workspace: Workspace) -> None:
    spec = yaml.safe_load(GOOD_SPEC)
    for name in ("c", "d"):
        spec["hosts"][f"{name}.example.com"] = spec["hosts"]["a.example.com"]
    workspace.write("good", yaml.safe_dump(spec))
    assert workspace.run("render", "good").returncode == 0
    workspace.write("good", _without_hosts("b.example.com"))
    where = r"(.*/)?\.gwpipe/gitops/good"
    assert_f0(
        workspace,
        ["render", "good"],
        [
            rf"{where}: render would delete 3 of 5 object files: shop/virtualservice-b-example-com\.yaml, "
            r"shop/virtualservice-c-example-com\.yaml, shop/virtualservice-d-example-com\.yaml",
            rf"{where}: pass --allow-delete to confirm",
        ],
        exit_code=1,
    )
    assert workspace.run("render", "good", "--allow-delete").returncode == 0
    assert workspace.commits() == 3


def test_row37_gateway_removal_refused(workspace: Workspace) -> None:
    workspace.write("good", GOOD_SPEC.replace("web", "edge"))
    assert_f0(
        workspace,
        ["render", "good"],
        [r"(.*/)?\.gwpipe/gitops/good: render would delete shop/gateway-web\.yaml; pass --allow-delete to confirm"],
        exit_code=1,
    )


def test_row37_small_delete_is_allowed(workspace: Workspace) -> None:
    workspace.write("good", _without_hosts("b.example.com"))
    result = workspace.run("render", "good")
    assert result.returncode == 0, result.stderr
    assert "0 added, 2 changed, 1 removed" in result.stdout


def test_row37_guard_checked_for_every_env_before_any_write(workspace: Workspace) -> None:
    """Two environments: the second one's guard fails, so the first is not committed either."""
    workspace.write("alpha", GOOD_SPEC)
    workspace.write("good", "namespace: shop\n")
    assert_f0(
        workspace,
        ["render", "alpha", "good"],
        [r".*: render would delete all 3 object files", r".*: refusing to empty an environment; .*"],
        exit_code=1,
    )
    assert not (workspace.repo / "alpha").exists()


def test_row41_two_runs_byte_identical(workspace: Workspace) -> None:
    trees = []
    for n in range(2):
        out = workspace.root / f"out{n}"
        result = workspace.run("render", "good", "--out", str(out))
        assert result.returncode == 0, result.stderr
        trees.append(_hash_files(out))
    assert trees[0] == trees[1]
    assert trees[0] == _hash_files(workspace.repo, skip=(".git",))


def test_row41_unchanged_render_makes_no_commit(workspace: Workspace) -> None:
    before = workspace.snapshot()
    result = workspace.run("render", "good")
    assert result.returncode == 0, result.stderr
    # the workspace's render recorded its inputs: the same inputs are not rendered again
    assert (
        result.stdout == f"good: 3 objects, no changes; inputs unchanged, not rendered again ({workspace.repo}/good)\n"
    )
    assert workspace.snapshot() == before
    forced = workspace.run("render", "good", "--force")
    assert forced.stdout == f"good: 3 objects, no changes ({workspace.repo}/good)\n"
    assert workspace.snapshot() == before
