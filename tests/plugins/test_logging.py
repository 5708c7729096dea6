"""The logging plugin: Telemetry access logging per gateway workload, or meshConfig.accessLogFile mesh-wide."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gwpipe.errors import SpecError
from gwpipe.testing import build, find

WORKLOADS = {
    "istio-ingressgateway": {
        "namespace": "istio-system",
        "labels": {"app": "istio-ingressgateway", "istio": "ingressgateway"},
        "ports": [{"name": "http2", "port": 80, "targetPort": 8080}],
    },
    "team-gateway": {
        "namespace": "team",
        "labels": {"istio": "team-gateway"},
        "ports": [{"name": "http2", "port": 80, "targetPort": 8080}],
    },
}


def spec(logging: dict[str, Any], version: str = "1.24", **top: Any) -> dict[str, Any]:
    return {
        "istio": {"version": version},
        "namespace": "shop",
        "workloads": WORKLOADS,
        "gateways": {"edge": {}},
        "hosts": {"shop.example.com": {"gateway": "edge", "routes": [{"destination": {"host": "web", "port": 80}}]}},
        "logging": logging,
        **top,
    }


def spec_errors(folder: Path, data: dict[str, Any]) -> list[str]:
    with pytest.raises(SpecError) as caught:
        build(folder, data)
    return [re.sub(r"^.*test\.yaml:\d+:\d+: ", "", str(p)) for p in caught.value.problems]


def test_telemetry_lives_in_the_workload_namespace_and_selects_its_labels(spec_dir: Path) -> None:
    bundle = build(spec_dir, spec({"telemetry": {"team-logs": {"workload": "team-gateway"}}}))
    telemetry = find(bundle.objects, "Telemetry", "team-logs")
    # a workload-selector Telemetry only applies to pods in its own namespace (istio-rules §4.2)
    assert telemetry["metadata"]["namespace"] == "team"
    assert telemetry["apiVersion"] == "telemetry.istio.io/v1"
    assert telemetry["spec"] == {
        "selector": {"matchLabels": {"istio": "team-gateway"}},
        "accessLogging": [{"providers": [{"name": "envoy"}], "disabled": False}],
    }


def test_filter_mode_providers_and_disabled_are_rendered(spec_dir: Path) -> None:
    entry = {
        "workload": "istio-ingressgateway",
        "selector": {"app": "istio-ingressgateway"},
        "providers": ["envoy", "otel-als"],
        "filter": "response.code >= 400",
        "mode": "CLIENT",
        "disabled": True,
    }
    bundle = build(spec_dir, spec({"telemetry": {"errors-only": entry}}, version="1.17"))
    telemetry = find(bundle.objects, "Telemetry", "errors-only")
    assert telemetry["apiVersion"] == "telemetry.istio.io/v1alpha1"
    assert telemetry["metadata"]["namespace"] == "istio-system"
    assert telemetry["spec"]["accessLogging"] == [
        {
            "providers": [{"name": "envoy"}, {"name": "otel-als"}],
            "disabled": True,
            "filter": {"expression": "response.code >= 400"},
            "match": {"mode": "CLIENT"},
        }
    ]
    # istiod silently skips provider names meshConfig.extensionProviders does not declare
    warnings = [f for f in bundle.findings if f.code == "GWP0602"]
    assert [(f.level, f.resource) for f in warnings] == [("Warning", "Telemetry istio-system/errors-only")]
    assert warnings[0].message.startswith("provider 'otel-als' is not built in")


def test_each_entry_problem_is_located(spec_dir: Path) -> None:
    entries = {
        "bad-filter": {"workload": "team-gateway", "filter": "response.code >="},
        "server-mode": {"workload": "istio-ingressgateway", "mode": "SERVER"},
        "wrong-selector": {"workload": "istio-ingressgateway", "selector": {"app": "webapp"}},
        "nowhere": {"workload": "missing"},
    }
    assert spec_errors(spec_dir, spec({"telemetry": entries})) == [
        "logging.telemetry.bad-filter.filter: is not a valid CEL expression at column 15, got 'response.code >='",
        "logging.telemetry.server-mode.mode: SERVER never applies to a gateway (gateways log in CLIENT mode); "
        "use CLIENT or CLIENT_AND_SERVER",
        "logging.telemetry.wrong-selector.selector: does not select the pods of workload 'istio-ingressgateway' "
        "(labels: app=istio-ingressgateway, istio=ingressgateway)",
        "logging.telemetry.nowhere.workload: unknown workload 'missing'; declared: istio-ingressgateway, team-gateway",
    ]


def test_match_mode_needs_istio_1_15(spec_dir: Path) -> None:
    errors = spec_errors(spec_dir, spec({"telemetry": {"a": {"mode": "CLIENT"}}}, version="1.14"))
    assert errors == ["logging.telemetry.a.mode: needs Istio 1.15 or later (accessLogging match)"]


def test_two_telemetries_selecting_one_workload_are_refused(spec_dir: Path) -> None:
    entries = {"a": {"workload": "istio-ingressgateway"}, "b": {"selector": {"istio": "ingressgateway"}}}
    assert spec_errors(spec_dir, spec({"telemetry": entries})) == [
        "logging.telemetry.b.selector: selects the pods of workload 'istio-ingressgateway' like Telemetry 'a'; "
        "a pod selected by two Telemetries is undefined (IST0159)"
    ]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    choices=st.lists(
        st.sampled_from(
            [
                ("istio-ingressgateway", None),
                ("istio-ingressgateway", {"app": "istio-ingressgateway"}),
                ("team-gateway", None),
            ]
        ),
        min_size=1,
        max_size=3,
    )
)
def test_a_conflict_is_reported_iff_two_entries_select_the_same_pods(
    spec_dir: Path, choices: list[tuple[str, Any]]
) -> None:
    """Property: the default gateway's two selectors both match it, team-gateway's pods are elsewhere."""
    entries = {f"t{i}": {"workload": w, **({"selector": s} if s else {})} for i, (w, s) in enumerate(choices)}
    workloads = [w for w, _ in choices]
    expected = sum(workloads[:i].count(w) > 0 for i, w in enumerate(workloads))
    if expected:
        errors = spec_errors(spec_dir, spec({"telemetry": entries}))
        assert len([e for e in errors if e.endswith("(IST0159)")]) == expected
    else:
        bundle = build(spec_dir, spec({"telemetry": entries}))
        assert len([o for o in bundle.objects if o.request.kind == "Telemetry"]) == len(choices)


def test_access_log_file_alone_makes_a_default_profile_control_plane(spec_dir: Path) -> None:
    bundle = build(spec_dir, spec({"accessLogFile": "/dev/stdout", "accessLogEncoding": "JSON"}))
    iop = find(bundle.objects, "IstioOperator", "control-plane")
    assert iop["metadata"]["namespace"] == "istio-system"
    assert iop["metadata"]["annotations"]["gwpipe.dev/plugins"] == "logging"
    # the same as the walkthrough's `istioctl install --set meshConfig.accessLogFile=/dev/stdout`
    assert iop["spec"] == {
        "profile": "default",
        "meshConfig": {"accessLogFile": "/dev/stdout", "accessLogEncoding": "JSON"},
    }


def test_access_log_file_joins_the_pilot_filter_control_plane(spec_dir: Path) -> None:
    data = spec({"accessLogFile": "/dev/stdout"}, pilot_filter={"enablePrometheusMerge": True})
    bundle = build(spec_dir, data)
    planes = [o for o in bundle.objects if o.request.kind == "IstioOperator"]
    assert [o.ref for o in planes] == ["IstioOperator istio-system/control-plane"]
    assert planes[0].obj["metadata"]["annotations"]["gwpipe.dev/plugins"] == "pilot_filter,logging"
    assert planes[0].obj["spec"]["meshConfig"] == {"accessLogFile": "/dev/stdout", "enablePrometheusMerge": True}


def test_access_log_file_goes_into_istiod_chart_values_in_helm_form(spec_dir: Path) -> None:
    bundle = build(spec_dir, spec({"accessLogFile": "/dev/stdout"}, pilot_filter={"form": "helm"}))
    release = find(bundle.objects, "HelmRelease", "control-plane")
    assert release["spec"]["values"] == {
        "pilot": {"env": {"PILOT_FILTER_GATEWAY_CLUSTER_CONFIG": "true"}},
        "meshConfig": {"accessLogFile": "/dev/stdout"},
    }


def test_both_mesh_file_and_telemetry_logging_warn_at_the_spec_line(spec_dir: Path) -> None:
    data = spec({"telemetry": {"gw-logs": {}}, "accessLogFile": "/dev/stdout"})
    bundle = build(spec_dir, data)
    both = [f for f in bundle.findings if f.code == "GWP0601"]
    assert len(both) == 1
    assert (both[0].level, both[0].resource) == ("Warning", "IstioOperator istio-system/control-plane")
    assert both[0].file == str(spec_dir / "test.yaml")
    lines = (spec_dir / "test.yaml").read_text().splitlines()
    assert lines[both[0].line - 1].strip() == "accessLogFile: /dev/stdout"
    assert both[0].message.startswith("meshConfig.accessLogFile and Telemetry access logging are both set")


def test_encoding_without_a_file_is_refused(spec_dir: Path) -> None:
    assert spec_errors(spec_dir, spec({"accessLogEncoding": "JSON"})) == [
        "logging.accessLogEncoding: requires field 'accessLogFile'"
    ]
