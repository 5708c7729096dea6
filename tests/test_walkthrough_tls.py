"""The walkthrough's TLS, redirect, mutual TLS and multi-host SNI manifests, reproduced from examples/walkthrough."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from walkthrough import assert_contains, manifest, missing_fields

from gwpipe.testing import build, find

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "walkthrough"


def render(spec_dir: Path, example: str) -> list[Any]:
    """Build an example from a copy of its text, so the test sees exactly what a user would run."""
    text = (EXAMPLES / f"{example}.yaml").read_text(encoding="utf-8")
    return build(spec_dir, text, name=example).objects


@pytest.mark.parametrize(
    ("example", "index"),
    [("02-tls", 1), ("03-redirect", 2), ("04-mtls", 3)],
    ids=["tls", "redirect", "mtls"],
)
def test_gateway_steps(spec_dir: Path, example: str, index: int) -> None:
    expected = manifest("Gateway", "coolstore-gateway", index)
    assert_contains(expected, find(render(spec_dir, example), "Gateway", "coolstore-gateway"))


def test_multi_host_gateway(spec_dir: Path) -> None:
    # gwpipe orders HTTPS servers by host, the walkthrough lists webapp before catalog; Envoy selects the
    # server by SNI, so the order carries no meaning: compare the servers by port name, every field of each
    expected = manifest("Gateway", "coolstore-gateway", 4)
    actual = find(render(spec_dir, "05-multi-host-tls"), "Gateway", "coolstore-gateway")
    by_name = {s["port"]["name"]: s for s in actual["spec"]["servers"]}
    assert sorted(by_name) == sorted(s["port"]["name"] for s in expected["spec"]["servers"])
    for server in expected["spec"]["servers"]:
        name = server["port"]["name"]
        assert not missing_fields(server, by_name[name], f"servers[{name}]")
    rest = {**expected, "spec": {k: v for k, v in expected["spec"].items() if k != "servers"}}
    assert_contains(rest, actual)


def test_multi_host_catalog_virtual_service(spec_dir: Path) -> None:
    expected = manifest("VirtualService", "catalog-vs-from-gw")
    assert_contains(expected, find(render(spec_dir, "05-multi-host-tls"), "VirtualService", "catalog-vs-from-gw"))


def test_multi_host_webapp_virtual_service_is_step_ones(spec_dir: Path) -> None:
    expected = manifest("VirtualService", "webapp-vs-from-gw")
    assert_contains(expected, find(render(spec_dir, "05-multi-host-tls"), "VirtualService", "webapp-vs-from-gw"))


@pytest.mark.parametrize("example", ["02-tls", "03-redirect", "04-mtls", "05-multi-host-tls"])
def test_examples_emit_no_secret_and_render_the_same_twice(spec_dir: Path, example: str) -> None:
    first = build(spec_dir, (EXAMPLES / f"{example}.yaml").read_text(encoding="utf-8"), name=example)
    again = build(spec_dir, (EXAMPLES / f"{example}.yaml").read_text(encoding="utf-8"), name=example)
    assert first.files == again.files
    assert not [o.ref for o in first.objects if o.request.kind == "Secret"]
