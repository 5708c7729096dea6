"""Route test outcomes in the ingress plan: every case whose outcome a render changes, before and after."""

from __future__ import annotations

from pathlib import Path

from gwpipe.routes.behaviour import add_route_changes, outcome_changes
from gwpipe.spec.load import load_spec
from gwpipe.tree.files import read_tree
from gwpipe.tree.plan import compute_plan

REPO = Path(__file__).resolve().parent.parent.parent
PROD = REPO / "tests" / "golden" / "environments" / "prod"


def _proposed() -> tuple[dict[str, bytes], dict[str, bytes]]:
    previous = read_tree(PROD)
    desired = dict(previous)
    path = "shop/virtualservice-api.yaml"
    text = desired[path].decode().replace("weight: 95", "weight: 80").replace("weight: 5\n", "weight: 20\n")
    desired[path] = text.encode()
    return previous, desired


def test_changed_outcomes_are_listed_with_before_and_after() -> None:
    spec = load_spec(REPO / "environments" / "prod.yaml")
    previous, desired = _proposed()
    plan = compute_plan("prod", previous, desired)
    add_route_changes(plan, spec, previous, desired)
    lines = [c.line() for c in plan.changes if c.category == "route-tests"]
    assert lines == [
        "~ case 'canary gets 5 percent': api-v2:8080 95%, api-v2-canary:8080 5% (passes) -> "
        "api-v2:8080 80%, api-v2-canary:8080 20% (fails)"
    ]
    assert "### Route test outcomes" in plan.to_markdown()
    assert "  route test outcomes:" in plan.to_text()


def test_nothing_changed_means_no_entries() -> None:
    spec = load_spec(REPO / "environments" / "prod.yaml")
    previous = read_tree(PROD)
    assert outcome_changes([], previous, previous) == []
    plan = compute_plan("prod", previous, previous)
    add_route_changes(plan, spec, previous, previous)
    assert plan.changes == []
