"""Helpers for analysis tests: analyze YAML text with the real loader."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest

from gwpipe.checks.analysis import analyze
from gwpipe.checks.analysis.loader import load_manifests
from gwpipe.checks.analysis.manifests import ManifestSet
from gwpipe.model import Finding

INGRESS = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: istio-ingressgateway, namespace: istio-system}
spec:
  template:
    metadata: {labels: {istio: ingressgateway}}
---
apiVersion: v1
kind: Service
metadata: {name: istio-ingressgateway, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  ports: [{port: 80, targetPort: 8080, protocol: TCP}, {port: 443, targetPort: 8443, protocol: TCP}]
---
"""


@pytest.fixture
def run(tmp_path: Path) -> Any:
    def _run(
        text: str,
        version: tuple[int, int] = (1, 28),
        inventory: list[dict[str, Any]] | None = None,
        ingress: bool = True,
        now: datetime.datetime | None = None,
    ) -> list[Finding]:
        path = tmp_path / "input.yaml"
        path.write_text((INGRESS if ingress else "") + text, encoding="utf-8")
        _run.last_path = path  # type: ignore[attr-defined]
        return analyze(ManifestSet(load_manifests(path, "default")), inventory or [], version, None, now)

    return _run


def codes(findings: list[Finding]) -> list[str]:
    """`CODE rule` (rule id when the message starts with one) for each finding, sorted."""
    out = []
    for f in findings:
        head = f.message.split(":", 1)[0]
        out.append(f"{f.code} {head}" if head.isalnum() and len(head) <= 4 and head[:1].isupper() else f.code)
    return sorted(out)
