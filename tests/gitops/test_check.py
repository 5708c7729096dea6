"""`gwpipe check`: the rendered tree committed at HEAD against what the specs at HEAD render, with real git repos."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from gwpipe.cli.main import main
from gwpipe.testing import git, init_repo_with_remote

from .specs import REPO_URL, http_env

IDENTITY = ["-c", "user.name=test", "-c", "user.email=test@localhost"]


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, *IDENTITY, "commit", "-q", "-m", message)


def head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").strip()


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def error_lines(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("error: ")]


@pytest.fixture
def repos(tmp_path: Path) -> tuple[Path, Path]:
    """(specs folder inside a committed spec repository, GitOps working clone) with both environments rendered."""
    spec_repo = tmp_path / "specs"
    subprocess.run(["git", "init", "-q", "-b", "main", str(spec_repo)], check=True)
    specs = spec_repo / "environments"
    specs.mkdir()
    (specs / "dev.yaml").write_text(yaml.safe_dump(http_env(2)), encoding="utf-8")
    (specs / "prod.yaml").write_text(yaml.safe_dump(http_env(3, gitops={"flux": {}})), encoding="utf-8")
    commit_all(spec_repo, "specs")
    gitops, _bare = init_repo_with_remote(tmp_path / "gitops")
    rendered = run("render", "--all", "--specs", str(specs), "--repo", str(gitops))
    assert rendered.exit_code == 0, rendered.stderr
    return specs, gitops


def test_up_to_date(repos: tuple[Path, Path]) -> None:
    specs, gitops = repos
    result = run("check", "--all", "--specs", str(specs), "--repo", str(gitops))
    assert (result.exit_code, result.stdout, result.stderr) == (0, "dev: up to date\nprod: up to date\n", "")


def test_stale_after_a_committed_spec_change(repos: tuple[Path, Path]) -> None:
    specs, gitops = repos
    (specs / "dev.yaml").write_text(yaml.safe_dump(http_env(3)), encoding="utf-8")
    commit_all(specs.parent, "add a host")
    result = run("check", "dev", "prod", "--specs", str(specs), "--repo", str(gitops))
    assert result.exit_code == 1
    dev = re.escape(f"{gitops}/dev")
    spec = re.escape(f"{specs}/dev.yaml")
    patterns = [
        rf"^error: {dev}/kustomization\.yaml: committed file differs from the render of {spec} at HEAD$",
        rf"^error: {dev}/shop/gateway-edge-0\.yaml: committed file differs from the render of {spec} at HEAD$",
        rf"^error: {dev}/shop/virtualservice-app2-shop-example-com\.yaml: missing from the committed tree; render and commit it$",
    ]
    lines = error_lines(result)
    assert len(lines) == len(patterns)
    assert all(re.match(p, line) for p, line in zip(patterns, lines, strict=True)), lines
    assert result.stdout == "dev: stale or hand-edited (2 differ, 1 missing, 0 unexpected)\nprod: up to date\n"


def test_only_commits_count_not_working_trees(repos: tuple[Path, Path]) -> None:
    specs, gitops = repos
    (specs / "dev.yaml").write_text(yaml.safe_dump(http_env(5)), encoding="utf-8")
    (gitops / "dev" / "kustomization.yaml").write_text("hand edit\n")
    (gitops / "dev" / "extra.yaml").write_text("kind: x\n")
    result = run("check", "--all", "--specs", str(specs), "--repo", str(gitops))
    assert (result.exit_code, result.stderr) == (0, "")


def test_hand_edited_and_hand_added_files_are_listed(repos: tuple[Path, Path]) -> None:
    specs, gitops = repos
    vs = gitops / "prod" / "shop" / "virtualservice-app0-shop-example-com.yaml"
    vs.write_text(vs.read_text().replace("8080", "9090"))
    (gitops / "prod" / "shop" / "configmap-notes.yaml").write_text("kind: ConfigMap\n")
    commit_all(gitops, "hand edit")
    result = run("check", "prod", "--specs", str(specs), "--repo", str(gitops), "--output", "json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    [env] = report["environments"]
    assert env == {
        "environment": "prod",
        "spec": f"{specs}/prod.yaml",
        "spec_commit": head(specs.parent),
        "gitops_commit": head(gitops),
        "up_to_date": False,
        "changed": ["shop/virtualservice-app0-shop-example-com.yaml"],
        "missing": [],
        "unexpected": ["shop/configmap-notes.yaml"],
    }
    assert error_lines(result) == [f"error: {e['where']}: {e['message']}" for e in report["errors"]]
    added = f"{gitops}/prod/shop/configmap-notes.yaml"
    assert report["errors"][1] == {
        "file": added,
        "line": None,
        "column": None,
        "field": None,
        "where": added,
        "message": f"committed but not rendered from {specs}/prod.yaml at HEAD",
        "hint": None,
    }


def test_an_environment_never_committed_is_all_missing(repos: tuple[Path, Path], tmp_path: Path) -> None:
    specs, _gitops = repos
    empty, _bare = init_repo_with_remote(tmp_path / "other")
    result = run("check", "dev", "--specs", str(specs), "--repo", str(empty))
    assert result.exit_code == 1
    assert len(error_lines(result)) == 4
    assert all(line.endswith("missing from the committed tree; render and commit it") for line in error_lines(result))


def test_rendered_tree_in_a_folder_of_the_spec_repository(tmp_path: Path) -> None:
    repo = tmp_path / "mono"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    (repo / "environments").mkdir()
    (repo / "environments" / "dev.yaml").write_text(yaml.safe_dump(http_env(1, gitops={"path": "rendered/{env}"})))
    assert run("render", "dev", "--specs", str(repo / "environments"), "--out", str(repo / "rendered")).exit_code == 0
    commit_all(repo, "specs and rendered tree")
    result = run("check", "dev", "--specs", str(repo / "environments"), "--repo", str(repo / "rendered"))
    assert (result.exit_code, result.stdout) == (0, "dev: up to date\n")
    app = yaml.safe_load((repo / "rendered" / "dev" / "_gitops" / "argocd" / "application-dev.yaml").read_text())
    assert app["spec"]["source"] == {"repoURL": REPO_URL, "targetRevision": "main", "path": "rendered/dev"}


def test_specs_outside_git_are_refused(repos: tuple[Path, Path], tmp_path: Path) -> None:
    _specs, gitops = repos
    loose = tmp_path / "loose"
    loose.mkdir()
    (loose / "dev.yaml").write_text(yaml.safe_dump(http_env(1)))
    result = run("check", "dev", "--specs", str(loose), "--repo", str(gitops))
    assert result.exit_code == 1
    assert error_lines(result) == [f"error: {loose}: specs are not in a git repository; check compares commits"]


def test_a_gitops_folder_that_is_not_a_repository_is_refused(repos: tuple[Path, Path], tmp_path: Path) -> None:
    specs, _gitops = repos
    result = run("check", "dev", "--specs", str(specs), "--repo", str(tmp_path / "nowhere"))
    assert result.exit_code == 1
    assert error_lines(result) == [
        f"error: {tmp_path / 'nowhere'}: not a git repository (pass the GitOps checkout with --repo)"
    ]


def test_a_symlink_among_committed_specs_is_refused(repos: tuple[Path, Path]) -> None:
    specs, gitops = repos
    (specs / "evil.yaml").symlink_to("/etc/passwd")
    commit_all(specs.parent, "symlink")
    result = run("check", "dev", "--specs", str(specs), "--repo", str(gitops))
    assert result.exit_code == 1
    assert error_lines(result) == [f"error: {specs.resolve()}/evil.yaml: a symlink among the specs at HEAD is refused"]
    assert "Traceback" not in result.output


def test_an_invalid_spec_at_head_is_reported_at_the_users_path(repos: tuple[Path, Path]) -> None:
    specs, gitops = repos
    (specs / "dev.yaml").write_text("gateways: {}\nhots: {}\n")
    commit_all(specs.parent, "typo")
    result = run("check", "dev", "--specs", str(specs), "--repo", str(gitops))
    assert result.exit_code == 2
    lines = error_lines(result)
    assert lines, result.stderr
    assert all(line.startswith(f"error: {specs}/dev.yaml:") for line in lines), lines


def test_an_environment_that_is_a_file_at_head_is_refused(repos: tuple[Path, Path], tmp_path: Path) -> None:
    specs, _gitops = repos
    other, _bare = init_repo_with_remote(tmp_path / "other")
    (other / "dev").write_text("not a folder\n")
    commit_all(other, "file")
    result = run("check", "dev", "--specs", str(specs), "--repo", str(other))
    assert result.exit_code == 1
    assert error_lines(result) == [f"error: {other}/dev: is not a folder at HEAD ({head(other)[:12]})"]
