"""Packaging: the wheel installs into a fresh venv as `gwpipe`, renders, and loads a third-party entry-point plugin."""

from __future__ import annotations

import json
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
EXT_PLUGIN = Path(__file__).resolve().parent / "fixtures" / "ext_plugin"
CORS_PLUGIN = REPO / "examples" / "plugins" / "gwpipe-cors"
SPEC = """\
namespace: shop
hello:
  message: "hi: from a wheel"
gateways:
  web:
    selector: {istio: ingressgateway}
hosts:
  a.example.com:
    gateway: web
    routes:
      - destination: {host: app, port: 80}
"""


def run(*argv: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(a) for a in argv], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{argv}\n{result.stdout}\n{result.stderr}"
    return result


def wheel_of(source: Path, work: Path) -> Path:
    """Build a wheel from a copy of `source` (so no build/ or egg-info lands in the checkout)."""
    copy = work / f"src-{source.name}"
    shutil.copytree(
        source, copy, ignore=shutil.ignore_patterns(".git", ".gwpipe", "tests", "build", "*.egg-info", "__pycache__")
    )
    dist = work / "dist"
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", dist, copy)
    [wheel] = [w for w in dist.glob("*.whl") if w.name.split("-")[0].replace("_", "-") == _dist_name(copy)]
    return wheel


def _dist_name(project: Path) -> str:
    import tomllib

    return str(tomllib.loads((project / "pyproject.toml").read_text())["project"]["name"]).replace("_", "-")


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with gwpipe installed from its wheel; dependencies come from the test venv (no download)."""
    work = tmp_path_factory.mktemp("packaging")
    gwpipe_wheel = wheel_of(REPO, work)
    plugin_wheel = wheel_of(EXT_PLUGIN, work)
    env = work / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", env)
    purelib = next(env.glob("lib/python*/site-packages"))
    # a plain path entry: the test venv's .pth files (the editable gwpipe finder) are NOT processed from it
    (purelib / "deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    python = env / "bin" / "python"
    run(python, "-m", "pip", "install", "--no-deps", "--no-index", "--ignore-installed", "-q", gwpipe_wheel)
    (work / "plugin-wheel").write_text(str(plugin_wheel))
    (work / "cors-wheel").write_text(str(wheel_of(CORS_PLUGIN, work)))
    return env


def test_wheel_installs_gwpipe_into_the_venv(venv: Path, tmp_path: Path) -> None:
    python = venv / "bin" / "python"
    where = run(
        python, "-c", "import gwpipe, gwpipe.plugins.http as h; print(gwpipe.__file__); print(h.__file__)"
    ).stdout
    for line in where.splitlines():
        assert Path(line).is_relative_to(venv), line
    templates = run(
        python, "-c", "from gwpipe.render.environment import builtin_template_dir as b; print(b())"
    ).stdout.strip()
    assert Path(templates).is_relative_to(venv)
    assert (Path(templates) / "http" / "gateway.yaml.j2").is_file()


def test_installed_cli_renders_and_lists_plugins(venv: Path, tmp_path: Path) -> None:
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "dev.yaml").write_text(SPEC.replace('hello:\n  message: "hi: from a wheel"\n', ""))
    gwpipe = venv / "bin" / "gwpipe"
    result = run(gwpipe, "render", "environments/dev.yaml", "--out", tmp_path / "out", cwd=tmp_path)
    assert "dev: 2 objects" in result.stdout
    gateway = yaml.safe_load((tmp_path / "out" / "dev" / "shop" / "gateway-web.yaml").read_text())
    assert gateway["spec"]["servers"][0]["hosts"] == ["a.example.com"]
    rows = json.loads(run(gwpipe, "plugins", "--output", "json", cwd=tmp_path).stdout)
    assert rows[0]["name"] == "http"
    assert rows[0]["builtin"]


def test_external_plugin_seen_rendered_and_blockable(venv: Path, tmp_path: Path) -> None:
    python = venv / "bin" / "python"
    plugin_wheel = Path((venv.parent / "plugin-wheel").read_text())
    run(python, "-m", "pip", "install", "--no-deps", "--no-index", "-q", plugin_wheel)
    gwpipe = venv / "bin" / "gwpipe"
    rows = {r["name"]: r for r in json.loads(run(gwpipe, "plugins", "--output", "json", cwd=tmp_path).stdout)}
    assert rows["hello"] == {
        "name": "hello",
        "version": "0.3.0",
        "builtin": False,
        "hooks": ["gwpipe_resources", "gwpipe_spec_schema", "gwpipe_template_folders"],
        "spec_keys": ["hello"],
    }
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "dev.yaml").write_text(SPEC)
    run(gwpipe, "render", "dev", "--out", "out", cwd=tmp_path)
    config = yaml.safe_load((tmp_path / "out" / "dev" / "shop" / "configmap-hello.yaml").read_text())
    assert config["data"] == {"message": "hi: from a wheel"}
    assert config["metadata"]["annotations"]["gwpipe.dev/plugins"] == "hello"
    # blocked: the plugin is not loaded, so its spec key is unknown again
    blocked = subprocess.run(
        [gwpipe, "render", "dev", "--out", "out2", "--block", "hello"], cwd=tmp_path, capture_output=True, text=True
    )
    assert blocked.returncode == 2
    assert blocked.stderr.startswith("error: environments/dev.yaml:3:3: hello: unknown field")
    names = [r["name"] for r in json.loads(run(gwpipe, "plugins", "--block", "hello", "--output", "json").stdout)]
    assert "hello" not in names


CORS_SPEC = """\
namespace: shop
gateways:
  web:
    selector: {istio: ingressgateway}
