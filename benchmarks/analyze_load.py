"""Print how long `gwpipe analyze` takes on a rendered tree, and how much of it is reading the files.

Renders `render_scale.spec_text(HOSTS)` (default 2000 hosts) once with `gwpipe render`, then, with
GWPIPE_FAST=1 and with GWPIPE_FAST=0, prints wall_s and cpu_s (a fresh `gwpipe analyze` process on
the rendered tree, end to end: wall-clock and user + system CPU seconds) and load_s (the CPU seconds
a fresh process spends reading every file of the tree with the analyze loader, `load_manifests`,
and nothing else), each the fastest of REPEAT runs (default 3, env GWPIPE_BENCH_REPEAT).
Run it with PYTHONPATH naming another gwpipe checkout to time that one.
Usage: python benchmarks/analyze_load.py [--dir DIR] [HOSTS]
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from render_scale import GWPIPE, compile_bytecode, spec_text

# with the collector off, as the gwpipe executable runs every command
LOAD_ONLY = """
import gc, sys, time
gc.disable()
from gwpipe.checks.analysis.loader import input_files, load_manifests
start = time.process_time()
manifests = [m for f in input_files([sys.argv[1]]) for m in load_manifests(f, "default")]
print(time.process_time() - start, len(manifests))
"""


def render(workspace: Path, hosts: int) -> Path:
    (workspace / "environments").mkdir()
    (workspace / "environments" / "bench.yaml").write_text(spec_text(hosts))
    subprocess.run(["git", "init", "-q", "-b", "main", str(workspace / "gitops")], check=True)
    done = subprocess.run(
        [*GWPIPE, "render", "bench", "--repo", str(workspace / "gitops")], cwd=workspace, capture_output=True
    )
    if done.returncode != 0:
        raise SystemExit(f"render failed:\n{done.stderr.decode()}")
    return workspace / "gitops" / "bench"


def fastest(command: list[str], fast: str, repeat: int, cwd: Path) -> tuple[float, float, str]:
    """Fastest wall and CPU seconds of `command` and its last output; exit status 1 (findings) counts as success.

    CPU time (user + system, from the children's rusage) is the steadier figure on a shared machine.
    """
    env = {**os.environ, "GWPIPE_FAST": fast}
    wall, cpu, out = float("inf"), float("inf"), ""
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
        wall = min(wall, time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = min(cpu, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        if done.returncode not in (0, 1):
            raise SystemExit(f"{command[:4]} failed:\n{done.stderr}")
        out = done.stdout
    return wall, cpu, out


def main(hosts: int, base: str | None, repeat: int) -> None:
    compile_bytecode()
    with tempfile.TemporaryDirectory(dir=base) as tmp:
        tree = render(Path(tmp), hosts)
        files = [p for p in tree.rglob("*") if p.suffix == ".yaml"]
        size = sum(p.stat().st_size for p in files)
        print(f"hosts={hosts} files={len(files)} bytes={size}")
        for fast in ("1", "0"):
            wall, cpu, _ = fastest([*GWPIPE, "analyze", str(tree)], fast, repeat, Path(tmp))
            load_s = min(
                float(fastest([sys.executable, "-c", LOAD_ONLY, str(tree)], fast, 1, Path(tmp))[2].split()[0])
                for _ in range(repeat)
            )
            print(f"GWPIPE_FAST={fast} wall_s={wall:.2f} cpu_s={cpu:.2f} load_s={load_s:.2f}", flush=True)


if __name__ == "__main__":
    args = sys.argv[1:]
    folder = None
    if args[:1] == ["--dir"]:
        folder, args = args[1], args[2:]
    main(int(args[0]) if args else 2000, folder, int(os.environ.get("GWPIPE_BENCH_REPEAT", "3")))
