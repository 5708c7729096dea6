"""Hostile-input harness: a workspace with a committed GitOps repo, and the failure contract F0 asserted once."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

GOOD_SPEC = """\
namespace: shop
gateways:
  web:
    selector:
      istio: ingressgateway
hosts:
  a.example.com:
    gateway: web
    routes:
      - destination:
          host: webapp
          port: 80
  b.example.com:
    gateway: web
    routes:
      - destination:
          host: shopapp
          port: 8080
"""
REPO = Path(".gwpipe") / "gitops"


@dataclass(frozen=True)
class Snapshot:
    """What must not change when a command fails: GitOps tree bytes, refs, and the user's input files."""

    tree: dict[str, str]
    head: str
    refs: str
    status: str
    inputs: dict[str, str]


def _hash_files(root: Path, skip: Iterable[str] = ()) -> dict[str, str]:
    skipped = set(skip)
    out: dict[str, str] = {}
    if not root.exists():
        return out
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d not in skipped)
        for name in sorted(filenames + [d for d in os.listdir(dirpath) if os.path.islink(os.path.join(dirpath, d))]):
            full = Path(dirpath) / name
            rel = full.relative_to(root).as_posix()
            if full.is_symlink():
                out[rel] = "symlink:" + os.readlink(full)
            elif full.is_file():
                out[rel] = hashlib.sha256(full.read_bytes()).hexdigest()
    return out


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "core.hooksPath=/dev/null", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


class Workspace:
    """A temporary working directory holding `environments/` and a GitOps repo made by a good render."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.specs = root / "environments"
        self.repo = root / REPO
        self.extra_env: dict[str, str] = {}

    def write(self, name: str, text: str | bytes) -> Path:
        path = self.specs / f"{name}.yaml"
        path.write_bytes(text.encode() if isinstance(text, str) else text)
        return path

    def run(self, *args: str, debug: bool = False) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "gwpipe", *(["--debug"] if debug else []), *args]
        env = {**os.environ, "NO_COLOR": "1", **self.extra_env}
        return subprocess.run(argv, cwd=self.root, capture_output=True, text=True, env=env, timeout=120)

    def snapshot(self) -> Snapshot:
        head = git(self.repo, "rev-parse", "HEAD").strip()
        refs = git(self.repo, "for-each-ref", "--format=%(refname) %(objectname)")
        status = git(self.repo, "status", "--porcelain", "--untracked-files=all")
        return Snapshot(
            tree=_hash_files(self.repo, skip=(".git",)),
            head=head,
            refs=refs,
            status=status,
            inputs=_hash_files(self.root, skip=(".gwpipe", "out")),
        )

    def commits(self) -> int:
        return int(git(self.repo, "rev-list", "--count", "HEAD").strip())


@pytest.fixture(scope="session")
def _base_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile-base")
    ws = Workspace(root)
    ws.specs.mkdir()
    ws.write("good", GOOD_SPEC)
    result = ws.run("render", "good")
    assert result.returncode == 0, result.stderr
    assert ws.commits() == 1
    return root


@pytest.fixture
def workspace(_base_workspace: Path, tmp_path: Path) -> Workspace:
    """A fresh copy of the base workspace (a good render of `good` already committed)."""
    root = tmp_path / "ws"
    shutil.copytree(_base_workspace, root, symlinks=True)
    return Workspace(root)


def assert_f0(
    ws: Workspace,
    args: Sequence[str],
    errors: Sequence[str],
    *,
    exit_code: int | None = 2,
    canaries: Sequence[str] = (),
) -> subprocess.CompletedProcess[str]:
    """Run `gwpipe <args>` and assert the whole failure contract F0.

    `errors` are regexes, each matched in order against the whole text after `error: ` of one
    stderr error line (and there must be exactly that many error lines). Also: exit status
    (`exit_code`, or any non-zero when None), no traceback, GitOps tree/refs/HEAD/status and the
    input files byte-identical, and no canary string in stdout or stderr.
    """
    before = ws.snapshot()
    result = ws.run(*args)
    after = ws.snapshot()
    output = result.stdout + result.stderr
    if exit_code is None:
        assert result.returncode != 0, output
    else:
        assert result.returncode == exit_code, output
    assert "Traceback" not in output
    lines = [line.removeprefix("error: ") for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == len(errors), f"expected {len(errors)} error lines, got:\n{result.stderr}"
    for pattern, line in zip(errors, lines, strict=True):
        assert re.fullmatch(pattern, line), f"{line!r} does not match {pattern!r}"
    assert after.tree == before.tree, "GitOps working tree changed"
    assert after.head == before.head, "a commit was made"
    assert after.refs == before.refs, "refs changed"
    assert after.status == before.status == "", "working tree left dirty"
    assert after.inputs == before.inputs, "input files changed"
    for canary in canaries:
        assert canary not in output, f"canary {canary!r} echoed"
    return result


def loc(file: str, line: int, col: int | None = None, field: str | None = None) -> str:
    """Regex for `environments/<file>.yaml:<line>:<col>: <field>: ` (col any when None)."""
    column = r"\d+" if col is None else str(col)
    head = rf"environments/{re.escape(file)}\.yaml:{line}:{column}: "
    return head + (re.escape(field) + ": " if field else "")


def install_plugin(ws: Workspace, name: str, source: str, version: str = "0.1") -> None:
    """Make `source` an entry-point plugin named `name` (group "gwpipe") for the workspace's runs.

    A module plus a `.dist-info` folder on PYTHONPATH is exactly what importlib.metadata reads for
    an installed distribution, so the real entry-point loading path is exercised.
    """
    site = ws.root / "site"
    site.mkdir(exist_ok=True)
    (site / f"{name}.py").write_text(source, encoding="utf-8")
    info = site / f"{name}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[gwpipe]\n{name} = {name}\n", encoding="utf-8")
    ws.extra_env["PYTHONPATH"] = str(site)
