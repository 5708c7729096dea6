"""The CI workflow users copy runs: its shell steps, on a clean clone of gwpipe installed at a pinned ref."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
WORKFLOW = REPO / ".github" / "workflows" / "gwpipe.yaml"
ACTION = REPO / "action.yml"
TAG = "v0.0.0-ci-test"
# a stand-in for the GitHub CLI: records its arguments; editing the last comment fails the first time
FAKE_GH = """#!/bin/sh
echo "$*" >> "$GH_LOG"
case "$*" in *--edit-last*) [ -f "$GH_LOG.edited" ] && exit 0; touch "$GH_LOG.edited"; exit 1;; esac
"""


def workflow_steps() -> dict[str, dict[str, Any]]:
    workflow: dict[Any, Any] = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    return {step["id"]: step for step in workflow["jobs"]["gwpipe"]["steps"] if "id" in step}


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def ci(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A clean clone of this worktree's HEAD, tagged; a fresh venv; a specs repository as `gwpipe init` starts it."""
    base = tmp_path_factory.mktemp("ci")
    source = base / "gwpipe"
    assert run(["git", "clone", "-q", str(REPO), str(source)], base).returncode == 0
    assert run(["git", "tag", TAG], source).returncode == 0
    venv = base / "venv"
    assert run([sys.executable, "-m", "venv", "--without-pip", str(venv)], base).returncode == 0
    # gwpipe's dependencies (and pip, setuptools) come from the test's own environment, so nothing is downloaded
    (next(venv.glob("lib/python*/site-packages")) / "_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    fake = base / "fake-bin"
    fake.mkdir()
    (fake / "gh").write_text(FAKE_GH)
    (fake / "gh").chmod(0o755)
    specs = base / "specs"
    workflow_env = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))["env"]
    env = {
        **os.environ,
        **{k: str(v) for k, v in workflow_env.items() if "${{" not in str(v)},
        "PATH": f"{venv / 'bin'}{os.pathsep}{fake}{os.pathsep}/usr/bin{os.pathsep}/bin",
        # the pip URL of a local clone needs a host part (pip rejects git+file:///)
        "GWPIPE_GIT_URL": f"file://localhost{source}",
        "GWPIPE_REF": TAG,
        "PIP_NO_DEPS": "1",
        # the test environment has gwpipe installed too (visible through _deps.pth): install the clone anyway
        "PIP_IGNORE_INSTALLED": "1",
        "PIP_NO_INDEX": "1",
        "PIP_NO_BUILD_ISOLATION": "0",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "GITHUB_STEP_SUMMARY": str(base / "summary.md"),
        "GH_LOG": str(base / "gh.log"),
        "GWPIPE_PR": "42",
    }
    env.pop("VIRTUAL_ENV", None)
    return {"base": base, "specs": specs, "env": env, "venv": venv}


def step(ci: dict[str, Any], name: str, **extra: str) -> subprocess.CompletedProcess[str]:
    body = workflow_steps()[name]
    env = {**ci["env"], **{k: v for k, v in (body.get("env") or {}).items() if "${{" not in str(v)}, **extra}
    return run(["bash", "-c", body["run"]], ci["specs"], env)


def git(cwd: Path, *args: str) -> None:
    author = ["-c", "user.email=ci@example.com", "-c", "user.name=ci"]
    assert run(["git", *author, *args], cwd).returncode == 0


def test_every_step_the_action_runs_is_the_workflows_own() -> None:
    action: dict[str, Any] = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    in_action = {s["id"]: s["run"] for s in action["runs"]["steps"] if s.get("id") in workflow_steps()}
    assert in_action == {name: s["run"] for name, s in workflow_steps().items()}
    assert list(workflow_steps()) == ["install", "validate", "plan", "comment", "check"]


def test_a_branch_is_refused_as_the_pinned_ref(ci: dict[str, Any]) -> None:
    ci["specs"].mkdir(exist_ok=True)
    result = step(ci, "install", GWPIPE_REF="main")
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"::error::GWPIPE_REF=main is neither a tag of {ci['env']['GWPIPE_GIT_URL']} nor a full commit SHA"
    ]


def install(ci: dict[str, Any]) -> str:
    """Run the install step once per module; the installed console script."""
    if "gwpipe" not in ci:
        ci["specs"].mkdir(exist_ok=True)
        installed = step(ci, "install")
        assert installed.returncode == 0, installed.stderr
        assert installed.stdout.splitlines()[-1] == "gwpipe, version 0.1.0"
        ci["gwpipe"] = str(ci["venv"] / "bin" / "gwpipe")
    return str(ci["gwpipe"])


