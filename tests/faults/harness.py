"""The fault suite's tools: specs, a reference commit, a `gwpipe` runner that can put the git fault wrapper first."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gwpipe.engine import Options, Pipeline
from gwpipe.git.commit import commit_bundles
from gwpipe.hooks.manager import create_manager
from gwpipe.testing import git, write_spec

HERE = Path(__file__).parent
REAL_GIT = shutil.which("git") or "git"


def spec(version: int) -> dict[str, Any]:
    """A small environment; each version renders different bytes."""
    hosts = {
        f"h{i}.example.com": {"gateway": "web", "routes": [{"destination": {"host": f"app{i}", "port": 80}}]}
        for i in range(version + 1)
    }
    return {"namespace": "shop", "gateways": {"web": {"selector": {"istio": "ingressgateway"}}}, "hosts": hosts}


def write_specs(folder: Path, version: int, names: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        write_spec(folder, spec(version), name)
    return folder


def commit_in_process(specs: Path, repo: Path, names: list[str]) -> None:
    """What a clean, uninterrupted render of `names` commits (the reference every fault is compared with)."""
    pipeline = Pipeline(Options(), pm=create_manager(entry_points=False))
    bundles = [pipeline.build(pipeline.load(specs / f"{name}.yaml", specs)) for name in names]
    commit_bundles(bundles, repo, Options(), create=True)


def tree_of(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD^{tree}").strip()


def leftovers(repo: Path) -> list[str]:
    """Everything a run may leave behind: untracked or staged files, staging folders, locks, journal, quarantines."""
    found = [p.name for p in repo.iterdir() if p.name.startswith(".gwpipe")]
    found += [p.name for p in (repo / ".git").iterdir() if p.name in ("index.lock", "gwpipe-run.json")]
    found += [p.name for p in (repo / ".git" / "objects").glob("tmp_objdir-gwpipe-*")]
    status = git(repo, "status", "--porcelain", "--untracked-files=all")
    return found + status.splitlines()


def gwpipe_env(fault: dict[str, str] | None = None, wrapper_bin: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("GWPIPE_REPO", None)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    if fault is not None and wrapper_bin is not None:
        env.update(fault, GWPIPE_REAL_GIT=REAL_GIT)
        env["PATH"] = os.pathsep.join([str(wrapper_bin), env["PATH"]])
    return env


def run_gwpipe(
    args: list[str],
    cwd: Path,
    fault: dict[str, str] | None = None,
    wrapper_bin: Path | None = None,
    file_limit: int | None = None,
) -> subprocess.CompletedProcess[str]:
    def limit() -> None:
        if file_limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_limit, file_limit))

    preexec: Callable[[], None] | None = limit if file_limit is not None else None
    return subprocess.run(
        ["gwpipe", *args],
        cwd=cwd,
        env=gwpipe_env(fault, wrapper_bin),
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=preexec,
        check=False,
    )
