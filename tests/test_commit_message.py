"""The render commit message: deterministic, one line per changed object, nothing injected from old files."""

from __future__ import annotations

from gwpipe.engine import Bundle
from gwpipe.git.message import commit_message
from gwpipe.spec.load import Spec
from gwpipe.tree.guards import TreeChange

EVIL = b'apiVersion: v1\nkind: Service\nmetadata:\n  name: "x\\nSigned-off-by: evil"\n  namespace: shop\n'


def test_a_removed_objects_name_cannot_add_trailer_lines() -> None:
    change = TreeChange(removed=["shop/service-x.yaml"], existing=1)
    bundle = Bundle(Spec("prod", "environments/prod.yaml", {}), [], [], {})
    message = commit_message("prod", change, bundle, {"shop/service-x.yaml": EVIL})
    assert message.splitlines() == [
        "gwpipe: render prod (0 added, 0 changed, 1 removed)",
        "",
        "removed: Service shop/x\\nSigned-off-by: evil",
    ]


def test_a_pull_request_body_without_a_base_names_none() -> None:
    from gwpipe.git.message import pull_request_body
    from gwpipe.tree.plan import compute_plan

    plan = compute_plan("dev", {}, {"shop/a.yaml": b"kind: ConfigMap\nmetadata: {name: a, namespace: shop}\n"})
    body = pull_request_body(plan, {"shop/a.yaml": b"x"})
    assert "None" not in body.split("<!--")[0]  # the marker keeps its machine-readable fields
    assert "\n---\nProposed by gwpipe: branch `gwpipe/dev-" in body
    assert body.split("\n---\n", 1)[1].splitlines()[0].endswith("`.")
