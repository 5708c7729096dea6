"""Time analysis_findings over 2000 Gateways + 2000 VirtualServices (the render benchmark's shape)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from gwpipe.checks.analysis import analysis_findings
from gwpipe.model import RenderedObject, ResourceRequest
from gwpipe.spec.load import Spec

N = int(sys.argv[1]) if len(sys.argv) > 1 else 2000  # Gateways (and as many VirtualServices)


def _objects() -> list[RenderedObject]:
    objects = []
    for i in range(N):
        host = f"app{i}.example.com"
        gw = {
            "apiVersion": "networking.istio.io/v1",
            "kind": "Gateway",
            "metadata": {"name": f"gw-{i}", "namespace": "apps"},
            "spec": {
                "selector": {"istio": "ingressgateway"},
                "servers": [
                    {"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": [host]},
                    {
                        "port": {"number": 443, "name": "https", "protocol": "HTTPS"},
                        "hosts": [host],
                        "tls": {"mode": "SIMPLE", "credentialName": f"cert-{i}"},
                    },
                ],
            },
        }
        vs = {
            "apiVersion": "networking.istio.io/v1",
            "kind": "VirtualService",
            "metadata": {"name": f"vs-{i}", "namespace": "apps"},
            "spec": {
                "hosts": [host],
                "gateways": [f"apps/gw-{i}"],
                "http": [
                    {
                        "match": [{"uri": {"prefix": "/api"}}],
                        "route": [{"destination": {"host": "api", "port": {"number": 80}}}],
                    },
                    {"route": [{"destination": {"host": "web", "port": {"number": 80}}}]},
                ],
            },
        }
        for obj in (gw, vs):
            meta = obj["metadata"]
            assert isinstance(meta, dict)
            req = ResourceRequest(
                "bench", "", str(obj["apiVersion"]), str(obj["kind"]), meta["name"], meta["namespace"]
            )
            objects.append(RenderedObject(req, "", obj, f"apps/{str(obj['kind']).lower()}-{meta['name']}.yaml"))
    return objects


def main() -> None:
    objects = _objects()
    inventory = [{"kind": "Secret", "namespace": "istio-system", "name": f"cert-{i}"} for i in range(N)]
    spec = Spec(
        "bench", "bench.yaml", {"istio": {"version": "1.28"}, "checks": {"inventory": inventory}}, {}, Path(".")
    )
    wall, cpu = [], []
    for _ in range(5):
        start, start_cpu = time.perf_counter(), time.process_time()
        findings = analysis_findings(spec, objects)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    # the first run is what one render pays (cold caches); CPU time is steadier than wall time on a shared machine
    print(
        f"objects={len(objects)} analysis_s={wall[0]:.3f} cpu_s={cpu[0]:.3f} best_s={min(wall):.3f} "
        f"best_cpu_s={min(cpu):.3f} findings={len(findings)}"
    )


if __name__ == "__main__":
    main()
