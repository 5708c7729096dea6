"""Helpers for the certs tests: the SHOP spec, PEM material, and running the CLI."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from click.testing import CliRunner, Result

from gwpipe.certs.devca import issue_chain
from gwpipe.cli.main import main

ROUTE = [{"destination": {"host": "web", "port": 80}}]
# two hosts on one Gateway: a.example.com through cert-manager, b.example.com with mutual TLS
SHOP = {
    "namespace": "shop",
    "workloads": {"edge": {"namespace": "edge", "labels": {"app": "edge-gateway"}}},
    "gateways": {"web": {"workload": "edge"}},
    "hosts": {
        "a.example.com": {
            "gateway": "web",
            "routes": ROUTE,
            "tls": {
                "credentialName": "a-cred",
                "certificate": {"issuerRef": {"name": "dev-ca", "kind": "ClusterIssuer"}, "issuerType": "ca"},
            },
        },
        "b.example.com": {
            "gateway": "web",
            "routes": ROUTE,
            "tls": {"credentialName": "b-cred"},
            "mtls": {"mode": "MUTUAL"},
        },
    },
}


@dataclass(frozen=True)
class Material:
    """PEM bytes for one credential."""

    crt: bytes
    key: bytes
    ca: bytes


def material(hosts: list[str], days: int = 90, issued_days_ago: int = 0) -> Material:
    now = dt.datetime.now(dt.UTC) - dt.timedelta(days=issued_days_ago)
    files = issue_chain("test", hosts, days, mutual=False, now=now).files()
    return Material(files["tls.crt"], files["tls.key"], files["ca.crt"])


def tls_data(m: Material, ca: bool = False) -> dict[str, bytes]:
    data = {"tls.crt": m.crt, "tls.key": m.key}
    if ca:
        data["ca.crt"] = m.ca
    return data


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)
