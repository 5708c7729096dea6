"""The passthrough plugin: whole objects rendered unchanged, status refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gwpipe.errors import SpecError
from gwpipe.testing import build, find

RULE = {
    "apiVersion": "networking.istio.io/v1",
    "kind": "DestinationRule",
    "metadata": {"name": "webapp", "namespace": "shop", "labels": {"team": "web"}},
    "spec": {"host": "webapp", "trafficPolicy": {"tls": {"mode": "ISTIO_MUTUAL"}}},
}
SPEC = {
    "namespace": "shop",
    "gateways": {"public": {}},
    "hosts": {"a.example.com": {"gateway": "public", "routes": [{"destination": {"host": "a", "port": 80}}]}},
}


def test_object_is_rendered_unchanged(tmp_path: Path) -> None:
    bundle = build(tmp_path, {**SPEC, "passthrough": {"objects": [RULE]}})
    rule = find(bundle.objects, "DestinationRule", "webapp")
    assert rule["spec"] == RULE["spec"]
    assert rule["metadata"]["labels"]["team"] == "web"
    assert yaml.safe_load(bundle.files["shop/destinationrule-webapp.yaml"])["spec"] == RULE["spec"]


def test_status_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as failed:
        build(tmp_path, {**SPEC, "passthrough": {"objects": [{**RULE, "status": {}}]}})
    assert [p.what for p in failed.value.problems] == ["the API server writes status; drop it"]
