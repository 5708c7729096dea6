"""Print what `gwpipe plan --all` costs against `gwpipe check --all` on a fleet of N environments x H hosts.

Each line: the scenario, check_s, plan_s (wall seconds of a fresh process, fastest of REPEAT runs,
default 3, env GWPIPE_BENCH_REPEAT) and their ratio. Scenarios: `same` (the GitOps repository holds
exactly what the specs render) and `one-change` (one host of one environment gets another timeout,
so one VirtualService differs).
Usage: python benchmarks/plan_cost.py [--dir DIR] [ENVIRONMENTS HOSTS]   (default 50 200)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from render_scale import GWPIPE, compile_bytecode, spec_text

GIT = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com"]


def timed(args: list[str], cwd: Path, ok: tuple[int, ...] = (0,)) -> float:
    start = time.perf_counter()
    proc = subprocess.run([*GWPIPE, *args], cwd=cwd, capture_output=True)
    wall = time.perf_counter() - start
    if proc.returncode not in ok:
        raise SystemExit(f"gwpipe {' '.join(args)} failed:\n{proc.stderr.decode()}{proc.stdout.decode()[-2000:]}")
    return wall


def fleet(workspace: Path, environments: int, hosts: int) -> None:
    """A spec repository of `environments` committed specs, rendered and committed into .gwpipe/gitops."""
    (workspace / "environments").mkdir()
    text = spec_text(hosts)
    for index in range(environments):
        (workspace / "environments" / f"env{index:02d}.yaml").write_text(text)
    subprocess.run([*GIT, "init", "-q", "-b", "main", str(workspace)], check=True)
    subprocess.run([*GIT, "-C", str(workspace), "add", "environments"], check=True)
    subprocess.run([*GIT, "-C", str(workspace), "commit", "-q", "-m", "fleet"], check=True)
    timed(["render", "--all"], workspace)


def one_change(workspace: Path) -> None:
    spec = workspace / "environments" / "env07.yaml"
    spec.write_text(spec.read_text().replace("timeout: 5s", "timeout: 7s", 1))
    subprocess.run([*GIT, "-C", str(workspace), "commit", "-q", "-am", "one change"], check=True)


def main(environments: int, hosts: int, base: str | None) -> None:
    compile_bytecode()
    repeat = int(os.environ.get("GWPIPE_BENCH_REPEAT", "3"))
    print(f"fleet: {environments} environments x {hosts} hosts; workspace: {base or tempfile.gettempdir()}")
    with tempfile.TemporaryDirectory(dir=base) as tmp:
        workspace = Path(tmp)
        fleet(workspace, environments, hosts)
        for scenario in ("same", "one-change"):
            if scenario == "one-change":
                one_change(workspace)
            # check exits 1 on a stale tree, which is what one-change is
            check = min(timed(["check", "--all"], workspace, ok=(0, 1)) for _ in range(repeat))
            plan = min(timed(["plan", "--all"], workspace) for _ in range(repeat))
            print(f"{scenario}: check_s={check:.2f} plan_s={plan:.2f} ratio={plan / check:.2f}", flush=True)


if __name__ == "__main__":
    args = sys.argv[1:]
    folder = None
    if args[:1] == ["--dir"]:
        folder, args = args[1], args[2:]
    sizes = [int(a) for a in args] or [50, 200]
    main(sizes[0], sizes[1], folder)
