"""Rendered objects against CRD schemas, CEL rules and Kubernetes' own schemas (gwpipe.checks.schema.check)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from gwpipe.checks.schema import builtin, cel, corekinds, crds, crdsources
from gwpipe.checks.schema.check import schema_findings
from gwpipe.checks.schema.convert import normalize
from gwpipe.engine import Options, Pipeline
from gwpipe.errors import UsageError
from gwpipe.hooks.manager import create_manager
from gwpipe.model import Finding, RenderedObject, ResourceRequest
from gwpipe.spec.load import Spec

REPO = Path(__file__).resolve().parent.parent
# beside the repository, or beside the folder of worktrees it is checked out in
CRDS = next(
    (p / "shared" / "reference" / "crds" for p in (REPO.parent, REPO.parent.parent) if (p / "shared").is_dir()),
    REPO.parent / "shared" / "reference" / "crds",
)
BUNDLES = Path(__file__).resolve().parent / "schema_bundles"
WALKTHROUGH = sorted((REPO / "examples" / "walkthrough").glob("*.yaml"))
ENVIRONMENTS = sorted(p for p in (REPO / "environments").glob("*.yaml") if not p.name.startswith("_"))
_EXPECT = re.compile(r"^# expect: (Info|Warning|Error) (\S+) (.+)$", re.MULTILINE)

needs_crds = pytest.mark.skipif(
    not CRDS.is_dir(), reason=f"upstream CRDs not found at {CRDS} (shared/ is not beside the repository)"
)


@pytest.fixture(autouse=True)
def _fresh(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(crdsources.ENV_VAR, raising=False)
    monkeypatch.delenv("GWPIPE_KUBERNETES_VERSION", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    cel.clear_memo()


def rendered(doc: dict[str, Any], text: str | None = None) -> RenderedObject:
    """A RenderedObject for a parsed manifest, with the path gwpipe's writer would give it."""
    meta = doc.get("metadata") or {}
    request = ResourceRequest("test", "test.j2", doc["apiVersion"], doc["kind"], meta["name"], meta.get("namespace"))
    path = f"{meta.get('namespace', '_cluster')}/{doc['kind'].lower()}-{meta['name']}.yaml"
    return RenderedObject(request, text if text is not None else yaml.safe_dump(doc, sort_keys=False), doc, path)


def objects_in(text: str) -> list[RenderedObject]:
    return [rendered(doc, text) for doc in yaml.safe_load_all(text) if doc]


def a_spec(root: Path, data: dict[str, Any] | None = None) -> Spec:
    return Spec(name="test", file="test.yaml", data=data or {}, root=root)


def use_crds(monkeypatch: pytest.MonkeyPatch, *folders: Path) -> None:
    monkeypatch.setenv(crdsources.ENV_VAR, os.pathsep.join(str(f) for f in folders))


def expectations(text: str) -> list[tuple[str, str, str]]:
    return [(m.group(1), m.group(2), m.group(3)) for m in _EXPECT.finditer(text)]


def _matches(expected: tuple[str, str, str], finding: Finding) -> bool:
    level, code, message = expected
    return finding.level == level and finding.code == code and re.fullmatch(message, finding.message) is not None


