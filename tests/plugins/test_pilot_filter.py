"""The pilot_filter plugin: PILOT_FILTER_GATEWAY_CLUSTER_CONFIG in the control plane, and its risks as findings."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from gwpipe.errors import SpecError
from gwpipe.model import RenderedObject, ResourceRequest
from gwpipe.plugins import _istio, pilot_filter
from gwpipe.render import objects as render
from gwpipe.render.environment import make_environment
from gwpipe.spec.load import Spec
from gwpipe.testing import build, find

ROUTE = {"destination": {"host": "webapp", "port": 80}}


def spec(settings: dict[str, Any], version: str = "1.24", **top: Any) -> dict[str, Any]:
    return {
        "istio": {"version": version},
        "namespace": "shop",
        "gateways": {"edge": {}, "admin": {}},
        "hosts": {
            "shop.example.com": {"gateway": "edge", "routes": [ROUTE]},
            "admin.example.com": {
                "gateway": "admin",
                "routes": [{"destination": {"host": "admin.tools.svc.cluster.local", "port": 80}}],
            },
        },
        "pilot_filter": settings,
        **top,
    }


def spec_errors(folder: Path, data: dict[str, Any] | str) -> list[str]:
    with pytest.raises(SpecError) as caught:
        build(folder, textwrap.dedent(data) if isinstance(data, str) else data)
    return [re.sub(r"^.*test\.yaml:\d+:\d+: ", "", str(p)) for p in caught.value.problems]


def codes(findings: Any, code: str) -> list[str]:
    return sorted(f.resource for f in findings if f.code == code)


def test_the_control_plane_sets_the_flag_on_istiod_with_the_minimal_profile(spec_dir: Path) -> None:
    bundle = build(spec_dir, spec({}))
    iop = find(bundle.objects, "IstioOperator", "control-plane")
    assert (iop["apiVersion"], iop["metadata"]["namespace"]) == ("install.istio.io/v1alpha1", "istio-system")
    # minimal: istiod only; the gateways are installed on their own (gateway_split)
    assert iop["spec"] == {
        "profile": "minimal",
        "components": {"pilot": {"k8s": {"env": [{"name": "PILOT_FILTER_GATEWAY_CLUSTER_CONFIG", "value": "true"}]}}},
    }


def test_mesh_settings_name_profile_and_revision_come_from_the_spec(spec_dir: Path) -> None:
    settings = {
        "name": "istiod-install",
        "profile": "default",
        "revision": "canary",
        "proxyMetadata": {"ISTIO_META_DNS_CAPTURE": "true", "ISTIO_META_DNS_AUTO_ALLOCATE": "true"},
        "enablePrometheusMerge": False,
    }
    iop = find(build(spec_dir, spec(settings)).objects, "IstioOperator", "istiod-install")["spec"]
    assert (iop["profile"], iop["revision"]) == ("default", "canary")
    assert iop["meshConfig"] == {
        "defaultConfig": {"proxyMetadata": {"ISTIO_META_DNS_AUTO_ALLOCATE": "true", "ISTIO_META_DNS_CAPTURE": "true"}},
        "enablePrometheusMerge": False,
    }


def test_helm_form_is_a_flux_helmrelease_of_the_istiod_chart(spec_dir: Path) -> None:
    settings = {"form": "helm", "revision": "canary", "proxyMetadata": {"ISTIO_META_DNS_CAPTURE": "true"}}
    release = find(build(spec_dir, spec(settings, version="1.22")).objects, "HelmRelease", "control-plane")
    assert release["apiVersion"] == "helm.toolkit.fluxcd.io/v2"
    assert release["spec"]["chart"]["spec"] == {
        "chart": "istiod",
        "version": "1.22.x",
        "sourceRef": {"kind": "HelmRepository", "name": "istio", "namespace": "flux-system"},
    }
    # the istiod chart takes pilot.env as a mapping, not the IstioOperator's name/value list
    assert release["spec"]["values"] == {
        "revision": "canary",
        "pilot": {"env": {"PILOT_FILTER_GATEWAY_CLUSTER_CONFIG": "true"}},
        "meshConfig": {"defaultConfig": {"proxyMetadata": {"ISTIO_META_DNS_CAPTURE": "true"}}},
    }


def test_disabled_means_no_control_plane_and_no_findings(spec_dir: Path) -> None:
    bundle = build(spec_dir, spec({"enabled": False, "alwaysInclude": [{"host": "payments.internal"}]}))
    assert [o for o in bundle.objects if o.request.kind == "IstioOperator"] == []
    assert [f for f in bundle.findings if f.code.startswith("GWP07")] == []


def test_the_experimental_status_is_a_warning_on_the_control_plane(spec_dir: Path) -> None:
    bundle = build(spec_dir, spec({}))
    [finding] = [f for f in bundle.findings if f.code == "GWP0701"]
    assert (finding.level, finding.resource) == ("Warning", "IstioOperator istio-system/control-plane")
    assert "#29131" in finding.message


def test_always_include_hosts_no_bound_virtual_service_routes_to_are_warned_per_gateway(spec_dir: Path) -> None:
    settings = {
        "alwaysInclude": [
            {"host": "payments.internal.svc.cluster.local", "reason": "ext_authz"},
            # webapp in shop is a route destination on edge only: admin still lacks its cluster
            {"host": "webapp.shop.svc.cluster.local"},
            {"host": "admin.tools.svc.cluster.local", "gateway": "admin"},
        ]
    }
    bundle = build(spec_dir, spec(settings, version="1.26"))
    iop = find(bundle.objects, "IstioOperator", "control-plane")
    assert iop["metadata"]["annotations"]["gwpipe.dev/pilot-filter-always-include"] == (
        "admin.tools.svc.cluster.local,payments.internal.svc.cluster.local,webapp.shop.svc.cluster.local"
    )
    warned = sorted((f.resource, f.message.split(" ", 1)[0]) for f in bundle.findings if f.code == "GWP0704")
    assert warned == [
        ("Gateway shop/admin", "payments.internal.svc.cluster.local"),
        ("Gateway shop/admin", "webapp.shop.svc.cluster.local"),
        ("Gateway shop/edge", "payments.internal.svc.cluster.local"),
    ]
    payments = next(f for f in bundle.findings if f.code == "GWP0704" and "(ext_authz)" in f.message)
    assert payments.file == str(spec_dir / "test.yaml")
    assert "envoyfilter.istio.io/referenced-services" in payments.message


def test_before_istio_1_26_the_remedy_is_a_route_not_the_envoyfilter_annotation(spec_dir: Path) -> None:
    bundle = build(
        spec_dir, spec({"alwaysInclude": [{"host": "payments.internal", "gateway": "edge"}]}, version="1.17")
    )
    [finding] = [f for f in bundle.findings if f.code == "GWP0704"]
    assert (
        "add a VirtualService route to it on this gateway (the EnvoyFilter annotation needs Istio 1.26)"
        in finding.message
    )


def test_tcp_destinations_count_as_routed(spec_dir: Path) -> None:
    workloads = {
        "istio-ingressgateway": {
            "labels": {"istio": "ingressgateway"},
            "ports": [{"name": "http2", "port": 80}, {"name": "tcp", "port": 31400}],
        }
    }
    tcp = {"echo": {"gateway": "edge", "port": 31400, "destination": {"host": "tcp-echo", "port": 2701}}}
    data = spec(
        {"alwaysInclude": [{"host": "tcp-echo.shop.svc.cluster.local", "gateway": "edge"}]},
        workloads=workloads,
        tcp=tcp,
    )
    assert codes(build(spec_dir, data).findings, "GWP0704") == []


def _rendered(kind: str, name: str, body: dict[str, Any], annotations: dict[str, str] | None = None) -> RenderedObject:
    request = ResourceRequest("third-party", "x.j2", "v1", kind, name, "shop")
    obj = {
        "kind": kind,
        "metadata": {"name": name, "namespace": "shop", "annotations": annotations or {}},
        "spec": body,
    }
    return RenderedObject(request, "", obj, f"shop/{kind.lower()}-{name}.yaml")


def test_callouts_outside_virtual_services_are_warned_by_version(spec_dir: Path) -> None:
    # objects other plugins may render: EnvoyFilter callouts, ext_authz policies, remote JWKS
    bundle = build(spec_dir, spec({}, version="1.17"))
    extra = [
        _rendered("EnvoyFilter", "lua-callout", {}, {"envoyfilter.istio.io/referenced-services": "auth.shop"}),
        _rendered("AuthorizationPolicy", "ext-authz", {"action": "CUSTOM"}),
        _rendered(
            "RequestAuthentication", "jwt", {"jwtRules": [{"issuer": "x", "jwksUri": "https://idp.example.com/jwks"}]}
        ),
    ]
    found = pilot_filter.gwpipe_check(spec=bundle.spec, objects=[*bundle.objects, *extra])
    assert codes(found, "GWP0705") == ["EnvoyFilter shop/lua-callout"]
    assert codes(found, "GWP0706") == ["RequestAuthentication shop/jwt"]
    # ext_authz providers have kept their clusters since 1.14, so the 1.17 AuthorizationPolicy is fine
    newer = build(spec_dir, spec({}, version="1.26"))
    found = pilot_filter.gwpipe_check(spec=newer.spec, objects=[*newer.objects, *extra])
    assert codes(found, "GWP0705") == []
    assert codes(found, "GWP0706") == []


def test_a_gateway_without_bound_virtual_services_gets_no_clusters(spec_dir: Path) -> None:
    bundle = build(spec_dir, spec({}))
    assert codes(bundle.findings, "GWP0702") == []
    without_admin_vs = [o for o in bundle.objects if o.ref != "VirtualService shop/admin-example-com"]
    found = pilot_filter.gwpipe_check(spec=bundle.spec, objects=without_admin_vs)
    assert codes(found, "GWP0702") == ["Gateway shop/admin"]


def test_auto_passthrough_gateways_are_not_reduced(spec_dir: Path) -> None:
    bundle = build(spec_dir, spec({}))
    gateway = next(o for o in bundle.objects if o.ref == "Gateway shop/admin")
    servers = [
        {
            "port": {"number": 15443, "name": "tls", "protocol": "TLS"},
            "hosts": ["*.local"],
            "tls": {"mode": "AUTO_PASSTHROUGH"},
        }
    ]
    passthrough = RenderedObject(
        gateway.request, gateway.text, {**gateway.obj, "spec": {"servers": servers}}, gateway.path
    )
    objects = [passthrough if o is gateway else o for o in bundle.objects]
    [finding] = [f for f in pilot_filter.gwpipe_check(spec=bundle.spec, objects=objects) if f.code == "GWP0703"]
    assert (finding.level, finding.resource) == ("Info", "Gateway shop/admin")


def test_settings_problems_are_located(spec_dir: Path) -> None:
    settings = {
        "repository": {"name": "istio"},
        "alwaysInclude": [
            {"host": "payments", "gateway": "nope"},
            {"host": "payments.shop.svc.cluster.local"},
            {"host": "payments"},
        ],
    }
    assert spec_errors(spec_dir, spec(settings)) == [
        "pilot_filter.repository: only applies to form helm",
        "pilot_filter.alwaysInclude[0].gateway: unknown gateway 'nope'",
        # a short name is the Service in the spec namespace: the same host as its FQDN
        "pilot_filter.alwaysInclude[2].host: already listed as alwaysInclude[1]",
    ]


def test_proxy_metadata_values_must_be_quoted_strings(spec_dir: Path) -> None:
    errors = spec_errors(
        spec_dir,
        """\
        gateways: {edge: {}}
        hosts:
          shop.example.com: {gateway: edge, routes: [{destination: {host: web, port: 80}}]}
        pilot_filter:
          proxyMetadata:
            ISTIO_META_DNS_CAPTURE: true
        """,
    )
    assert errors == [
        "pilot_filter.proxyMetadata.ISTIO_META_DNS_CAPTURE: expected string, got boolean (YAML 1.1 read 'true' as boolean; quote it)"
    ]


@pytest.mark.parametrize("form", ["istiooperator", "helm"])
def test_mesh_config_a_plugin_adds_is_never_dropped(spec_dir: Path, form: str) -> None:
    # control_plane_request invites plugins to extend values["meshConfig"]; unknown fields must survive

    request: ResourceRequest = _istio.control_plane_request(_spec_for_mesh(spec_dir), "test", form=form)
    request.values["meshConfig"] = {"outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"}, "accessLogFile": "/dev/stdout"}
    objects = render.render_requests(_spec_for_mesh(spec_dir), [request], make_environment([], {}))
    obj = objects[0].obj
    mesh = obj["spec"]["meshConfig"] if form == "istiooperator" else obj["spec"]["values"]["meshConfig"]
    assert mesh == {"accessLogFile": "/dev/stdout", "outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"}}


def _spec_for_mesh(folder: Path) -> Spec:
    return Spec("mesh", str(folder / "mesh.yaml"), {"namespace": "shop"}, root=folder)
