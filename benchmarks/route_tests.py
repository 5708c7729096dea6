"""Print how long `gwpipe test` takes to evaluate many route cases against a large environment.

Renders the render_scale benchmark's environment (default 2000 hosts, each its own HTTPS server
and VirtualService) in memory, builds CASES cases (default 10000) that cycle over the hosts (an
/api path that reaches the host's route, a path that reaches none, an unknown SNI), and times
building the route index plus evaluating every case (fastest of REPEAT runs, default 3).
Usage: python benchmarks/route_tests.py [HOSTS [CASES]]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from render_scale import spec_text

from gwpipe.engine import Pipeline
from gwpipe.routes.cases import Case, Request
from gwpipe.routes.config import Topology
from gwpipe.routes.run import run_cases

REPEAT = 3


def cases_for(hosts: int, count: int) -> list[Case]:
    out = []
    for n in range(count):
        i = n % hosts
        host = f"app{i}.bench.example.com"
        if n % 3 == 0:
            out.append(Case(f"{n}", Request("https", host, 443, "/api/items"), {"destination": {"host": f"app{i}"}}))
        elif n % 3 == 1:
            out.append(Case(f"{n}", Request("https", host, 443, "/other"), {"status": 404}))
        else:
            out.append(Case(f"{n}", Request("https", f"x{i}.bench.example.org", 443), {"connection": "fail"}))
    return out


def main() -> None:
    hosts = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.yaml"
        path.write_text(spec_text(hosts))
        pipeline = Pipeline()
        objects = [o.obj for o in pipeline.render(pipeline.load(path, folder))]
    cases = cases_for(hosts, count)
    best = float("inf")
    for _ in range(REPEAT):
        start = time.perf_counter()
        results = run_cases(Topology(objects), cases)
        best = min(best, time.perf_counter() - start)
        failed = [r.case.name for r in results if not r.passed]
        if failed:
            raise SystemExit(f"{len(failed)} cases failed, first {failed[0]}")
    print(f"hosts={hosts} objects={len(objects)} cases={count} seconds={best:.3f} per_case_us={best / count * 1e6:.1f}")


if __name__ == "__main__":
    main()
