"""Fixtures for gwpipe's tests and for plugin authors: spec files, in-memory renders, git repos."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
import yaml

from gwpipe.engine import Bundle, Options, Pipeline
from gwpipe.hooks.manager import create_manager
from gwpipe.model import RenderedObject


def write_spec(folder: Path, data: dict[str, Any] | str, name: str = "test") -> Path:
    """Write a spec (a dict, or YAML text kept byte for byte) as `folder/<name>.yaml`."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def build(
    folder: Path,
    data: dict[str, Any] | str,
    name: str = "test",
    blocked: Iterable[str] = (),
    plugins: Iterable[object] = (),
    **options: Any,
) -> Bundle:
    """Load, validate, plan, render and check one spec with the built-ins plus `plugins` (no entry points).

    A plugin author passes the module (or object) under test in `plugins`; it registers after the
    built-ins under its `__name__` (or class name), as an entry-point plugin would.
    """
    named = [(str(getattr(plugin, "__name__", type(plugin).__name__)), plugin) for plugin in plugins]
    pm = create_manager(blocked=blocked, entry_points=False, plugins=named)
    pipeline = Pipeline(Options(blocked=list(blocked), **options), pm=pm)
    path = write_spec(folder, data, name)
    return pipeline.build(pipeline.load(path, folder))


def objects_by_ref(bundle: Bundle) -> dict[str, dict[str, Any]]:
    """Parsed objects keyed `Kind namespace/name` (or `Kind name` when cluster-scoped)."""
    return {obj.ref: obj.obj for obj in bundle.objects}


def find(objects: list[RenderedObject], kind: str, name: str) -> dict[str, Any]:
    """The parsed object of `kind` and `name`; fails the test when absent."""
    for obj in objects:
        if obj.request.kind == kind and obj.request.name == name:
            return obj.obj
    raise AssertionError(f"no {kind} {name} among {[o.ref for o in objects]}")


def git(cwd: Path, *args: str) -> str:
    """Run git in `cwd` (hooks off) and return its stdout."""
    result = subprocess.run(
        ["git", "-c", "core.hooksPath=/dev/null", *args], cwd=cwd, check=True, capture_output=True, text=True
    )
    return result.stdout


def init_repo_with_remote(base: Path) -> tuple[Path, Path]:
    """A working clone `base/work` of a bare repository `base/remote.git`, with one commit on main."""
    bare = base / "remote.git"
    work = base / "work"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    subprocess.run(["git", "clone", "-q", str(bare), str(work)], check=True, capture_output=True)
    git(work, "config", "user.name", "test")
    git(work, "config", "user.email", "test@localhost")
    (work / "README.md").write_text("gitops\n")
    git(work, "add", "README.md")
    git(work, "commit", "-q", "-m", "init")
    git(work, "push", "-q", "origin", "main")
    return work, bare


@pytest.fixture
def spec_dir(tmp_path: Path) -> Path:
    """An empty folder to write specs into."""
    folder = tmp_path / "environments"
    folder.mkdir()
    return folder


@pytest.fixture
def git_remote(tmp_path: Path) -> tuple[Path, Path]:
    """(working clone, bare remote) with one commit on main."""
    return init_repo_with_remote(tmp_path)
