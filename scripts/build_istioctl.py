"""Maintainer/test script: build the pinned istioctl from the Go module proxy once, cached outside the repository.

Usage: python scripts/build_istioctl.py [--force]

Prints the binary's path. The binary lives in `${XDG_CACHE_HOME:-~/.cache}/gwpipe/oracle/istioctl-<version>`
and is reused by every later run; a file lock keeps two test processes from building it twice, and a failed
build leaves a `.failed` note (its reason) that later runs honour for an hour instead of retrying. The oracle
tier (tests/oracle) imports `ensure_istioctl` from here.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

# the one place the oracle's Istio is pinned: the newest istio.io/istio pseudo-version the module proxy serves
ISTIO_MODULE = "istio.io/istio"
ISTIO_VERSION = "v0.0.0-20260827124520-eed52ebb66ad"
ISTIOCTL_PACKAGE = f"{ISTIO_MODULE}/istioctl/cmd/istioctl"
# stripped and without local paths: a smaller binary whose bytes do not depend on the build folder
BUILD_FLAGS = ("-trimpath", "-ldflags=-s -w")
BUILD_TIMEOUT = 45 * 60
FAILURE_MEMORY = 3600


class BuildError(Exception):
    """istioctl could not be had: the message says why (no go, a failed build, a timeout)."""


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gwpipe" / "oracle"


def binary_path(version: str = ISTIO_VERSION) -> Path:
    return cache_dir() / f"istioctl-{version}"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_istioctl(version: str = ISTIO_VERSION, force: bool = False) -> Path:
    """The cached istioctl binary, built first if missing; BuildError when it cannot be."""
    target = binary_path(version)
    failed = target.with_name(target.name + ".failed")
    if target.is_file() and os.access(target, os.X_OK) and not force:
        return target
    with _locked(target.with_name(target.name + ".lock")):
        # another process may have built it (or failed to) while this one waited for the lock
        if target.is_file() and os.access(target, os.X_OK) and not force:
            return target
        if failed.is_file() and time.time() - failed.stat().st_mtime < FAILURE_MEMORY and not force:
            raise BuildError(failed.read_text(encoding="utf-8").strip())
        try:
            _build(version, target)
        except BuildError as exc:
            failed.write_text(f"{exc}\n", encoding="utf-8")
            raise
        failed.unlink(missing_ok=True)
    return target


def _go() -> str:
    go = shutil.which("go")
    if go is None:
        raise BuildError("go is not on PATH (the oracle builds istioctl from the Go module proxy)")
    return go


def _run(argv: list[str], cwd: Path, env: dict[str, str], deadline: float) -> subprocess.CompletedProcess[str]:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise BuildError(f"building istioctl took longer than {BUILD_TIMEOUT} s")
    try:
        return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=remaining, check=False)
    except subprocess.TimeoutExpired as exc:
        raise BuildError(f"building istioctl took longer than {BUILD_TIMEOUT} s") from exc


def _last_lines(text: str, count: int = 3) -> str:
    return " | ".join(line.strip() for line in text.strip().splitlines()[-count:])


def _build(version: str, target: Path) -> None:
    go = _go()
    deadline = time.monotonic() + BUILD_TIMEOUT
    with tempfile.TemporaryDirectory(prefix="istioctl-build-", dir=target.parent) as scratch:
        work = Path(scratch)
        env = {**os.environ, "GOBIN": str(work / "bin"), "CGO_ENABLED": "0"}
        installed = _run([go, "install", *BUILD_FLAGS, f"{ISTIOCTL_PACKAGE}@{version}"], work, env, deadline)
        if installed.returncode != 0 and "replace directives" in installed.stderr:
            installed = _build_in_module(go, version, work, env, deadline)
        if installed.returncode != 0:
            raise BuildError(f"go install {ISTIOCTL_PACKAGE}@{version} failed: {_last_lines(installed.stderr)}")
        built = work / "bin" / "istioctl"
        if not built.is_file():
            raise BuildError(f"go install {ISTIOCTL_PACKAGE}@{version} left no binary in GOBIN")
        os.replace(built, target)  # same file system: other processes see the whole binary or none


def _build_in_module(
    go: str, version: str, work: Path, env: dict[str, str], deadline: float
) -> subprocess.CompletedProcess[str]:
    """`go install pkg@version` refuses modules with replace directives: build from a throwaway module instead."""
    downloaded = _run([go, "mod", "download", "-json", f"{ISTIO_MODULE}@{version}"], work, env, deadline)
    if downloaded.returncode != 0:
        return downloaded
    go_mod = Path(re.search(r'"GoMod":\s*"([^"]+)"', downloaded.stdout).group(1))  # type: ignore[union-attr]
    upstream = go_mod.read_text(encoding="utf-8")
    go_line = re.search(r"^go \S+$", upstream, re.MULTILINE)
    replaces = re.findall(r"^replace\s*\($.*?^\)$|^replace .*$", upstream, re.MULTILINE | re.DOTALL)
    module = work / "module"
    module.mkdir()
    (module / "go.mod").write_text(
        "\n".join(
            [
                "module gwpipe.invalid/istioctl-oracle",
                go_line.group(0) if go_line else "go 1.26",
                f"require {ISTIO_MODULE} {version}",
                *replaces,
                "",
            ]
        ),
        encoding="utf-8",
    )
    # a build-tagged import keeps istioctl in the module graph for `go mod tidy` without compiling this file
    (module / "tools.go").write_text(
        f'//go:build tools\n\npackage tools\n\nimport _ "{ISTIOCTL_PACKAGE}"\n', encoding="utf-8"
    )
    tidied = _run([go, "mod", "tidy"], module, env, deadline)
    if tidied.returncode != 0:
        return tidied
    return _run([go, "install", *BUILD_FLAGS, ISTIOCTL_PACKAGE], module, env, deadline)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="rebuild even if a cached binary or failure exists")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        path = ensure_istioctl(force=args.force)
    except BuildError as exc:
        print(f"error: istioctl {ISTIO_VERSION}: {exc}", file=sys.stderr)
        return 1
    print(path)
    print(f"ready in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
