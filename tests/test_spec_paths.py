"""Paths in specs resolve from the file that declares them and never leave the spec root, even through a folder link."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gwpipe.errors import SpecError
from gwpipe.testing import build

SPEC = {
    "namespace": "shop",
    "gateways": {"web": {"selector": {"istio": "ingressgateway"}}},
    "hosts": {"a.example.com": {"gateway": "web", "routes": [{"destination": {"host": "a", "port": 80}}]}},
}
GATEWAY = Path(__file__).resolve().parents[1] / "templates" / "http" / "gateway.yaml.j2"


def _override(folder: Path) -> None:
    (folder / "http").mkdir(parents=True)
    (folder / "http" / "gateway.yaml.j2").write_text(GATEWAY.read_text().replace("  servers:", "  # mine\n  servers:"))


def test_a_symlinked_parent_folder_cannot_smuggle_templates_in(spec_dir: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    _override(outside / "tpl")
    (spec_dir / "link").symlink_to(outside)
    with pytest.raises(SpecError) as caught:
        build(spec_dir, {**SPEC, "templates": "link/tpl"})
    assert [p.what for p in caught.value.problems] == [f"template folder reaches through symlink {spec_dir / 'link'}"]


def test_a_path_in_a_base_spec_is_relative_to_the_base(spec_dir: Path) -> None:
    (spec_dir / "bases").mkdir()
    _override(spec_dir / "bases" / "tpl")
    (spec_dir / "bases" / "_base.yaml").write_text("templates: tpl\n")
    bundle = build(spec_dir, "extends: bases/_base.yaml\n" + yaml.safe_dump(SPEC, sort_keys=False))
    gateway = next(o for o in bundle.objects if o.request.kind == "Gateway")
    assert "# mine" in gateway.text