@needs_crds
@pytest.mark.parametrize("bundle", sorted((BUNDLES / "broken").glob("*.yaml")), ids=lambda p: p.stem)
def test_broken_bundle_gives_exactly_the_expected_findings(
    bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_crds(monkeypatch, CRDS, BUNDLES / "crds")
    text = bundle.read_text(encoding="utf-8")
    expected = expectations(text)
    assert expected, f"{bundle.name} declares no '# expect:' line"
    findings = schema_findings(a_spec(tmp_path), objects_in(text))
    unmatched = [f for f in findings if not any(_matches(e, f) for e in expected)]
    missing = [e for e in expected if sum(_matches(e, f) for f in findings) != 1]
    assert not unmatched, f"unexpected: {[str(f) for f in unmatched]}"
    assert not missing, f"missing (or matched more than once): {missing}; found: {[str(f) for f in findings]}"


@needs_crds
@pytest.mark.parametrize("bundle", sorted((BUNDLES / "valid").glob("*.yaml")), ids=lambda p: p.stem)
def test_valid_bundle_gives_no_findings(bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_crds(monkeypatch, CRDS, BUNDLES / "crds")
    objects = objects_in(bundle.read_text(encoding="utf-8"))
    assert objects
    assert [str(f) for f in schema_findings(a_spec(tmp_path), objects) if not _skipped_only(f, UNKNOWN_KINDS)] == []


@pytest.mark.parametrize("bundle", sorted((BUNDLES / "broken").glob("*.yaml")), ids=lambda p: p.stem)
def test_broken_bundle_gives_the_same_findings_from_the_builtin_catalog(
    bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_crds(monkeypatch, BUNDLES / "crds")  # the test CRD only: Istio, Gateway API, cert-manager come built in
    text = bundle.read_text(encoding="utf-8")
    expected = expectations(text)
    findings = schema_findings(a_spec(tmp_path), objects_in(text))
    unmatched = [f for f in findings if not any(_matches(e, f) for e in expected)]
    missing = [e for e in expected if sum(_matches(e, f) for f in findings) != 1]
    assert not unmatched, f"unexpected: {[str(f) for f in unmatched]}"
    assert not missing, f"missing (or matched more than once): {missing}; found: {[str(f) for f in findings]}"


@pytest.mark.parametrize("bundle", sorted((BUNDLES / "valid").glob("*.yaml")), ids=lambda p: p.stem)
def test_valid_bundle_gives_no_findings_from_the_builtin_catalog(
    bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_crds(monkeypatch, BUNDLES / "crds")
    objects = objects_in(bundle.read_text(encoding="utf-8"))
    assert [str(f) for f in schema_findings(a_spec(tmp_path), objects) if not _skipped_only(f, UNKNOWN_KINDS)] == []


# kinds no upstream CRD of the catalog defines: the test corpus's made-up kind, and two the fleet renders
UNKNOWN_KINDS = frozenset({"Anything"})
UNCOVERED_KINDS = frozenset({"HelmRelease", "IstioOperator"})


def _skipped_only(finding: Finding, kinds: frozenset[str]) -> bool:
    """True for the one GWP0101 info, when every kind it names is in `kinds`."""
    match = re.fullmatch(
        r"CRD schema validation skipped for ([A-Za-z, ]+): not in the built-in catalog.*", finding.message
    )
    return finding.code == "GWP0101" and match is not None and set(match.group(1).split(", ")) <= kinds


@needs_crds
def test_finding_names_file_line_and_object(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_crds(monkeypatch, CRDS)
    text = (BUNDLES / "broken" / "gateway-bad-enum.yaml").read_text(encoding="utf-8")
    [finding] = schema_findings(a_spec(tmp_path), objects_in(text))
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "mode: SIMPEL" in t)
    assert (finding.kind, finding.namespace, finding.name) == ("Gateway", "web", "edge")
    assert (finding.file, finding.line) == ("web/gateway-edge.yaml", line)


def test_without_sources_the_builtin_catalog_checks_crd_kinds_and_core_kinds(tmp_path: Path) -> None:
    text = (BUNDLES / "valid" / "istio.yaml").read_text(encoding="utf-8")
    text += "\n---\n" + (BUNDLES / "broken" / "service-unknown-field.yaml").read_text(encoding="utf-8")
    text += "\n---\n" + (BUNDLES / "broken" / "gateway-bad-enum.yaml").read_text(encoding="utf-8")
    findings = schema_findings(a_spec(tmp_path), objects_in(text))
    assert sorted(f"{f.code} {f.kind} {f.message}" for f in findings) == [
        "IST0106 Gateway spec.servers[0].tls.mode: unsupported value, got 'SIMPEL'; "
        "allowed: PASSTHROUGH, SIMPLE, MUTUAL, AUTO_PASSTHROUGH, ISTIO_MUTUAL, OPTIONAL_MUTUAL",
        "IST0106 Service spec.ports[0].port: expected integer, got string",
        "IST0106 Service spec.selectr: unknown field; did you mean 'selector'?",
    ]


def test_a_kind_no_schema_covers_gives_one_info_naming_it(tmp_path: Path) -> None:
    doc = {"apiVersion": "unknown.example.org/v1", "kind": "Anything", "metadata": {"name": "x", "namespace": "web"}}
    [info] = schema_findings(a_spec(tmp_path), [rendered(doc), rendered({**doc, "kind": "Other"})])
    assert (info.code, info.level, info.file) == ("GWP0101", "Info", "test.yaml")
    assert info.message == (
        "CRD schema validation skipped for Anything, Other: not in the built-in catalog and no CRD source defines it; "
        "import its CRD with `gwpipe crds import` and list it in checks.crds or GWPIPE_CRDS"
    )


def test_no_objects_no_findings(tmp_path: Path) -> None:
    assert schema_findings(a_spec(tmp_path), []) == []


def test_unsupported_kubernetes_version_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GWPIPE_KUBERNETES_VERSION", "1.10")
    objects = objects_in((BUNDLES / "valid" / "argocd-and-core.yaml").read_text(encoding="utf-8"))
    with pytest.raises(
        UsageError,
        match=r"^GWPIPE_KUBERNETES_VERSION: unsupported kubernetes version, got '1\.10'; allowed: 1\.\d+ or newer$",
    ):
        schema_findings(a_spec(tmp_path), objects)


def test_kubernetes_version_selects_the_schemas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # autoscaling/v2beta2 left in Kubernetes 1.26: served by the 1.25 schemas, refused by later ones
    hpa = {
        "apiVersion": "autoscaling/v2beta2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web", "namespace": "web"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 1, "maxReplicas": 3},
    }
    monkeypatch.setenv("GWPIPE_KUBERNETES_VERSION", "1.25")
    assert schema_findings(a_spec(tmp_path), [rendered(hpa)]) == []
    monkeypatch.setenv("GWPIPE_KUBERNETES_VERSION", "1.30")
    [finding] = schema_findings(a_spec(tmp_path), [rendered(hpa)])
    assert finding.message == "Kubernetes 1.30 does not serve autoscaling/v2beta2 HorizontalPodAutoscaler"


@needs_crds
def test_rule_results_are_shared_between_objects_with_equal_inputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_crds(monkeypatch, CRDS)
    base = yaml.safe_load((BUNDLES / "broken" / "gateway-two-credentials.yaml").read_text(encoding="utf-8"))
    objects = []
    for i in range(20):
        doc = yaml.safe_load(yaml.safe_dump(base))
        doc["metadata"]["name"] = f"edge{i}"
        doc["spec"]["servers"][0]["tls"]["credentialName"] = f"cert-{i}"  # only its presence matters to the rules
        objects.append(rendered(doc))
    findings = schema_findings(a_spec(tmp_path), objects)
    assert len(findings) == 20
    assert {f.message for f in findings} == {
        "spec.servers[0].tls: only one of credentialName or credentialNames can be set"
    }
    assert cel.memo_size() == 1


def _render_only(path: Path) -> tuple[Spec, list[RenderedObject]]:
    """Load, plan and render a spec with the built-in plugins, without the check stage (isolates this check)."""
    pipeline = Pipeline(Options(), pm=create_manager(entry_points=False))
    spec = pipeline.load(path, path.parent)
    return spec, pipeline.render(spec)


@pytest.mark.parametrize("override", [False, True], ids=["builtin", "reference-crds"])
@pytest.mark.parametrize("example", WALKTHROUGH, ids=lambda p: p.stem)
def test_walkthrough_examples_pass_schema_and_rules(
    example: Path, override: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if override:
        _require_reference()
        use_crds(monkeypatch, CRDS)
    spec, objects = _render_only(example)
    assert objects
    assert [str(f) for f in schema_findings(spec, objects) if not _skipped_only(f, UNCOVERED_KINDS)] == []


@pytest.mark.parametrize("override", [False, True], ids=["builtin", "reference-crds"])
@pytest.mark.parametrize("environment", ENVIRONMENTS, ids=lambda p: p.stem)
def test_example_environments_pass_schema_and_rules(
    environment: Path, override: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if override:
        _require_reference()
        use_crds(monkeypatch, CRDS)
    spec, objects = _render_only(environment)
    assert objects
    assert [str(f) for f in schema_findings(spec, objects) if not _skipped_only(f, UNCOVERED_KINDS)] == []


def _require_reference() -> None:
    if not CRDS.is_dir():
        pytest.skip(f"upstream CRDs not found at {CRDS} (shared/ is not beside the repository)")


@needs_crds
def test_checks_crds_in_the_spec_is_used(tmp_path: Path) -> None:
    (tmp_path / "crds").mkdir()
    (tmp_path / "crds" / "widgets.yaml").write_bytes((BUNDLES / "crds" / "widgets.example.com.yaml").read_bytes())
    spec = a_spec(tmp_path, {"checks": {"crds": ["crds"]}})
    spec.file = str(tmp_path / "test.yaml")
    text = (BUNDLES / "broken" / "widget-types.yaml").read_text(encoding="utf-8")
    messages = sorted(f.message for f in schema_findings(spec, objects_in(text)))
    assert messages == [
        "spec.maxReplicas: must be <= 10, got 11",
        "spec.port: expected integer or string, got boolean",
        "spec.size: required field missing",
    ]


def test_crd_cache_is_per_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_crds(monkeypatch, BUNDLES / "crds")
    spec = a_spec(tmp_path)
    objects = objects_in((BUNDLES / "valid" / "widget.yaml").read_text(encoding="utf-8"))
    schema_findings(spec, objects)
    first = crds.catalog(crdsources.configured_sources(spec))
    schema_findings(spec, objects)
    assert crds.catalog(crdsources.configured_sources(spec)) is first


def test_unquoted_timestamps_are_checked_as_the_strings_the_api_server_gets(tmp_path: Path) -> None:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: web}\ndata:\n  since: 2024-01-02\n  n: 3\n"
    [finding] = schema_findings(a_spec(tmp_path), objects_in(text))
    assert finding.message == "data.n: expected null or string, got integer"


def test_long_values_are_shortened_in_messages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_crds(monkeypatch, BUNDLES / "crds")
    doc = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "web"}}
    doc["spec"] = {"size": "X" * 500}
    [finding] = schema_findings(a_spec(tmp_path), [rendered(doc)])
    assert finding.message == f"spec.size: unsupported value, got '{'X' * 76}...; allowed: small, large"


def test_rule_that_cannot_compile_is_reported_as_not_evaluated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    crd = yaml.safe_load((BUNDLES / "crds" / "widgets.example.com.yaml").read_text(encoding="utf-8"))["items"][0]
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["x-kubernetes-validations"] = [
        {"rule": "self ++ 1"}
    ]
    (tmp_path / "crd.yaml").write_text(yaml.safe_dump(crd), encoding="utf-8")
    use_crds(monkeypatch, tmp_path / "crd.yaml")
    doc = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "web"}}
    doc["spec"] = {"size": "small"}
    [finding] = schema_findings(a_spec(tmp_path), [rendered(doc)])
    assert (finding.code, finding.level) == ("GWP0102", "Warning")
    assert re.fullmatch(r"rule not evaluated: cannot compile rule 'self \+\+ 1': .+", finding.message)


