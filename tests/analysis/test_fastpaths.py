"""The checks' fast paths give what the plain computations give: host index, V9 shortcuts, match checks, split runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from gwpipe.checks.analysis import analysis_findings, rendered_manifest
from gwpipe.checks.analysis.context import Reporter
from gwpipe.checks.analysis.hosts import HostIndex, _domain_problem, domain_problem, matches
from gwpipe.checks.analysis.manifests import Manifest, ManifestSet, index_kind, manifest_of
from gwpipe.checks.analysis.rules.httproute import _check_match
from gwpipe.checks.analysis.rules.unreachable import _analyze, _shadows_nothing, check_unreachable
from gwpipe.checks.analysis.run import rule_findings
from gwpipe.model import Finding, RenderedObject, ResourceRequest
from gwpipe.spec.load import Spec

BUNDLES = sorted((Path(__file__).resolve().parent.parent / "analysis_bundles").glob("*.yaml"))

# plain names, full and partial wildcards over a tiny alphabet, so that overlaps are frequent
HOST = st.one_of(
    st.just("*"),
    st.from_regex(r"\A\*?[ab.]{0,4}\Z"),
    st.from_regex(r"\A(\*\.)?[ab]{1,2}(\.[ab]{1,2}){0,2}\Z"),
)


@settings(max_examples=400)
@given(st.lists(HOST, max_size=10), HOST, st.data())
def test_host_index_finds_the_pairs_a_full_scan_finds(hosts: list[str], other: str, data: st.DataObject) -> None:
    # the name is often an indexed host itself, without its `*` or with a label in front of it
    near = [h.lstrip("*") for h in hosts] + [f"a{h.lstrip('*')}" for h in hosts] + [f"*{h}" for h in hosts]
    name = data.draw(st.sampled_from(near)) if near and data.draw(st.booleans()) else other
    index: HostIndex[int] = HostIndex([(h, i) for i, h in enumerate(hosts)])
    expected = {i for i, h in enumerate(hosts) if matches(h, name)}
    assert index.overlapping(name) == expected
    assert index.overlaps(name) == bool(expected)


LABEL = st.one_of(
    st.from_regex(r"\A[a-zA-Z0-9-]{1,4}\Z"),
    st.sampled_from(["*", "*a", "1", "0123", "-a", "a-", "a" * 63, "a" * 64, "é", "a\n", ""]),
)
DOMAIN = st.one_of(
    st.lists(LABEL, min_size=1, max_size=5).map(".".join),
    st.lists(LABEL, min_size=1, max_size=3).map(lambda labels: ".".join(labels) + "."),
    st.sampled_from(["10.0.0.1", "::1", "fe80::1%eth0", "a." * 130, ("a" * 63 + ".") * 4 + "com"]),
)


@settings(max_examples=500)
@given(DOMAIN, st.booleans())
def test_plain_domain_shortcut_agrees_with_the_label_walk(host: str, allow_wildcard: bool) -> None:
    assert domain_problem.__wrapped__(host, allow_wildcard) == _domain_problem(host, allow_wildcard)


def _manifest(spec: dict[str, Any], kind: str = "VirtualService") -> Manifest:
    return manifest_of(
        {"apiVersion": "networking.istio.io/v1", "kind": kind, "metadata": {"name": "v"}, "spec": spec}, "default"
    )


def _messages(reporter: Reporter) -> list[str]:
    return sorted(f"{f.code} {f.message}" for f in reporter.findings)


# exact URIs only, so no prefix covers another and every IST0131 is a duplicate
MATCH = st.fixed_dictionaries(
    {"uri": st.fixed_dictionaries({"exact": st.sampled_from(["/a", "/b", "/c"])})},
    optional={"name": st.sampled_from(["m1", "m2"]), "port": st.sampled_from([80, 443])},
)
RULES = st.lists(
    st.fixed_dictionaries({"match": st.lists(MATCH, min_size=1, max_size=3)}, optional={"name": st.just("r")}),
    max_size=4,
)


def _canonical(match: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in match.items() if k != "name"}, sort_keys=True)


@settings(max_examples=300)
@given(RULES)
def test_duplicate_matches_are_those_a_pairwise_scan_finds(rules: list[dict[str, Any]]) -> None:
    reporter = Reporter()
    check_unreachable(reporter, _manifest({"http": rules}))
    expected = []
    seen: dict[str, str] = {}
    for i, rule in enumerate(rules):
        name = str(rule.get("name") or i)
        repeated = 0
        for j, match in enumerate(rule["match"]):
            text = _canonical(match)
            if text in seen:
                repeated += 1
                expected.append(
                    f"IST0131 V9: VirtualService rule {name} match {j} is not used "
                    f"(duplicate/overlapping match in rule {seen[text]})."
                )
            else:
                seen[text] = name
        if repeated == len(rule["match"]):
            expected.append(f"IST0130 V9: VirtualService rule {name} not used (all matches used by prior rules).")
    assert _messages(reporter) == sorted(expected)


ANY_RULE = st.one_of(
    st.none(),
    st.just("text"),
    st.fixed_dictionaries(
        {},
        optional={
            "match": st.one_of(st.none(), st.just([]), st.lists(MATCH, min_size=1, max_size=2)),
            "name": st.just("r"),
        },
    ),
)


@settings(max_examples=300)
@given(st.lists(ANY_RULE, max_size=3))
def test_rules_skipped_as_shadowing_nothing_report_nothing(rules: list[Any]) -> None:
    reporter = Reporter()
    _analyze(reporter, _manifest({"http": rules}), "http", rules)
    if _shadows_nothing(rules):
        assert reporter.findings == []


# each key of an HTTP match, valid and invalid; every check looks at one key only
MATCH_PARTS: dict[str, list[Any]] = {
    "uri": [{"prefix": "/"}, {"prefix": "/a", "exact": "/a"}, {"regex": "(?=x)"}, "x"],
    "scheme": [{"exact": "https"}, {"prefix": ""}],
    "method": [{"exact": "GET"}, {"exact": "GET", "regex": "G.*"}],
    "authority": [{"exact": "a.com"}, {"regex": "("}],
    "headers": [{"x-a": {"exact": "1"}}, {"bad name": {"exact": "1"}}, {"x-b": None}],
    "withoutHeaders": [{"x-a": {"regex": "*"}}, {"@request.auth.claims.sub": {"exact": "u"}}],
    "queryParams": [{"q": {"exact": "1"}}, {"q": {"exact": "1", "prefix": "1"}}],
    "port": [80, 0, "80"],
    "sourceLabels": [{"app": "a"}, {"app": "-bad-"}],
    "sourceNamespace": ["apps", "Not_A_Label"],
}


@settings(max_examples=300)
@given(
    st.dictionaries(st.sampled_from(sorted(MATCH_PARTS)), st.integers(0, 3), min_size=1).map(
        lambda picks: {k: MATCH_PARTS[k][i % len(MATCH_PARTS[k])] for k, i in picks.items()}
    ),
    st.booleans(),
)
def test_a_match_gets_the_findings_of_its_keys_checked_one_by_one(match: dict[str, Any], bound: bool) -> None:
    m = _manifest({})
    whole = Reporter()
    _check_match(whole, m, match, ("spec", "http", 0, "match", 0), bound)
    parts = Reporter()
    for key, value in match.items():
        _check_match(parts, m, {key: value}, ("spec", "http", 0, "match", 0), bound)
    assert _messages(whole) == _messages(parts)


@given(st.text(alphabet="abk8s.io/v1", max_size=24), st.sampled_from(["Gateway", "HTTPRoute", "Deployment"]))
def test_index_kind_shortcut_agrees_with_the_group_rule(api_version: str, kind: str) -> None:
    m = Manifest(kind, api_version, "ns", "n", {})
    group = api_version.split("/")[0] if "/" in api_version else ""
    qualified = group.endswith(".k8s.io") and group != "apps.k8s.io"
    assert index_kind(m) == (f"{group}/{kind}" if qualified else kind)


def _rendered(doc: dict[str, Any], text: str) -> RenderedObject:
    meta = doc.get("metadata") or {}
    request = ResourceRequest("test", "test.j2", doc["apiVersion"], doc["kind"], meta["name"], meta.get("namespace"))
    return RenderedObject(request, text, doc, f"{meta.get('namespace', '_cluster')}/{doc['kind'].lower()}.yaml")


def _objects(path: Path) -> list[RenderedObject]:
    out = []
    for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
        if isinstance(doc, dict) and doc.get("kind") != "List":
            out.append(_rendered(doc, yaml.safe_dump(doc, sort_keys=False)))
    return out


def _spec(root: Path, suppress: list[str] | None = None) -> Spec:
    return Spec(name="test", file="test.yaml", data={"checks": {"suppress": suppress}} if suppress else {}, root=root)


def test_the_corpus_exercises_rules_analyzers_and_suppression(tmp_path: Path) -> None:
    objects = [o for path in BUNDLES for o in _objects(path)]
    rules = [f for o in objects for f in rule_findings(rendered_manifest(o))]
    codes = {f.code for f in analysis_findings(_spec(tmp_path), objects)}
    assert {f.code for f in rules} >= {"IST0106", "IST0133"}
    assert codes > {f.code for f in rules}, "the admission rules' codes and some analyzer's"
    kept = analysis_findings(_spec(tmp_path, ["IST0106=*"]), objects)
    assert "IST0106" not in {f.code for f in kept}


def test_rule_findings_judge_one_manifest() -> None:
    manifests = ManifestSet([_manifest({"hosts": ["a.com"], "http": [{"route": []}]})])
    [finding] = rule_findings(manifests.items[0])
    assert isinstance(finding, Finding)
    assert finding.message == "R1: HTTP route, redirect or direct_response is required"
