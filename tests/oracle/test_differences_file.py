"""The documented differences are well formed: located, categorised, explained (no istioctl needed)."""

from __future__ import annotations

from . import oracle


def test_every_documented_difference_is_complete() -> None:
    entries = oracle.documented()
    problems = {f"{e.get('input')} {e.get('code')} {e.get('object')}": oracle.entry_problems(e) for e in entries}
    assert {where: found for where, found in problems.items() if found} == {}


def test_deliberate_differences_are_in_the_user_docs() -> None:
    docs = (oracle.REPO / "docs" / "checks-analyzers.md").read_text(encoding="utf-8")
    deliberate = {
        e["category"].split(": ", 1)[1] for e in oracle.documented() if e["category"].startswith("deliberate")
    }
    assert [reason for reason in sorted(deliberate) if reason not in docs] == []


def test_an_undocumented_disagreement_is_reported_and_a_documented_one_is_not() -> None:
    entry = {
        "input": "manifests/x.yaml",
        "check": "analyze",
        "code": "IST0101",
        "object": "Gateway a/*",
        "side": "gwpipe",
    }
    documented = [{**entry, "category": "deliberate: test", "reason": "test"}]
    covered = oracle.Disagreement("manifests/x.yaml", "analyze", "IST0101", "Gateway a/b", "gwpipe", "msg")
    other = oracle.Disagreement("manifests/x.yaml", "analyze", "IST0101", "Gateway a/b", "istioctl", "msg")
    assert oracle.unexplained([covered, other], documented) == [
        "manifests/x.yaml: analyze IST0101 Gateway a/b: only istioctl (msg)"
    ]
    assert oracle.stale("manifests/x.yaml", [covered], documented) == []
    assert oracle.stale("manifests/x.yaml", [other], documented) == [
        "manifests/x.yaml: analyze IST0101 Gateway a/*: documented (deliberate: test) but both sides now agree"
    ]
