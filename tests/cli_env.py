"""A one-environment workspace for command-line tests: the smallest valid spec and a folder holding it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

GOOD = """\
namespace: shop
gateways:
  web:
    selector: {istio: ingressgateway}
hosts:
  a.example.com:
    gateway: web
    routes:
      - destination: {host: app, port: 80}
"""


@pytest.fixture
def cwd(tmp_path: Path) -> Path:
    """A folder with `environments/dev.yaml` holding GOOD."""
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "dev.yaml").write_text(GOOD)
    return tmp_path


def gwpipe(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m gwpipe ARGS` in `cwd`, with `env` added to this process's environment."""
    return subprocess.run(
        [sys.executable, "-m", "gwpipe", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )
