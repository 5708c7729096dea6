"""Print how `gwpipe render` scales with the number of hosts, against a CSafeDumper floor.

Each line: hosts, objects rendered, wall_s (a fresh `gwpipe render` process end to end:
validation, checks and commit into a new GitOps repository), floor_s (PyYAML's CSafeDumper
alone dumping the same objects), their ratio, and the render process's peak RSS.
Each size is rendered REPEAT times (default 3, env GWPIPE_BENCH_REPEAT), each in a fresh process
into a fresh repository; the line shows the fastest run, the usual way to filter out a noisy host.
Usage: python benchmarks/render_scale.py [--dir DIR] [N ...]   (default 10 100 1000 2000)
--dir puts the workspace and the GitOps repository there (default: the system temp folder), to
tell the cost of gwpipe from the cost of a busy disk (e.g. --dir /dev/shm).
After each size, a `peers` line times `helm template` and `kapitan compile` on the same hosts (a
Gateway with one server per host and a VirtualService each; no checks, no git) when they are on
PATH, or says why a peer was skipped; they are never installed by this script.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

GWPIPE = [sys.executable, "-m", "gwpipe"]
# extra `gwpipe render` arguments, e.g. GWPIPE_BENCH_ARGS="--block schema" to leave the schema check out
EXTRA_ARGS = os.environ.get("GWPIPE_BENCH_ARGS", "").split()


def spec_text(hosts: int) -> str:
    """An environment with `hosts` hosts, each with its own HTTPS server, route and VirtualService."""
    lines = [
        "namespace: bench",
        "gateways:",
        "  edge:",
        "    selector:",
        "      istio: ingressgateway",
        "hosts:",
    ]
    for i in range(hosts):
        lines += [
            f"  app{i}.bench.example.com:",
            "    gateway: edge",
            "    http: false",
            "    routes:",
            "      - match:",
            "          - uri:",
            "              prefix: /api",
            "        destination:",
            f"          host: app{i}",
            "          port: 8080",
            "        timeout: 5s",
            "    tls:",
            f"      credentialName: app{i}-credential",
            "      certificate:",
            "        issuerRef:",
            "          name: bench-ca",
            "          kind: ClusterIssuer",
            "        issuerType: ca",
        ]
    return "\n".join(lines) + "\n"


def run_render(workspace: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one fresh `gwpipe render bench` process."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [*GWPIPE, "render", "bench", "--repo", str(workspace / "gitops"), *EXTRA_ARGS],
        cwd=workspace,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    out, err = proc.stdout.read(), proc.stderr.read()  # type: ignore[union-attr]
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"render failed:\n{err.decode()}{out.decode()}")
    return wall, usage.ru_maxrss / 1024


def floor(folder: Path) -> tuple[int, float]:
    """Object count and the seconds CSafeDumper alone needs to dump the same objects."""
    objects = [
        yaml.load(p.read_bytes(), Loader=yaml.CSafeLoader)
        for p in sorted(folder.rglob("*.yaml"))
        if p.name != "kustomization.yaml"
    ]
    start = time.perf_counter()
    for obj in objects:
        yaml.dump(obj, Dumper=yaml.CSafeDumper, sort_keys=False)
    return len(objects), time.perf_counter() - start


HELM_TEMPLATE = """\
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: edge, namespace: bench}
spec:
  selector: {istio: ingressgateway}
  servers:
{{- range .Values.hosts }}
    - port: {number: 443, name: https-{{ . }}, protocol: HTTPS}
      hosts: [{{ . }}.bench.example.com]
      tls: {mode: SIMPLE, credentialName: {{ . }}-credential}
{{- end }}
{{- range .Values.hosts }}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: {{ . }}, namespace: bench}
spec:
  hosts: [{{ . }}.bench.example.com]
  gateways: [edge]
  http:
    - match: [{uri: {prefix: /api}}]
      route: [{destination: {host: {{ . }}, port: {number: 8080}}}]
      timeout: 5s
{{- end }}
"""
# the same objects for kapitan's jinja2 input type, which sees the target's inventory and renders with
# trim_blocks and lstrip_blocks (a line holding only a block tag disappears)
KAPITAN_TEMPLATE = """\
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: edge, namespace: bench}
spec:
  selector: {istio: ingressgateway}
  servers:
{% for app in inventory.parameters.hosts %}
    - port: {number: 443, name: https-{{ app }}, protocol: HTTPS}
      hosts: [{{ app }}.bench.example.com]
      tls: {mode: SIMPLE, credentialName: {{ app }}-credential}
{% endfor %}
{% for app in inventory.parameters.hosts %}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: {{ app }}, namespace: bench}
spec:
  hosts: [{{ app }}.bench.example.com]
  gateways: [edge]
  http:
    - match: [{uri: {prefix: /api}}]
      route: [{destination: {host: {{ app }}, port: {number: 8080}}}]
      timeout: 5s
{% endfor %}
"""
# where each peer writes the objects, below its work folder
PEER_OUTPUT = {"helm": "out/bench/templates/hosts.yaml", "kapitan": "compiled/bench/hosts.yaml"}


def peer_times(hosts: int, base: str | None, repeat: int) -> str:
    """`helm=… kapitan=…` seconds (fastest of `repeat`) for the same hosts, or why each was skipped."""
    parts = []
    for name, prepare in (("helm", _helm_command), ("kapitan", _kapitan_command)):
        if shutil.which(name) is None:
            parts.append(f"{name}: not installed")
            continue
        runs = []
        for _ in range(repeat):
            with tempfile.TemporaryDirectory(dir=base) as tmp:
                command = prepare(Path(tmp), [f"app{i}" for i in range(hosts)])
                start = time.perf_counter()
                done = subprocess.run(command, cwd=tmp, capture_output=True)
                runs.append(time.perf_counter() - start)
                made = _objects_made(Path(tmp) / PEER_OUTPUT[name]) if done.returncode == 0 else 0
            if done.returncode != 0:
                parts.append(f"{name}: failed ({done.stderr.decode(errors='replace').strip()[:120]})")
                break
            if made != hosts + 1:  # a timing of broken output would be no comparison at all
                parts.append(f"{name}: failed (wrote {made} objects, expected {hosts + 1})")
                break
        else:
            parts.append(f"{name}_s={min(runs):.2f}")
    return " ".join(parts)


def _objects_made(path: Path) -> int:
    """How many objects the YAML stream at `path` holds (0 when it is missing or unreadable)."""
    try:
        return sum(1 for doc in yaml.load_all(path.read_text(), Loader=yaml.CSafeLoader) if doc)
    except (OSError, yaml.YAMLError):
        return 0


def _helm_command(folder: Path, apps: list[str]) -> list[str]:
    chart = folder / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: bench\nversion: 0.1.0\n")
    (chart / "templates" / "hosts.yaml").write_text(HELM_TEMPLATE)
    (folder / "values.yaml").write_text(yaml.safe_dump({"hosts": apps}))
    return ["helm", "template", "bench", str(chart), "--values", str(folder / "values.yaml"), "--output-dir", "out"]


def _kapitan_command(folder: Path, apps: list[str]) -> list[str]:
    (folder / "templates").mkdir()
    (folder / "templates" / "hosts.yaml").write_text(KAPITAN_TEMPLATE)
    target = {
        "parameters": {
            "hosts": apps,
            "kapitan": {
                "vars": {"target": "bench"},
                "compile": [{"output_path": ".", "input_type": "jinja2", "input_paths": ["templates/hosts.yaml"]}],
            },
        }
    }
    (folder / "inventory" / "targets").mkdir(parents=True)
    (folder / "inventory" / "classes").mkdir()  # kapitan's default inventory backend needs the folder
    (folder / "inventory" / "targets" / "bench.yml").write_text(yaml.safe_dump(target))
    return ["kapitan", "compile"]


def help_time() -> float:
    start = time.perf_counter()
    subprocess.run([*GWPIPE, "--help"], check=True, capture_output=True)
    return time.perf_counter() - start


def compile_bytecode() -> None:
    """Write gwpipe's .pyc files, as `pip install` does for an installed package.

    An editable install compiles on first import, unless PYTHONDONTWRITEBYTECODE is set (as on some CI
    machines): then every fresh process would compile gwpipe's sources again, which is not what a
    user's installation does and not what this benchmark measures.
    """
    code = "import gwpipe, gwpipe.plugins, compileall; [compileall.compile_dir(p, quiet=1) for m in (gwpipe, gwpipe.plugins) for p in m.__path__]"
    subprocess.run([sys.executable, "-c", code], check=True)


def main(sizes: list[int], base: str | None) -> None:
    compile_bytecode()
    print(
        f"workspace: {base or tempfile.gettempdir()}; CRD source: {os.environ.get('GWPIPE_CRDS') or 'built-in catalog'}; "
        f"render arguments: {' '.join(EXTRA_ARGS) or 'none'}; gwpipe bytecode compiled beforehand"
    )
    repeat = int(os.environ.get("GWPIPE_BENCH_REPEAT", "3"))
    for hosts in sizes:
        runs = []
        for _ in range(repeat):
            with tempfile.TemporaryDirectory(dir=base) as tmp:
                workspace = Path(tmp)
                (workspace / "environments").mkdir()
                (workspace / "environments" / "bench.yaml").write_text(spec_text(hosts))
                subprocess.run(["git", "init", "-q", "-b", "main", str(workspace / "gitops")], check=True)
                wall, peak = run_render(workspace)
                objects, floor_s = floor(workspace / "gitops" / "bench")
                runs.append((wall, floor_s, peak, objects))
        wall = min(r[0] for r in runs)
        floor_s = min(r[1] for r in runs)
        peak = max(r[2] for r in runs)
        print(
            f"hosts={hosts} objects={runs[0][3]} wall_s={wall:.2f} floor_s={floor_s:.2f} "
            f"ratio={wall / floor_s:.1f} peak_mb={peak:.0f}",
            flush=True,
        )
        print(f"peers hosts={hosts} {peer_times(hosts, base, repeat)}", flush=True)
    print(f"help_s={min(help_time() for _ in range(5)):.3f}")


if __name__ == "__main__":
    args = sys.argv[1:]
    folder = None
    if args[:1] == ["--dir"]:
        folder, args = args[1], args[2:]
    main([int(a) for a in args] or [10, 100, 1000, 2000], folder)
