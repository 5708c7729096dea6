"""Small builders of Gateways, VirtualServices and requests for the route evaluator's tests."""

from __future__ import annotations

from typing import Any

from gwpipe.routes.cases import Request
from gwpipe.routes.config import Topology
from gwpipe.routes.evaluate import evaluate
from gwpipe.routes.outcome import Outcome


def server(port: int, protocol: str, hosts: list[str], **tls: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"port": {"number": port, "name": f"{protocol.lower()}-{port}", "protocol": protocol}}
    out["hosts"] = hosts
    if tls:
        out["tls"] = tls
    return out


def gateway(
    name: str, servers: list[dict[str, Any]], namespace: str = "istio-system", **selector: str
) -> dict[str, Any]:
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "Gateway",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"selector": selector or {"istio": "ingressgateway"}, "servers": servers},
    }


def vs(name: str, hosts: list[str], gateways: list[str], namespace: str = "shop", **sections: Any) -> dict[str, Any]:
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"hosts": hosts, "gateways": gateways, **sections},
    }


def to(host: str, port: int = 80, weight: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"destination": {"host": host, "port": {"number": port}}}
    if weight is not None:
        out["weight"] = weight
    return out


def request(scheme: str = "http", host: str = "a.example.com", **fields: Any) -> Request:
    port = fields.pop("port", {"http": 80, "https": 443}.get(scheme, 0))
    headers = {k.lower(): v for k, v in fields.pop("headers", {}).items()}
    return Request(scheme, host, port, headers=headers, **fields)


def go(objects: list[dict[str, Any]], req: Request) -> Outcome:
    return evaluate(Topology(objects), req)


def where(objects: list[dict[str, Any]], req: Request) -> str:
    """The one-line summary of the outcome: what the tests compare."""
    return go(objects, req).summary()