def test_checks_crds_of_a_base_spec_resolve_from_the_base_folder(tmp_path: Path) -> None:
    from gwpipe.checks.schema.crdsources import configured_sources
    from gwpipe.spec.load import load_spec

    (tmp_path / "base" / "crds").mkdir(parents=True)
    (tmp_path / "base" / "crds" / "w.yaml").write_bytes((BUNDLES / "crds" / "widgets.example.com.yaml").read_bytes())
    (tmp_path / "base" / "common.yaml").write_text("namespace: web\nchecks:\n  crds: [crds]\n", encoding="utf-8")
    (tmp_path / "envs").mkdir()
    (tmp_path / "envs" / "prod.yaml").write_text("extends: ../base/common.yaml\n", encoding="utf-8")
    spec = load_spec(tmp_path / "envs" / "prod.yaml", tmp_path)
    assert [s.ref for s in configured_sources(spec)] == [str(tmp_path / "base" / "crds")]


_WIDGET_SPEC = yaml.safe_load((BUNDLES / "crds" / "widgets.example.com.yaml").read_text(encoding="utf-8"))["items"][0][
    "spec"
]["versions"][0]["schema"]["openAPIV3Schema"]
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.sampled_from(["small", "x"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["size", "minReplicas", "note", "extra", "tags", "listeners", "name"]), inner, max_size=4
        )
    ),
    max_leaves=12,
)


