"""The analysis stage inside `render`: Error findings block, suppressions and inventory come from the spec."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from gwpipe.errors import CheckError, SpecError
from gwpipe.testing import build


def spec(**extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "istio": {"version": "1.28"},
        "namespace": "apps",
        "gateways": {"edge": {"selector": {"istio": "edge"}}},
        "hosts": {"a.example.com": {"gateway": "edge", "routes": [{"destination": {"host": "web", "port": 80}}]}},
    }
    data.update(extra)
    return data


def test_unmatched_selector_blocks_render(spec_dir: Path) -> None:
    with pytest.raises(CheckError) as caught:
        build(spec_dir, spec())
    # the finding points at the selector in the rendered file
    text = next(
        o.text for o in build(spec_dir, spec(checks={"suppress": ["*=*"]})).objects if o.request.kind == "Gateway"
    )
    line = next(i for i, row in enumerate(text.splitlines(), 1) if '"istio": "edge"' in row)
    assert [str(p) for p in caught.value.problems] == [
        f'apps/gateway-edge.yaml:{line}: IST0101 Gateway apps/edge: Referenced selector not found: "istio=edge"'
    ]


def test_suppressed_by_spec(spec_dir: Path) -> None:
    bundle = build(spec_dir, spec(checks={"suppress": ["IST0101=Gateway apps/*"]}))
    assert [f.code for f in bundle.findings if f.code.startswith("IST")] == []


def test_inventory_pod_without_service_is_a_warning(spec_dir: Path) -> None:
    inventory = [{"kind": "Pod", "namespace": "edge", "name": "edge", "labels": {"istio": "edge"}}]
    bundle = build(spec_dir, spec(checks={"inventory": inventory}))
    assert [(f.code, f.level, f.name) for f in bundle.findings if f.code.startswith("IST")] == [
        ("IST0162", "Warning", "edge")
    ]


def test_inventory_workload_is_clean(spec_dir: Path) -> None:
    inventory = [
        {
            "kind": "Workload",
            "namespace": "edge",
            "name": "edge",
            "labels": {"istio": "edge"},
            "ports": [{"port": 80, "targetPort": 8080}],
        }
    ]
    bundle = build(spec_dir, spec(checks={"inventory": inventory}))
    assert [f.code for f in bundle.findings if f.code.startswith("IST")] == []


def test_declared_services_check_destinations(spec_dir: Path) -> None:
    inventory = [
        {"kind": "Workload", "namespace": "edge", "name": "edge", "labels": {"istio": "edge"}, "ports": [{"port": 80}]},
        {"kind": "Service", "namespace": "apps", "name": "api", "ports": [{"port": 80}]},
    ]
    with pytest.raises(CheckError) as caught:
        build(spec_dir, spec(checks={"inventory": inventory}))
    assert [p.what for p in caught.value.problems] == [
        'IST0101 VirtualService apps/a-example-com: Referenced host not found: "web"'
    ]


@pytest.mark.parametrize(
    ("checks", "message"),
    [
        (
            {"inventory": [{"kind": "Secrets", "namespace": "a", "name": "b"}]},
            r"test\.yaml:\d+:\d+: checks\.inventory\[0\]\.kind: unsupported value, got 'Secrets'; allowed: Pod, Service, Secret, Workload",
        ),
        (
            {"inventory": [{"kind": "Secret", "namespace": "a"}]},
            r"test\.yaml:\d+:\d+: checks\.inventory\[0\]\.name: required field missing",
        ),
        (
            {"suppress": ["IST0101"]},
            r"test\.yaml:\d+:\d+: checks\.suppress\[0\]: invalid value, got 'IST0101'; expected CODE=Kind namespace/name, "
            r"e\.g\. IST0101=Gateway istio-system/\*",
        ),
    ],
)
def test_checks_schema(spec_dir: Path, checks: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError) as caught:
        build(spec_dir, spec(checks=checks))
    assert any(re.fullmatch(rf".*{message}", str(p)) for p in caught.value.problems), [
        str(p) for p in caught.value.problems
    ]
