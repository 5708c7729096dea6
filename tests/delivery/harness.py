"""Shared pieces for propose tests: a GitOps bare remote, specs, a forge stand-in, a CLI runner, ref snapshots."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from stand_ins.forges import STAND_INS, TOKEN_VARIABLES, ForgeStandIn

from gwpipe.cli.main import main
from gwpipe.testing import git, init_repo_with_remote

TOKEN = "ghp_CANARYtoken0123456789abcdefABCDEF"


def spec(hosts: list[str], gateway: str = "public-gw") -> dict[str, Any]:
    """A small valid spec: one gateway and one VirtualService per host."""
    return {
        "istio": {"version": "1.17"},
        "namespace": "shop",
        "gatewayRefs": "short",
        "gateways": {gateway: {"selector": {"istio": "ingressgateway"}}},
        "hosts": {
            host: {"gateway": gateway, "routes": [{"destination": {"host": host.split(".")[0], "port": 80}}]}
            for host in hosts
        },
    }


def write_env(specs: Path, env: str, data: dict[str, Any]) -> Path:
    specs.mkdir(parents=True, exist_ok=True)
    path = specs / f"{env}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def refs(bare: Path) -> dict[str, str]:
    """Every ref of the bare repository: name -> sha."""
    out = subprocess.run(
        ["git", "--git-dir", str(bare), "for-each-ref", "--format=%(refname) %(objectname)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(tuple(line.split(" ", 1)) for line in out.splitlines())  # type: ignore[misc]


def rev(bare: Path, ref: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(bare), "rev-parse", ref], capture_output=True, text=True, check=True
    ).stdout.strip()


def log(bare: Path, ref: str, fmt: str = "%H") -> list[str]:
    out = subprocess.run(
        ["git", "--git-dir", str(bare), "log", f"--format={fmt}", ref], capture_output=True, text=True, check=True
    ).stdout
    return out.splitlines()


def advance(work: Path, branch: str = "main", name: str = "unrelated.txt") -> str:
    """Someone else pushes a commit to `branch` of the remote; returns the new sha."""
    git(work, "fetch", "-q", "origin")
    known = git(work, "branch", "-r", "--list", f"origin/{branch}").strip()
    git(work, "checkout", "-q", "-B", branch, f"origin/{branch}" if known else "origin/main")
    path = work / name
    path.write_text(path.read_text() + "x\n" if path.exists() else "x\n")
    git(work, "add", name)
    git(work, "commit", "-q", "-m", f"touch {name}")
    git(work, "push", "-q", "origin", f"HEAD:refs/heads/{branch}")
    return git(work, "rev-parse", "HEAD").strip()


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def errors(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("error: ")]


def run(*args: str) -> Run:
    result = CliRunner().invoke(main, list(args), catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(result.exit_code, result.stdout, result.stderr)


@dataclass
class World:
    """A GitOps bare remote with one commit on main, a working clone, a specs folder and a forge stand-in."""

    tmp: Path
    work: Path
    bare: Path
    specs: Path
    forge: ForgeStandIn

    def propose(self, *envs: str, extra: tuple[str, ...] = ()) -> Run:
        args = [
            "propose",
            *envs,
            "--specs",
            str(self.specs),
            "--remote",
            str(self.bare),
            "--forge",
            self.forge.name,
            "--api-url",
            self.forge.api_url,
            "--repo-slug",
            self.forge.slug,
            *extra,
        ]
        return run(*args)

    def assert_failed_cleanly(
        self, result: Run, before: dict[str, str], pattern: str, exit_code: int = 1, debug: bool = False
    ) -> None:
        """The whole failure contract: exit code, one error line, no traceback, no ref moved, no PR, no token."""
        assert result.exit_code == exit_code, (result.stdout, result.stderr)
        assert len(result.errors) == 1, result.stderr
        assert re.fullmatch(pattern, result.errors[0]), result.errors[0]
        assert ("Traceback" in result.stderr) == debug
        assert TOKEN not in result.stdout + result.stderr
        assert refs(self.bare) == before
        assert self.forge.writes() == []


def make_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forge: str = "github") -> Iterator[World]:
    work, bare = init_repo_with_remote(tmp_path)
    monkeypatch.setenv(TOKEN_VARIABLES[forge], TOKEN)
    with STAND_INS[forge](bare, TOKEN) as stand_in:
        yield World(tmp_path, work, bare, tmp_path / "environments", stand_in)
        assert stand_in.violations == []


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """Bare remote + GitHub stand-in."""
    yield from make_world(tmp_path, monkeypatch, "github")
