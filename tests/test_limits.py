"""Size limits that scale with the fleet: each refusal says how to split, and the split it names renders."""

from __future__ import annotations

from pathlib import Path

import pytest

from gwpipe.engine import Pipeline
from gwpipe.errors import RenderError, SpecError
from gwpipe.render import environment, objects, parseback
from gwpipe.spec.load import load_spec
from gwpipe.spec.yamlload import MAX_BYTES

OLD_LIMIT = 1024 * 1024


def host(i: int, gateway: str) -> str:
    return (
        f"  app{i}.example.com:\n    gateway: {gateway}\n    routes:\n"
        f"      - destination: {{host: app{i}, port: 8080}}\n"
        f"    tls:\n      credentialName: app{i}-credential\n"
        "      certificate: {issuerRef: {name: ca, kind: ClusterIssuer}, issuerType: ca}\n"
    )


def spec_text(hosts: int, gateways: int = 1) -> str:
    head = "namespace: shop\ngateways:\n"
    head += "".join(f"  edge{g}:\n    selector: {{istio: ingressgateway}}\n" for g in range(gateways))
    return head + "hosts:\n" + "".join(host(i, f"edge{i % gateways}") for i in range(hosts))


def test_a_spec_over_the_old_one_mib_limit_loads(tmp_path: Path) -> None:
    spec_file = tmp_path / "big.yaml"
    hosts = OLD_LIMIT // len(host(0, "edge0")) + 100
    spec_file.write_text(spec_text(hosts))
    assert spec_file.stat().st_size > OLD_LIMIT
    assert len(load_spec(spec_file).data["hosts"]) == hosts


def test_a_spec_over_the_limit_says_how_to_split(tmp_path: Path) -> None:
    spec_file = tmp_path / "huge.yaml"
    spec_file.write_bytes(b"namespace: shop\n" + b"#" * MAX_BYTES + b"\n")
    with pytest.raises(SpecError) as info:
        load_spec(spec_file, tmp_path)
    [problem] = info.value.problems
    assert problem.what == (
        "file exceeds the size limit of 8388608 bytes (8 MiB); split it: move part of a large mapping such as "
        "`hosts` into a base file named by `extends` (bases merge key by key, up to 8 levels) or into another "
        "environment; see docs/speed.md, Large fleets"
    )


def test_the_documented_spec_split_merges_every_host(tmp_path: Path) -> None:
    """Hosts spread over a chain of bases (each file under the limit) make one environment."""
    hosts = [host(i, "edge0") for i in range(30)]
    (tmp_path / "_part2.yaml").write_text("hosts:\n" + "".join(hosts[20:]))
    (tmp_path / "_part1.yaml").write_text("extends: _part2.yaml\nhosts:\n" + "".join(hosts[10:20]))
    (tmp_path / "dev.yaml").write_text("extends: _part1.yaml\n" + spec_text(10))
    assert sorted(load_spec(tmp_path / "dev.yaml").data["hosts"]) == sorted(f"app{i}.example.com" for i in range(30))


@pytest.fixture
def small_object_limit(monkeypatch: pytest.MonkeyPatch) -> int:
    """An object limit small enough that 40 hosts overflow one Gateway (the same code path as 1 MiB)."""
    limit = 6000
    for module in (environment, objects, parseback):
        monkeypatch.setattr(module, "MAX_OBJECT_BYTES", limit)
    return limit


def gateway_sizes(tmp_path: Path, text: str) -> dict[str, int]:
    (tmp_path / "dev.yaml").write_text(text)
    pipeline = Pipeline()
    bundle = pipeline.build(pipeline.load(tmp_path / "dev.yaml", tmp_path))
    return {path: len(data) for path, data in bundle.files.items() if "gateway-" in path}


def test_one_gateway_over_the_limit_says_how_to_split(tmp_path: Path, small_object_limit: int) -> None:
    with pytest.raises(RenderError) as info:
        gateway_sizes(tmp_path, spec_text(40))
    [problem] = info.value.problems
    assert str(problem) == (
        f"template http/gateway.yaml.j2: Gateway shop/edge0 is larger than {small_object_limit} bytes, about the most "
        "Kubernetes stores; split what it lists over several objects, e.g. a Gateway's servers: give some hosts "
        "another `gateways` entry with the same selector and name it in their `gateway` key; "
        "see docs/speed.md, Large fleets"
    )


def test_the_documented_gateway_split_renders(tmp_path: Path, small_object_limit: int) -> None:
    sizes = gateway_sizes(tmp_path, spec_text(40, gateways=2))
    assert sorted(sizes) == ["shop/gateway-edge0.yaml", "shop/gateway-edge1.yaml"]
    assert all(size <= small_object_limit for size in sizes.values())
    assert sum(sizes.values()) > small_object_limit  # together they would not have fit in one
