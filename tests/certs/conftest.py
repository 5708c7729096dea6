"""Fixtures for the certs tests: a running Kubernetes API stand-in, its kubeconfig, the SHOP spec and a healthy cluster."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from certs_helpers import SHOP, Material, material, tls_data
from stand_ins.kube_api import KubeApiStandIn, certificate

from gwpipe.testing import write_spec


@pytest.fixture
def kube() -> Iterator[KubeApiStandIn]:
    with KubeApiStandIn().running() as stand_in:
        yield stand_in


@pytest.fixture
def kubeconfig(tmp_path: Path, kube: KubeApiStandIn) -> Path:
    return kube.write_kubeconfig(tmp_path / "kubeconfig")


@pytest.fixture
def shop(spec_dir: Path) -> Path:
    write_spec(spec_dir, SHOP, name="shop")
    return spec_dir


@pytest.fixture
def healthy(kube: KubeApiStandIn) -> dict[str, Material]:
    """The cluster as it should be for SHOP."""
    a, b = material(["a.example.com"]), material(["b.example.com"])
    kube.add_certificate(certificate("edge", "a-cred", dns_names=["a.example.com"]))
    kube.add_secret("edge", "a-cred", tls_data(a))
    kube.add_secret("edge", "b-cred", tls_data(b, ca=True))
    return {"a-cred": a, "b-cred": b}