hosts:
  api.example.com:
    gateway: web
    virtualService: api
    cors:
      allowOrigins: [{exact: "https://shop.example.com"}]
      allowMethods: [GET, POST]
    routes:
      - match: [{uri: {prefix: /v1}}]
        destination: {host: v1, port: 80}
      - destination: {host: app, port: 80}
"""


def test_example_cors_plugin_installs_by_entry_point_and_sets_cors_policy(venv: Path, tmp_path: Path) -> None:
    python = venv / "bin" / "python"
    run(python, "-m", "pip", "install", "--no-deps", "--no-index", "-q", Path((venv.parent / "cors-wheel").read_text()))
    gwpipe = venv / "bin" / "gwpipe"
    rows = {r["name"]: r for r in json.loads(run(gwpipe, "plugins", "--output", "json", cwd=tmp_path).stdout)}
    assert rows["cors"]["builtin"] is False
    assert rows["cors"]["version"] == "0.1.0"
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "prod.yaml").write_text(CORS_SPEC)
    run(gwpipe, "render", "prod", "--out", "out", cwd=tmp_path)
    vs = yaml.safe_load((tmp_path / "out" / "prod" / "shop" / "virtualservice-api.yaml").read_text())
    policy = {"allowOrigins": [{"exact": "https://shop.example.com"}], "allowMethods": ["GET", "POST"]}
    assert [route["corsPolicy"] for route in vs["spec"]["http"]] == [policy, policy]
    assert vs["metadata"]["annotations"]["gwpipe.dev/plugins"] == "http,cors"
    # blocked, the plugin's schema goes with it: the key is refused rather than silently ignored
    blocked = subprocess.run(
        [gwpipe, "render", "prod", "--out", "out2", "--block", "cors"], cwd=tmp_path, capture_output=True, text=True
    )
    assert blocked.returncode == 2
    assert blocked.stderr.splitlines() == [
        'error: environments/prod.yaml:10:7: hosts["api.example.com"].cors: unknown field; '
        "allowed: gateway, http, mtls, redirect, routes, tls, virtualService"
    ]
    assert not (tmp_path / "out2").exists()
    # and a spec without the key renders with the plugin blocked, without any corsPolicy
    (tmp_path / "environments" / "prod.yaml").write_text(
        CORS_SPEC.replace(CORS_SPEC[CORS_SPEC.index("    cors:") : CORS_SPEC.index("    routes:")], "")
    )
    run(gwpipe, "render", "prod", "--out", "out3", "--block", "cors", cwd=tmp_path)
    vs = yaml.safe_load((tmp_path / "out3" / "prod" / "shop" / "virtualservice-api.yaml").read_text())
    assert all("corsPolicy" not in route for route in vs["spec"]["http"])
    assert vs["metadata"]["annotations"]["gwpipe.dev/plugins"] == "http"