def fleet(gwpipe: str, folder: Path) -> None:
    """Two environments from `gwpipe init`, rendered into `rendered/` and committed."""
    folder.mkdir(exist_ok=True)
    assert run([gwpipe, "init", "--env", "dev", "--env", "prod", "--namespace", "shop"], folder).returncode == 0
    assert run([gwpipe, "render", "--all", "--out", "rendered"], folder).returncode == 0
    git(folder, "init", "-q")
    git(folder, "add", "-A")
    git(folder, "commit", "-qm", "fleet")


def test_the_steps_install_validate_and_check_a_fleet(ci: dict[str, Any]) -> None:
    gwpipe = install(ci)
    located = run([str(ci["venv"] / "bin" / "python"), "-c", "import gwpipe; print(gwpipe.__file__)"], ci["base"])
    assert located.stdout.startswith(str(ci["venv"])), "gwpipe must come from the clean clone, not this worktree"
    specs = ci["specs"]
    fleet(gwpipe, specs)

    validated = step(ci, "validate")
    assert (validated.returncode, validated.stdout.splitlines()) == (0, ["dev: valid", "prod: valid"])
    checked = step(ci, "check")
    assert (checked.returncode, checked.stdout.splitlines()) == (0, ["dev: up to date", "prod: up to date"])

    # a spec change committed without its rendered files: the job fails at check, naming the file
    dev = specs / "environments" / "dev.yaml"
    # the host is the base's (`www.${domain}`); dev overrides its route
    dev.write_text(
        dev.read_text() + 'hosts:\n  "www.${domain}":\n    routes:\n      - destination: {host: web, port: 8080}\n'
    )
    git(specs, "commit", "-qam", "dev web on 8080")
    stale = step(ci, "check")
    assert stale.returncode == 1
    assert stale.stderr.splitlines() == [
        "error: rendered/dev/shop/virtualservice-www.yaml: committed file differs from the render of "
        "environments/dev.yaml at HEAD"
    ]


def test_the_plan_step_writes_the_markdown_plan_and_the_comment_step_posts_it(ci: dict[str, Any]) -> None:
    if not (ci["specs"] / ".git").is_dir():
        test_the_steps_install_validate_and_check_a_fleet(ci)  # run alone: the fleet and its stale commit first
    planned = step(ci, "plan")
    assert planned.returncode == 0, planned.stderr
    plan = (ci["specs"] / ci["env"]["GWPIPE_PLAN_FILE"]).read_text()
    # the weight-free change of this fleet: dev's route moved from port 80 to 8080
    assert "dev" in plan
    assert "8080" in plan
    assert planned.stdout == plan
    assert Path(ci["env"]["GITHUB_STEP_SUMMARY"]).read_text() == plan
    for _ in range(2):
        assert step(ci, "comment").returncode == 0
    calls = Path(ci["env"]["GH_LOG"]).read_text().splitlines()
    body = f"pr comment 42 --body-file {ci['env']['GWPIPE_PLAN_FILE']}"
    # first run: no comment to edit, one is created; second run: the comment is edited in place
    assert calls == [f"{body} --edit-last", body, f"{body} --edit-last"]


def test_the_pre_commit_hooks_entries_run_as_documented(ci: dict[str, Any], tmp_path: Path) -> None:
    gwpipe = install(ci)
    fleet(gwpipe, tmp_path)
    hooks = {hook["id"]: hook for hook in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    assert re.search(hooks["gwpipe-validate"]["files"], "environments/dev.yaml")
    env = {**ci["env"], "PATH": f"{ci['venv'] / 'bin'}{os.pathsep}{ci['env']['PATH']}"}
    validate = run(shlex.split(hooks["gwpipe-validate"]["entry"]), tmp_path, env)
    assert (validate.returncode, validate.stdout.splitlines()) == (0, ["dev: valid", "prod: valid"])
    # pre-commit appends the hook's `args` (the header of .pre-commit-hooks.yaml shows --repo rendered)
    check = run([*shlex.split(hooks["gwpipe-check"]["entry"]), "--repo", "rendered"], tmp_path, env)
    assert (check.returncode, check.stdout.splitlines()) == (0, ["dev: up to date", "prod: up to date"])
    (tmp_path / "environments" / "prod.yaml").write_text("namespace: Not_A_Label\n")
    broken = run(shlex.split(hooks["gwpipe-validate"]["entry"]), tmp_path, env)
    assert broken.returncode == 2
    assert broken.stderr.startswith("error: environments/prod.yaml:")
