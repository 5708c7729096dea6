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


HOSTS = st.from_regex(r"[a-z]{1,8}\.example\.com", fullmatch=True)
ROUTE = st.fixed_dictionaries(
    {
        "destination": st.fixed_dictionaries(
            {"host": st.from_regex(r"[a-z]{1,8}", fullmatch=True), "port": st.integers(1, 65535)}
        )
    },
    optional={"timeout": st.sampled_from(["1s", "250ms", "2m"])},
)


@st.composite
def specs(draw: st.DrawFn) -> dict[str, Any]:
    hosts = draw(st.dictionaries(HOSTS, st.lists(ROUTE, min_size=1, max_size=3), min_size=1, max_size=4))
    entries: dict[str, Any] = {}
    for host, routes in hosts.items():
        entry: dict[str, Any] = {"gateway": "public", "routes": routes}
        if draw(st.booleans()):
            entry["tls"] = {"credentialName": host.split(".")[0] + "-cert"}
            entry["redirect"] = draw(st.booleans())
        entries[host] = entry
    return {"namespace": "shop", "gateways": {"public": {}}, "hosts": entries}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=specs())
def test_generated_specs_round_trip_byte_identical(
    pipeline: Pipeline, tmp_path_factory: pytest.TempPathFactory, spec: dict[str, Any]
) -> None:
    folder = tmp_path_factory.mktemp("gen")
    first = pipeline.prepare(pipeline.load(write_spec(folder, spec, "gen"), folder))
    result = import_objects(pipeline, [o.obj for o in first.objects], "gen", folder / "gen.yaml")
    assert [str(x) for x in result.lossy] == []
    assert render_files(pipeline, folder, result.text, "gen") == first.files