@given(st.dictionaries(st.sampled_from(["spec", "status"]), _JSON, max_size=2))
def test_normalize_is_idempotent(value: dict[str, Any]) -> None:
    once = normalize(value, _WIDGET_SPEC)
    assert normalize(once, _WIDGET_SPEC) == once


def test_every_bundled_kubernetes_group_passes_the_builtin_pre_test() -> None:
    # schema_findings skips loading the core schemas when no object's group passes could_be_builtin
    versions = corekinds._available()
    assert versions
    for major, minor in versions:
        core = corekinds._load(f"{major}.{minor}")
        assert core.groups
        assert [g for g in sorted(core.groups) if not corekinds.could_be_builtin(g)] == [], f"{major}.{minor}"
    assert not corekinds.could_be_builtin("networking.istio.io")
    assert corekinds.could_be_builtin("gateway.networking.k8s.io")
    assert corekinds.could_be_builtin("apps")


def test_the_builtin_catalog_reads_only_the_schemas_of_the_kinds_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "gw", "namespace": "apps"},
        "spec": {"servers": [{"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}]},
    }
    builtin.document.cache_clear()
    crds.clear_cache()
    assert schema_findings(a_spec(tmp_path), [rendered(gateway)]) == []
    assert builtin.document.cache_info().currsize == 1
    monkeypatch.setenv("GWPIPE_KUBERNETES_VERSION", "1.10")
    with pytest.raises(UsageError, match=r"^GWPIPE_KUBERNETES_VERSION: unsupported kubernetes version, got '1\.10'"):
        schema_findings(a_spec(tmp_path), [rendered(gateway)])
