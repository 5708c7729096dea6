"""`gwpipe render` checks every rendered object against the built-in schema catalog, with no configuration."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _render(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GWPIPE_CRDS", "GWPIPE_KUBERNETES_VERSION")}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    return subprocess.run(
        ["gwpipe", "render", "prod", "--specs", str(REPO / "environments"), "--out", str(tmp_path / "out"), *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        check=False,
    )


def test_render_checks_every_kind_it_writes(tmp_path: Path) -> None:
    done = _render(tmp_path)
    assert done.returncode == 0, done.stderr
    # HelmRelease and IstioOperator come from pinned Go modules: the catalog covers every kind prod renders
    assert [line for line in done.stderr.splitlines() if "GWP0101" in line] == []


def test_a_wrong_enum_from_a_template_override_fails_the_render_at_the_field(tmp_path: Path) -> None:
    original = (REPO / "templates" / "http" / "gateway.yaml.j2").read_text(encoding="utf-8")
    line = "      {{ key }}: {{ value | tojson }}"
    assert line in original
    # a value no plugin plans (plugins' own values are held to the plan before any schema check runs)
    injected = line + '\n{% if key == "mode" %}      maxProtocolVersion: "TLSV9"\n{% endif %}'
    changed = original.replace(line, injected)
    (tmp_path / "overrides" / "http").mkdir(parents=True)
    (tmp_path / "overrides" / "http" / "gateway.yaml.j2").write_text(changed, encoding="utf-8")
    done = _render(tmp_path, "--templates", str(tmp_path / "overrides"))
    assert done.returncode == 1, done.stderr
    assert not (tmp_path / "out").exists()
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert errors
    first = errors[0]
    assert first.startswith("error: shop/gateway-public-gateway.yaml:")
    file_line = int(first.split(":")[2])
    prefix = (
        f"error: shop/gateway-public-gateway.yaml:{file_line}: IST0106 Gateway shop/public-gateway: "
        "spec.servers[1].tls.maxProtocolVersion: unsupported value, got 'TLSV9'; allowed: "
    )
    assert first.startswith(prefix)
    assert "TLSV1_3" in first.removeprefix(prefix)
    # the line is the one of `maxProtocolVersion:` in the object the override renders (seen with the
    # schema check blocked, the one way to write that object)
    written = _render(tmp_path, "--templates", str(tmp_path / "overrides"), "--block", "schema")
    assert written.returncode == 0, written.stderr
    text = (tmp_path / "out" / "prod" / "shop" / "gateway-public-gateway.yaml").read_text(encoding="utf-8")
    lines = [n for n, t in enumerate(text.splitlines(), 1) if t.strip().startswith("maxProtocolVersion:")]
    assert file_line == lines[0]


def test_an_unreachable_crd_url_fails_the_render_with_one_error_and_a_hint(tmp_path: Path) -> None:
    url = "http://127.0.0.1:9/releases/v1.2.3/crds.yaml"
    env = {k: v for k, v in os.environ.items() if k != "GWPIPE_KUBERNETES_VERSION"}
    env.update({"XDG_CACHE_HOME": str(tmp_path / "cache"), "GWPIPE_CRDS": url})
    done = subprocess.run(
        ["gwpipe", "render", "prod", "--specs", str(REPO / "environments"), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        check=False,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [
        f"error: {url}: cannot fetch: cannot connect (offline, or the host is unreachable)",
        "hint: GWPIPE_CRDS[0] lists this URL; fetch it once online (it is then cached), or save the file and run "
        "`gwpipe crds import FILE`, or drop the entry: the built-in catalog covers Istio, Gateway API, "
        "cert-manager, Argo CD and Flux",
    ]
    assert not (tmp_path / "out").exists()
