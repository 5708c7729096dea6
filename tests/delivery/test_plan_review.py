"""`gwpipe plan` for review: --diff, -o markdown (the exact PR body), --exit-code; `propose --dry-run` sends nothing."""

from __future__ import annotations

import json
import re
from pathlib import Path

from delivery.harness import TOKEN, World, refs, run, spec, world, write_env

__all__ = ["world"]


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _rendered(tmp_path: Path) -> tuple[Path, Path]:
    specs, repo = tmp_path / "environments", tmp_path / "gitops"
    write_env(specs, "prod", spec(["shop.example.com"]))
    assert run("render", "prod", "--specs", str(specs), "--out", str(repo)).exit_code == 0
    return specs, repo


def test_exit_code_is_opt_in_and_distinct_from_errors(tmp_path: Path) -> None:
    specs, repo = _rendered(tmp_path)
    args = ("plan", "prod", "--specs", str(specs), "--repo", str(repo))
    assert run(*args, "--exit-code").exit_code == 0
    write_env(specs, "prod", spec(["shop.example.com", "api.example.com"]))
    assert run(*args).exit_code == 0
    changed = run(*args, "--exit-code")
    assert changed.exit_code == 3, changed.stderr
    assert changed.stdout.startswith("prod: 1 to add, 2 to change, 0 to remove\n")
    (specs / "prod.yaml").write_text("namespace: [\n")
    broken = run(*args, "--exit-code")
    assert broken.exit_code == 2
    assert len(broken.errors) == 1
    assert broken.errors[0].startswith("error: ")
    assert "Traceback" not in broken.stderr


def test_diff_prints_a_unified_diff_per_changed_file(tmp_path: Path) -> None:
    specs, repo = _rendered(tmp_path)
    before = _tree(repo)
    write_env(specs, "prod", spec(["shop.example.com", "api.example.com"]))
    out = run("plan", "prod", "--specs", str(specs), "--repo", str(repo), "--diff").stdout
    headers = re.findall(r"^--- (\S+)\n\+\+\+ (\S+)$", out, flags=re.M)
    plan = json.loads(run("plan", "prod", "--specs", str(specs), "--repo", str(repo), "-o", "json").stdout)
    [objects] = [p["objects"] for p in plan["plans"]]
    expected = [
        ("/dev/null" if o["action"] == "added" else f"a/prod/{o['path']}", f"b/prod/{o['path']}") for o in objects
    ]
    assert headers == expected
    assert re.search(r'^\+    - "?api\.example\.com"?$', out, flags=re.M)
    assert _tree(repo) == before  # plan is read-only


def test_markdown_is_exactly_the_body_propose_sends(world: World) -> None:
    write_env(world.specs, "prod", spec(["shop.example.com", "api.example.com"]))
    printed = run("plan", "prod", "--specs", str(world.specs), "--repo", str(world.work), "-o", "markdown")
    assert printed.exit_code == 0, printed.stderr
    assert world.propose("prod").exit_code == 0
    [pr] = world.forge.pulls
    assert printed.stdout == pr["body"]
    assert "api.example.com on Gateway shop/public-gw :80" in printed.stdout


def test_propose_dry_run_prints_branch_files_and_body_and_sends_nothing(world: World) -> None:
    write_env(world.specs, "prod", spec(["shop.example.com"]))
    before = refs(world.bare)
    result = world.propose("prod", extra=("--dry-run",))
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    branch = lines[1].removeprefix("branch: ")
    assert re.fullmatch(r"gwpipe/prod-[0-9a-f]{12}", branch)
    assert (
        lines[0]
        == f"prod: dry run; would push {branch} and propose it against main (3 to add, 0 to change, 0 to remove)"
    )
    added = [line.removeprefix("added: ") for line in lines if line.startswith("added: ")]
    assert len(added) == 3
    assert added == sorted(added)
    assert all(p.startswith("prod/") for p in added)
    assert lines[2:5] == [f"added: {p}" for p in added]
    assert lines[5].startswith("title: gwpipe: prod (3 to add")
    body = result.stdout.split("\n\n", 1)[1]
    assert refs(world.bare) == before
    assert world.forge.log == []
    assert TOKEN not in result.stdout + result.stderr
    assert world.propose("prod").exit_code == 0
    assert world.forge.pulls[0]["body"] == body
    assert world.forge.pulls[0]["head"] == branch
    data = json.loads(world.propose("prod", extra=("--dry-run", "--output", "json")).stdout)
    [proposal] = data["proposals"]
    assert (proposal["dry_run"], proposal["pushed"], proposal["pull_request"]) == (True, False, None)
    assert proposal["files"]["added"] == [a.removeprefix("prod/") for a in added]
