"""Spec builders shared by the gitops tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gwpipe.spec.load import load_spec

REPO_URL = "https://git.example.com/acme/gitops.git"


def http_env(hosts: int, gateways: int = 1, gitops: dict[str, Any] | None = None) -> dict[str, Any]:
    """An http-only environment: `gateways` Gateways and `hosts` hosts spread over them, one VirtualService each."""
    data: dict[str, Any] = {
        "namespace": "shop",
        "gateways": {f"edge-{g}": {"selector": {"istio": "ingressgateway"}} for g in range(gateways)},
        "hosts": {
            f"app{i}.shop.example.com": {
                "gateway": f"edge-{i % gateways}",
                "routes": [{"destination": {"host": f"app{i}", "port": 8080}}],
            }
            for i in range(hosts)
        },
    }
    if gitops is not None:
        data["gitops"] = {"repoURL": REPO_URL, **gitops}
    return data


def example_with_gitops(example: Path, gitops_key: dict[str, Any]) -> dict[str, Any]:
    """The example's data (its `extends` resolved) with `gitops` replaced by `gitops_key` plus REPO_URL."""
    data = load_spec(example, example.parent).data
    data["gitops"] = {"repoURL": REPO_URL, **gitops_key}
    return data
