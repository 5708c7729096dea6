"""Where a request went (an Outcome), and whether that is what a case expects."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gwpipe.checks.analysis.hosts import to_fqdn


@dataclass(frozen=True)
class RouteRef:
    """One route of a VirtualService: `ns/name http[2]` (plus its `name` when it has one)."""

    vs: str
    section: str  # http | tcp | tls
    index: int
    name: str = ""

    def __str__(self) -> str:
        label = f"{self.vs} {self.section}[{self.index}]"
        return f"{label} ({self.name})" if self.name else label


@dataclass(frozen=True)
class Destination:
    host: str
    port: int | None
    weight: int
    namespace: str = ""  # the VirtualService's, to compare short and full Service names
    subset: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"host": self.host, "port": self.port, "weight": self.weight}
        if self.subset:
            out["subset"] = self.subset
        return out

    def same_host(self, expected: str) -> bool:
        if expected == self.host:
            return True
        return bool(self.namespace) and to_fqdn(self.namespace, expected) == to_fqdn(self.namespace, self.host)


@dataclass(frozen=True)
class Outcome:
    """kind: route | redirect | status | fail | cannot | ambiguous."""

    kind: str
    destinations: tuple[Destination, ...] = ()
    status: int | None = None
    location: str | None = None
    reason: str = ""
    route: RouteRef | None = None
    server: str | None = None
    rewrite: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any]
        if self.kind == "route":
            if len(self.destinations) == 1 and self.destinations[0].weight == 100:
                only = self.destinations[0].as_dict()
                del only["weight"]
                out = {"destination": only}
            else:
                out = {"weights": [d.as_dict() for d in self.destinations]}
        elif self.kind == "redirect":
            out = {"redirect": {"status": self.status, "location": self.location}}
        elif self.kind == "status":
            out = {"status": self.status}
        elif self.kind == "fail":
            out = {"connection": "fail"}
        elif self.kind == "cannot":
            out = {"cannot evaluate": self.reason}
        else:
            out = {"ambiguous": self.reason}
        if self.reason and self.kind in ("status", "fail", "redirect"):
            out["reason"] = self.reason
        if self.rewrite:
            out["rewrite"] = dict(self.rewrite)
        if self.route is not None:
            out["route"] = str(self.route)
        if self.server is not None:
            out["server"] = self.server
        return out

    def summary(self) -> str:
        """One line for people: `api-v2:8080 95%, api-v2-canary:8080 5%` or `redirect 301 https://...`."""
        if self.kind == "route":
            parts = [f"{d.host}:{d.port}" if d.port else d.host for d in self.destinations]
            if len(self.destinations) == 1 and self.destinations[0].weight == 100:
                return parts[0]
            return ", ".join(f"{p} {d.weight}%" for p, d in zip(parts, self.destinations, strict=True))
        if self.kind == "redirect":
            return f"redirect {self.status} {self.location}"
        if self.kind == "status":
            return f"status {self.status}" + (f" ({self.reason})" if self.reason else "")
        if self.kind == "fail":
            return "connection fails" + (f" ({self.reason})" if self.reason else "")
        if self.kind == "cannot":
            return f"cannot evaluate: {self.reason}"
        return f"ambiguous: {self.reason}"


def meets(outcome: Outcome, expect: dict[str, Any]) -> bool:
    """Whether the outcome is what `expect` (exactly one of destination, weights, redirect, status, connection) says."""
    kind, value = next(iter(expect.items()))
    if kind == "connection":
        return outcome.kind == "fail"
    if kind == "status":
        return outcome.kind == "status" and outcome.status == value
    if kind == "redirect":
        if outcome.kind != "redirect":
            return False
        return all(value[k] == {"status": outcome.status, "location": outcome.location}[k] for k in value)
    if outcome.kind != "route":
        return False
    if kind == "destination":
        live = [d for d in outcome.destinations if d.weight > 0]
        return len(live) == 1 and live[0].weight == 100 and _same(live[0], value)
    wanted = list(value)
    actual = [d for d in outcome.destinations if d.weight > 0 or any(_same(d, w) for w in wanted)]
    if len(actual) != len(wanted):
        return False
    remaining = list(actual)
    for want in wanted:
        hit = next((d for d in remaining if _same(d, want) and d.weight == want["weight"]), None)
        if hit is None:
            return False
        remaining.remove(hit)
    return True


def _same(destination: Destination, expected: dict[str, Any]) -> bool:
    if not destination.same_host(str(expected["host"])):
        return False
    return "port" not in expected or expected["port"] == destination.port
