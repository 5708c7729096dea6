"""Specs for the TLS-family plugin tests: one Gateway, every host routed, every named credential already in the cluster."""

from __future__ import annotations

import re
from typing import Any

ROUTE = {"destination": {"host": "web", "port": 80}}


def spec(hosts: dict[str, dict[str, Any]], **top: Any) -> dict[str, Any]:
    """A one-Gateway spec; every host gets a route and is bound to `edge` unless it says otherwise."""
    gateways = top.pop("gateways", {"edge": {"selector": {"istio": "ingressgateway"}}})
    namespaces = {"istio-system"} | {w["namespace"] for w in top.get("workloads", {}).values()}
    checks = {"inventory": existing_secrets(hosts, namespaces) + list(top.pop("inventory", []))}
    return {
        "namespace": "shop",
        "gateways": gateways,
        "hosts": {h: {"gateway": "edge", "routes": [ROUTE], **entry} for h, entry in hosts.items()},
        "checks": checks,
        **top,
    }


def existing_secrets(hosts: dict[str, dict[str, Any]], namespaces: set[str]) -> list[dict[str, Any]]:
    """`checks.inventory` Secrets for every credential the hosts name: made outside gwpipe, as in the walkthrough."""
    names = {
        entry[key].get("credentialName")
        for entry in hosts.values()
        for key in ("tls", "mtls")
        if isinstance(entry.get(key), dict)
    }
    valid = sorted(n for n in names if isinstance(n, str) and re.fullmatch(r"[a-z0-9][-a-z0-9.]*", n))
    keys = ["tls.crt", "tls.key", "ca.crt"]
    return [{"kind": "Secret", "namespace": ns, "name": n, "keys": keys} for ns in sorted(namespaces) for n in valid]
