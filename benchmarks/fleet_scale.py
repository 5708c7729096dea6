"""Print what a fleet of environments costs: fresh, no-change and one-change `render --all`, `plan` and `check`.

The fleet is N environments of H hosts each (the hosts of render_scale.py), in a specs repository
beside a GitOps repository. Each line is the fastest of REPEAT rounds, each command a fresh process:
  fresh       `render --all` into a new, empty GitOps repository
  no-change   `render --all` again, nothing changed
  one-change  `render --all` after one route of one host in one environment changed (committed)
  plan        `plan --all` with everything rendered
  plan-change `plan --all` after one route of one host in one environment changed, before rendering it
  check       `check --all` with everything rendered and the specs committed
Usage: python benchmarks/fleet_scale.py [--dir DIR] [--repeat R] [ENVS [HOSTS]]   (default 50 200, R=3)
--dir puts both repositories there (default: the system temp folder), e.g. --dir /dev/shm.
Extra `gwpipe render` arguments come from GWPIPE_BENCH_ARGS, as for render_scale.py. cpu_s is the
process's user+system time (with the checks' forked child): steadier than wall time on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from render_scale import GWPIPE, compile_bytecode, spec_text

EXTRA_ARGS = os.environ.get("GWPIPE_BENCH_ARGS", "").split()
CHANGED_ENV_INDEX = 7


def env_name(index: int) -> str:
    return f"env{index:02d}"


def gwpipe(specs: Path, *args: str) -> tuple[float, float]:
    """Wall and CPU seconds (its own and its children's) of one fresh gwpipe process; exits on failure."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen([*GWPIPE, *args], cwd=specs, stdout=out, stderr=err)
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            out.seek(0)
            err.seek(0)
            raise SystemExit(f"gwpipe {' '.join(args)} failed:\n{err.read().decode()}{out.read().decode()}")
    return wall, usage.ru_utime + usage.ru_stime


def git(folder: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True)


def make_specs(specs: Path, envs: int, hosts: int) -> None:
    (specs / "environments").mkdir(parents=True)
    text = spec_text(hosts)
    for i in range(envs):
        (specs / "environments" / f"{env_name(i)}.yaml").write_text(text)
    git(specs, "init", "-q", "-b", "main")
    commit_specs(specs, "fleet")


def commit_specs(specs: Path, message: str) -> None:
    git(specs, "add", "-A")
    git(specs, "-c", "user.name=bench", "-c", "user.email=bench@example.com", "commit", "-q", "-m", message)


def change_one_host(specs: Path, envs: int, round_number: int) -> None:
    """Give host app0 of one environment another route timeout, different in every round."""
    spec = specs / "environments" / f"{env_name(min(CHANGED_ENV_INDEX, envs - 1))}.yaml"
    text = spec.read_text()
    old = "        timeout: 5s\n" if round_number == 0 else f"        timeout: {round_number + 5}s\n"
    spec.write_text(text.replace(old, f"        timeout: {round_number + 6}s\n", 1))
    commit_specs(specs, f"change {round_number}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("envs", nargs="?", type=int, default=50)
    parser.add_argument("hosts", nargs="?", type=int, default=200)
    parser.add_argument("--dir", default=None)
    parser.add_argument("--repeat", type=int, default=int(os.environ.get("GWPIPE_BENCH_REPEAT", "3")))
    args = parser.parse_args()
    compile_bytecode()
    print(
        f"fleet: {args.envs} environments x {args.hosts} hosts; workspace: {args.dir or tempfile.gettempdir()}; "
        f"render arguments: {' '.join(EXTRA_ARGS) or 'none'}; best of {args.repeat}"
    )
    times: dict[str, list[tuple[float, float]]] = {
        k: [] for k in ("fresh", "no-change", "one-change", "plan", "plan-change", "check")
    }
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        specs, gitops = Path(tmp) / "specs", Path(tmp) / "gitops"
        make_specs(specs, args.envs, args.hosts)
        render = ["render", "--all", "--repo", str(gitops), *EXTRA_ARGS]
        for round_number in range(args.repeat):
            shutil.rmtree(gitops, ignore_errors=True)
            git(Path(tmp), "init", "-q", "-b", "main", str(gitops))
            times["fresh"].append(gwpipe(specs, *render))
            times["no-change"].append(gwpipe(specs, *render))
            times["plan"].append(gwpipe(specs, "plan", "--all", "--repo", str(gitops)))
            times["check"].append(gwpipe(specs, "check", "--all", "--repo", str(gitops)))
            change_one_host(specs, args.envs, round_number)
            times["plan-change"].append(gwpipe(specs, "plan", "--all", "--repo", str(gitops)))
            times["one-change"].append(gwpipe(specs, *render))
    fresh_wall, fresh_cpu = min(w for w, _c in times["fresh"]), min(c for _w, c in times["fresh"])
    for name, runs in times.items():
        wall, cpu = min(w for w, _c in runs), min(c for _w, c in runs)
        print(
            f"{name:<11} wall_s={wall:.2f} ratio_to_fresh={wall / fresh_wall:.2f} "
            f"cpu_s={cpu:.2f} cpu_ratio={cpu / fresh_cpu:.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
