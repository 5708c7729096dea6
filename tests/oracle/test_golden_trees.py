"""Every golden tree through istioctl and gwpipe: each disagreement is documented in differences.yaml or fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from . import oracle

pytestmark = pytest.mark.oracle
GOLDEN = oracle.REPO / "tests" / "golden"
TREES = sorted(p.parent for p in GOLDEN.glob("*/*/kustomization.yaml"))


def test_every_golden_tree_is_an_input() -> None:
    assert {t.relative_to(GOLDEN).as_posix() for t in TREES} >= {"environments/prod", "walkthrough/01-http"}


@pytest.mark.parametrize("tree", TREES, ids=lambda p: p.relative_to(GOLDEN).as_posix())
def test_golden_tree_agrees_with_istioctl(tree: Path, istioctl: Path) -> None:
    input_id = f"golden/{tree.relative_to(GOLDEN).as_posix()}"
    found = oracle.compare(input_id, istioctl, [tree])
    entries = oracle.documented()
    assert oracle.unexplained(found, entries) == []
    assert oracle.stale(input_id, found, entries) == []
