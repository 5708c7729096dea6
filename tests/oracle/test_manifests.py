"""Hand-written manifests near Istio's boundaries through istioctl and gwpipe: undocumented disagreements fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from . import oracle

pytestmark = pytest.mark.oracle
MANIFESTS = sorted((oracle.HERE / "manifests").glob("*.yaml"))


def test_manifests_are_there() -> None:
    assert len(MANIFESTS) >= 15


@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda p: p.stem)
def test_manifest_agrees_with_istioctl(manifest: Path, istioctl: Path) -> None:
    input_id = f"manifests/{manifest.name}"
    found = oracle.compare(input_id, istioctl, [manifest])
    entries = oracle.documented()
    assert oracle.unexplained(found, entries) == []
    assert oracle.stale(input_id, found, entries) == []
