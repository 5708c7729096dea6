"""The oracle tier's fixtures: the pinned istioctl, built once (scripts/build_istioctl.py) or the reason it is not."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

import pytest

ORACLE_ENV = "GWPIPE_ORACLE"
SCRIPT = Path(__file__).resolve().parent.parent.parent / "scripts" / "build_istioctl.py"


def build_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_istioctl", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "oracle: differential tests against the real istioctl (tox -e oracle)")


@pytest.fixture(scope="session")
def istioctl() -> Path:
    """The pinned istioctl; the test is skipped, naming why, where it cannot be had."""
    build = build_script()
    if os.environ.get(ORACLE_ENV) not in ("1", "cached"):
        # the whole suite leaves the tier to its own tox env, which CI runs once
        pytest.skip(
            f"the oracle tier runs under `tox -e oracle` ({ORACLE_ENV}=1), which builds istioctl "
            f"{build.ISTIO_VERSION} from the Go module proxy"
        )
    if os.environ.get(ORACLE_ENV) == "cached":
        # `tox` (CI) runs the tier only with a binary built before: a cold build costs minutes of CPU
        cached = build.binary_path()
        if not cached.is_file():
            pytest.skip(
                f"no istioctl {build.ISTIO_VERSION} built yet at {cached}: `tox -e oracle` "
                "(or `python scripts/build_istioctl.py`) builds it once"
            )
        return Path(cached)
    try:
        return Path(build.ensure_istioctl())
    except build.BuildError as exc:
        pytest.skip(f"istioctl {build.ISTIO_VERSION} could not be built: {exc}")
