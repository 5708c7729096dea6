"""Round trips: walkthrough manifests and rendered example trees imported, rendered again and compared."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from walkthrough import walkthrough_manifests

from gwpipe.engine import Pipeline
from gwpipe.importer.run import import_objects
from gwpipe.testing import write_spec

REPO = Path(__file__).resolve().parents[2]
# the manifests each walkthrough step applies (indexes into the extracted manifests; 0 is the netshoot Pod)
STEPS = {
    "01-http": [1, 2],
    "02-tls": [3, 2],
    "03-redirect": [4, 2],
    "04-mtls": [5, 2],
    "05-multi-host-tls": [6, 7, 2],
    "06-tcp": [10, 11],
    "07-gateway-split": [12, 13, 11],
    "08-gateway-injection": [14, 13, 11],
    "09-access-logging": [15],
    "10-pilot-filter": [16, 13, 11],
}


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    return Pipeline()


@pytest.mark.parametrize("step", sorted(STEPS))
def test_walkthrough_step_round_trips_field_for_field(pipeline: Pipeline, tmp_path: Path, step: str) -> None:
    manifests = walkthrough_manifests()
    result = import_objects(
        pipeline, [manifests[i] for i in STEPS[step]], "step", tmp_path / "step.yaml", namespace="istioinaction"
    )
    assert [str(x) for x in result.lossy] == []
    assert result.conflicts == []
    assert len(result.expressed) == len(STEPS[step])


def render_files(pipeline: Pipeline, folder: Path, text: str | dict[str, Any], name: str) -> dict[str, bytes]:
    """The files a render writes (checks are not the round trip's business: examples carry their inventories)."""
    path = write_spec(folder, text, name)
    return pipeline.prepare(pipeline.load(path, folder)).files


def _rendered_objects(folder: Path) -> list[dict[str, Any]]:
    return [
        doc
        for path in sorted(folder.rglob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8"))
        if doc
    ]


@pytest.mark.parametrize("example", sorted(p.stem for p in (REPO / "examples" / "walkthrough").glob("*.yaml")))
def test_golden_tree_imports_to_a_spec_that_renders_byte_identical_files(
    pipeline: Pipeline, tmp_path: Path, example: str
) -> None:
    golden = REPO / "tests" / "golden" / "walkthrough" / example
    out = tmp_path / "walkthrough" / f"{example}.yaml"
    out.parent.mkdir()
    result = import_objects(pipeline, _rendered_objects(golden), example, out)
    assert [str(x) for x in result.lossy] == []
    again = render_files(pipeline, out.parent, result.text, example)
    expected = {str(p.relative_to(golden)): p.read_bytes() for p in golden.rglob("*") if p.is_file()}
    assert again == expected


@pytest.mark.parametrize("env", ["dev", "prod", "staging"])
def test_example_environment_tree_imports_to_a_spec_that_renders_byte_identical_files(
    pipeline: Pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: str
) -> None:
    golden = REPO / "tests" / "golden" / "environments" / env
    monkeypatch.chdir(tmp_path)
    (tmp_path / "environments").mkdir()
    out = Path("environments") / f"{env}.yaml"
    result = import_objects(pipeline, _rendered_objects(golden), env, out)
    assert [str(x) for x in result.lossy] == []
    assert result.added == []
    again = render_files(pipeline, tmp_path / "environments", result.text, env)
    expected = {str(p.relative_to(golden)): p.read_bytes() for p in golden.rglob("*") if p.is_file()}
    assert again == expected


LABELS = st.from_regex(r"[a-z]{1,6}", fullmatch=True)
WEIGHT = st.integers(1, 99)
MATCH = st.one_of(
    st.fixed_dictionaries(
        {
            "uri": st.one_of(
                st.builds(lambda p: {"prefix": f"/{p}/"}, LABELS), st.builds(lambda p: {"exact": f"/{p}"}, LABELS)
            )
        }
    ),
    st.fixed_dictionaries({"headers": st.fixed_dictionaries({"x-version": st.builds(lambda v: {"exact": v}, LABELS)})}),
)


@st.composite
def routes(draw: st.DrawFn) -> dict[str, Any]:
    route: dict[str, Any] = {}
    if draw(st.booleans()):
        route["match"] = draw(st.lists(MATCH, min_size=1, max_size=2))
    if draw(st.booleans()):
        route["destination"] = {"host": draw(LABELS), "port": draw(st.integers(1, 65535))}
    else:
        weight = draw(WEIGHT)
        route["destinations"] = [
            {"host": draw(LABELS), "port": 8080, "weight": weight},
            {"host": draw(LABELS), "port": 8080, "weight": 100 - weight},
        ]
    if draw(st.booleans()):
        route["timeout"] = draw(st.sampled_from(["1s", "250ms", "2m"]))
    if draw(st.booleans()):
        route["retries"] = {"attempts": draw(st.integers(0, 5)), "perTryTimeout": "1s"}
    return route


@st.composite
def specs(draw: st.DrawFn) -> dict[str, Any]:
    """Valid specs over the http, tls, redirect, mtls and tcp plugins: names, refs and options varied."""
    gateways = draw(st.lists(st.sampled_from(["public", "edge"]), min_size=1, max_size=2, unique=True))
    hosts = draw(
        st.lists(st.from_regex(r"[a-z]{1,8}\.example\.com", fullmatch=True), min_size=1, max_size=4, unique=True)
    )
    entries: dict[str, Any] = {}
    for i, host in enumerate(hosts):
        entry: dict[str, Any] = {"gateway": draw(st.sampled_from(gateways))}
        if draw(st.booleans()):
            entry["virtualService"] = f"vs-{i}"
        entry["routes"] = draw(st.lists(routes(), min_size=1, max_size=3))
        if draw(st.booleans()):
            entry["tls"] = {"credentialName": f"{host.split('.')[0]}-cert"}
            if draw(st.booleans()):
                entry["tls"]["minProtocolVersion"] = "TLSV1_2"
            choice = draw(st.sampled_from(["redirect", "https-only", "mtls", "plain"]))
            if choice == "redirect":
                entry["redirect"] = True
            elif choice == "https-only":
                entry["http"] = False
            elif choice == "mtls":
                entry["mtls"] = {"mode": "MUTUAL"}
        entries[host] = entry
    used = sorted({e["gateway"] for e in entries.values()})  # a Gateway without servers is refused
    spec: dict[str, Any] = {"namespace": "shop", "gateways": {g: {} for g in used}, "hosts": entries}
    if draw(st.booleans()):
        spec["gatewayRefs"] = "short"
    if draw(st.booleans()):
        port = draw(st.integers(31400, 31410))
        spec["workloads"] = {
            "istio-ingressgateway": {
                "namespace": "istio-system",
                "labels": {"app": "istio-ingressgateway", "istio": "ingressgateway"},
                "ports": [
                    {"name": "http2", "port": 80, "targetPort": 8080},
                    {"name": "https", "port": 443, "targetPort": 8443},
                    {"name": "tcp", "port": port, "targetPort": port},
                ],
            }
        }
        spec["tcp"] = {"echo": {"gateway": used[0], "port": port, "destination": {"host": "echo", "port": 2701}}}
    return spec


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=specs())
def test_generated_specs_round_trip_byte_identical(
    pipeline: Pipeline, tmp_path_factory: pytest.TempPathFactory, spec: dict[str, Any]
) -> None:
    folder = tmp_path_factory.mktemp("gen")
    first = pipeline.prepare(pipeline.load(write_spec(folder, spec, "gen"), folder))
    result = import_objects(pipeline, [o.obj for o in first.objects], "gen", folder / "gen.yaml")
    assert [str(x) for x in result.lossy] == []
    assert render_files(pipeline, folder, result.text, "gen") == first.files
