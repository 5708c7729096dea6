"""`gwpipe plan` prints the ingress plan (text and JSON) against the GitOps repository and writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

from delivery.harness import run, spec, write_env


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_plan_text_then_json_after_a_render(tmp_path: Path) -> None:
    specs, repo = tmp_path / "environments", tmp_path / "gitops"
    write_env(specs, "prod", spec(["shop.example.com"]))
    assert run("render", "prod", "--specs", str(specs), "--out", str(repo)).exit_code == 0
    before = _tree(repo)
    write_env(specs, "prod", spec(["shop.example.com", "api.example.com"]))
    text = run("plan", "prod", "--specs", str(specs), "--repo", str(repo))
    assert text.exit_code == 0, text.stderr
    assert text.stdout.splitlines()[:3] == [
        "prod: 1 to add, 2 to change, 0 to remove",
        "  hosts:",
        "    + api.example.com on Gateway shop/public-gw :80",
    ]
    data = json.loads(run("plan", "prod", "--specs", str(specs), "--repo", str(repo), "--output", "json").stdout)
    [plan] = data["plans"]
    assert plan["counts"] == {"added": 1, "changed": 2, "removed": 0}
    assert {
        "category": "hosts",
        "action": "added",
        "subject": "api.example.com on Gateway shop/public-gw :80",
        "before": "",
        "after": "",
        "detail": "",
    } in plan["changes"]
    assert _tree(repo) == before


def test_plan_without_changes(tmp_path: Path) -> None:
    specs, repo = tmp_path / "environments", tmp_path / "gitops"
    write_env(specs, "prod", spec(["shop.example.com"]))
    assert run("render", "prod", "--specs", str(specs), "--out", str(repo)).exit_code == 0
    result = run("plan", "prod", "--specs", str(specs), "--repo", str(repo))
    assert (result.exit_code, result.stdout) == (0, "prod: no changes\n")
