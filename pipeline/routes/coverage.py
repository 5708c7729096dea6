"""Route coverage: which routes of each VirtualService no case reached."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from gwpipe.routes.config import Topology
from gwpipe.routes.outcome import RouteRef

SECTIONS = ("http", "tcp", "tls")


@dataclass
class Coverage:
    """Per VirtualService: its routes and the ones some case reached."""

    routes: dict[str, list[RouteRef]] = field(default_factory=dict)
    reached: set[RouteRef] = field(default_factory=set)

    @property
    def total(self) -> int:
        return sum(len(r) for r in self.routes.values())

    @property
    def covered(self) -> int:
        return sum(1 for refs in self.routes.values() for r in refs if _key(r) in {_key(x) for x in self.reached})

    @property
    def percent(self) -> float:
        return 100.0 if not self.total else round(100.0 * self.covered / self.total, 1)

    def missed(self) -> dict[str, list[RouteRef]]:
        reached = {_key(r) for r in self.reached}
        return {vs: [r for r in refs if _key(r) not in reached] for vs, refs in self.routes.items()}

    def as_dict(self) -> dict[str, Any]:
        reached = {_key(r) for r in self.reached}
        services = {
            vs: {
                "routes": len(refs),
                "covered": sum(1 for r in refs if _key(r) in reached),
                "uncovered": [str(r) for r in refs if _key(r) not in reached],
            }
            for vs, refs in sorted(self.routes.items())
        }
        return {"routes": self.total, "covered": self.covered, "percent": self.percent, "virtualServices": services}


def _key(ref: RouteRef) -> tuple[str, str, int]:
    return ref.vs, ref.section, ref.index


def route_coverage(topology: Topology, reached: Iterable[RouteRef | None]) -> Coverage:
    """Routes of VirtualServices bound to some Gateway (mesh-only ones are not ingress routes)."""
    coverage = Coverage()
    for vs in topology.virtual_services:
        if not vs.gateways:
            continue
        refs = [
            RouteRef(vs.ref, section, index, str(route.get("name") or "") if isinstance(route, dict) else "")
            for section in SECTIONS
            for index, route in enumerate(vs.spec.get(section) or [])
        ]
        coverage.routes.setdefault(vs.ref, []).extend(refs)
    coverage.reached = {r for r in reached if r is not None}
    return coverage
