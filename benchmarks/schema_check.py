"""Print how long CRD schema + CEL validation of rendered objects takes (gwpipe.checks.schema.check).

Renders, with the real pipeline, an environment of N/2 gateways and N/2 hosts (each host: its own
Gateway with an HTTPS server, credentialName and HTTP redirect, and a VirtualService with a match,
a route and a timeout), plus one Namespace, then times `schema_findings` on the rendered objects.
The first call loads and compiles the CRDs (reported as load_s); schema_s is the median of the
following calls, each with the CEL result memo emptied first: the cost every further render pays.
Needs ../shared/reference/crds beside the repository (or GWPIPE_CRDS set).
Usage: python benchmarks/schema_check.py [N ...]   (default 1000 4000)
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from gwpipe.checks.schema.cel import clear_memo
from gwpipe.checks.schema.check import schema_findings
from gwpipe.engine import Options, Pipeline
from gwpipe.hooks.manager import create_manager
from gwpipe.model import RenderedObject, ResourceRequest
from gwpipe.spec.load import Spec

CRDS = Path(__file__).resolve().parent.parent.parent / "shared" / "reference" / "crds"
RUNS = 5


def spec_text(pairs: int) -> str:
    """`pairs` gateways and `pairs` hosts, host i bound to gateway i with TLS, redirect and a timed route."""
    lines = ['istio:\n  version: "1.24"', "namespace: bench", "gateways:"]
    lines += [f"  gw{i}:\n    selector:\n      istio: ingressgateway" for i in range(pairs)]
    lines.append("hosts:")
    for i in range(pairs):
        lines += [
            f"  app{i}.bench.example.com:",
            f"    gateway: gw{i}",
            "    redirect: true",
            f"    tls:\n      credentialName: app{i}-credential",
            "    routes:",
            "      - match:\n          - uri:\n              prefix: /api",
            f"        destination:\n          host: app{i}\n          port: 8080",
            "        timeout: 5s",
        ]
    return "\n".join(lines) + "\n"


def rendered(pairs: int, folder: Path) -> tuple[Spec, list[RenderedObject]]:
    path = folder / "bench.yaml"
    path.write_text(spec_text(pairs), encoding="utf-8")
    pipeline = Pipeline(Options(), pm=create_manager(entry_points=False))
    spec = pipeline.load(path, folder)
    objects = pipeline.render(spec)
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}}
    request = ResourceRequest("bench", "namespace.yaml.j2", "v1", "Namespace", "bench", None)
    objects.append(RenderedObject(request, "apiVersion: v1\nkind: Namespace\n", namespace, "namespace-bench.yaml"))
    return spec, objects


def main(argv: list[str]) -> None:
    if not os.environ.get("GWPIPE_CRDS"):
        if not CRDS.is_dir():
            raise SystemExit(f"CRDs not found at {CRDS}; set GWPIPE_CRDS")
        os.environ["GWPIPE_CRDS"] = str(CRDS)
    for n in [int(a) for a in argv] or [1000, 4000]:
        with tempfile.TemporaryDirectory() as tmp:
            spec, objects = rendered(n // 2, Path(tmp))
            start = time.perf_counter()
            findings = schema_findings(spec, objects)
            load = time.perf_counter() - start
            if findings:
                raise SystemExit(f"unexpected findings: {findings[:3]}")
            times = []
            for _ in range(RUNS):
                clear_memo()  # each render starts without rule results; CRDs stay compiled
                start = time.perf_counter()
                schema_findings(spec, objects)
                times.append(time.perf_counter() - start)
            warm = statistics.median(times)
            kinds = sorted({o.request.kind for o in objects})
            print(
                f"objects={len(objects)} kinds={','.join(kinds)} load_s={load:.2f} schema_s={warm:.3f} "
                f"min_s={min(times):.3f} per_object_us={warm / len(objects) * 1e6:.0f}"
            )


if __name__ == "__main__":
    main(sys.argv[1:])
