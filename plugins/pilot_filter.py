"""Smaller gateway config: istiod's PILOT_FILTER_GATEWAY_CLUSTER_CONFIG in the control plane, and its risks as findings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gwpipe.hooks.specs import hookimpl
from gwpipe.model import Finding, RenderedObject, ResourceRequest
from gwpipe.plugins import _istio as istio

if TYPE_CHECKING:
    from gwpipe.errors import Problem
    from gwpipe.importer.model import ImportClaim, ImportContext
    from gwpipe.spec.load import Spec

NAME = "pilot_filter"
FLAG = "PILOT_FILTER_GATEWAY_CLUSTER_CONFIG"
EXPERIMENTAL_CODE = "GWP0701"
UNBOUND_CODE = "GWP0702"
PASSTHROUGH_CODE = "GWP0703"
NOT_ROUTED_CODE = "GWP0704"
ENVOYFILTER_CODE = "GWP0705"
CALLOUT_CODE = "GWP0706"
ENVOYFILTER_ANNOTATION = "envoyfilter.istio.io/referenced-services"


@hookimpl
def gwpipe_spec_schema() -> dict[str, dict[str, Any]]:
    return {
        "": {
            "pilot_filter": {
                "type": "dict",
                "schema": {
                    "enabled": {"type": "boolean"},
                    "name": istio.LABEL,
                    "profile": {**istio.LABEL, "meta": {"description": "an istioctl profile name such as minimal"}},
                    "form": {"type": "string", "allowed": ["istiooperator", "helm"]},
                    "revision": istio.LABEL,
                    "repository": istio.HELM_REPOSITORY_SCHEMA,
                    "proxyMetadata": {
                        "type": "dict",
                        "keysrules": {
                            "type": "string",
                            "regex": r"[A-Z_][A-Z0-9_]*",
                            "meta": {"description": "an environment variable name"},
                        },
                        "valuesrules": {"type": "string"},
                    },
                    "enablePrometheusMerge": {"type": "boolean"},
                    "alwaysInclude": {
                        "type": "list",
                        "schema": {
                            "type": "dict",
                            "schema": {
                                "host": {
                                    "type": "string",
                                    "regex": r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*",
                                    "maxlength": 253,
                                    "required": True,
                                    "meta": {"description": "a Service name or FQDN"},
                                },
                                "gateway": istio.LABEL,
                                "reason": {"type": "string", "empty": False},
                            },
                        },
                    },
                },
            }
        }
    }


def settings(spec: Spec) -> dict[str, Any] | None:
    """The pilot_filter settings when the filter is on, else None."""
    found = spec.get("pilot_filter")
    if found is None or not found.get("enabled", True):
        return None
    return dict(found)


def fqdn(host: str, namespace: str) -> str:
    """Istio's short-name resolution: a name without dots is a Service in `namespace`."""
    return host if "." in host else f"{host}.{namespace}.svc.cluster.local"


@hookimpl
def gwpipe_validate_spec(spec: Spec) -> list[Problem]:
    found = spec.get("pilot_filter")
    if found is None:
        return []
    problems = []
    if "repository" in found and found.get("form", "istiooperator") != "helm":
        problems.append(spec.problem(("pilot_filter", "repository"), "only applies to form helm"))
    gateways = spec.get("gateways") or {}
    seen: dict[tuple[str, str | None], int] = {}
    for i, item in enumerate(found.get("alwaysInclude", [])):
        gateway = item.get("gateway")
        if gateway is not None and gateway not in gateways:
            problems.append(
                spec.problem(("pilot_filter", "alwaysInclude", i, "gateway"), f"unknown gateway {gateway!r}")
            )
        key = (fqdn(item["host"], istio.namespace(spec)), gateway)
        if key in seen:
            problems.append(
                spec.problem(
                    ("pilot_filter", "alwaysInclude", i, "host"), f"already listed as alwaysInclude[{seen[key]}]"
                )
            )
        seen.setdefault(key, i)
    return problems


@hookimpl
def gwpipe_resources(spec: Spec) -> list[ResourceRequest]:
    found = settings(spec)
    if found is None:
        return []
    request = istio.control_plane_request(
        spec,
        NAME,
        name=found.get("name", istio.CONTROL_PLANE_NAME),
        form=found.get("form", "istiooperator"),
        profile=found.get("profile", "minimal"),
        repository=found.get("repository"),
    )
    request.values["pilotEnv"][FLAG] = "true"
    request.values["revision"] = found.get("revision")
    mesh = request.values["meshConfig"]
    if found.get("proxyMetadata"):
        mesh["proxyMetadata"] = dict(sorted(found["proxyMetadata"].items()))
    if "enablePrometheusMerge" in found:
        mesh["enablePrometheusMerge"] = found["enablePrometheusMerge"]
    included = sorted({item["host"] for item in found.get("alwaysInclude", [])})
    if included:
        # reviewers see which upstreams the filter must keep; the findings say whether they are kept
        request.values["annotations"] = {"gwpipe.dev/pilot-filter-always-include": ",".join(included)}
    return [request]


@hookimpl
def gwpipe_check(spec: Spec, objects: list[RenderedObject]) -> list[Finding]:
    found = settings(spec)
    if found is None:
        return []
    plane = next((o for o in objects if o.request.values.get("role") == istio.CONTROL_PLANE_ROLE), None)
    findings: list[Finding] = []
    if plane is not None:
        findings.append(
            _on(
                plane,
                EXPERIMENTAL_CODE,
                f"{FLAG} is experimental and off by default since Istio 1.8.1 (istio/istio#29131 is open: "
                "clusters can drop to zero, #28315, and a new cluster can race the route using it, #29310); "
                "every upstream of a gateway must be a destination of a VirtualService bound to it",
            )
        )
    routed = _routed_hosts(objects)
    for gateway in (o for o in objects if o.request.kind == "Gateway"):
        key = (gateway.request.namespace or "", gateway.request.name)
        servers = (gateway.obj.get("spec") or {}).get("servers") or []
        passthrough = [s for s in servers if ((s.get("tls") or {}).get("mode")) == "AUTO_PASSTHROUGH"]
        if passthrough:
            findings.append(
                _on(
                    gateway,
                    PASSTHROUGH_CODE,
                    "AUTO_PASSTHROUGH servers still get clusters for every service; the filter does not shrink this gateway",
                    "Info",
                )
            )
        elif key not in routed:
            findings.append(
                _on(
                    gateway,
                    UNBOUND_CODE,
                    f"no VirtualService is bound to this Gateway; with {FLAG} its proxies get no clusters (503 NC)",
                )
            )
    findings.extend(_always_include(spec, found, objects, routed))
    findings.extend(_callouts(spec, objects))
    return findings


def _routed_hosts(objects: list[RenderedObject]) -> dict[tuple[str, str], set[str]]:
    """FQDNs each Gateway (namespace, name) gets clusters for: route, mirror, tcp and tls destinations of bound VSs."""
    out: dict[tuple[str, str], set[str]] = {}
    for vs in (o for o in objects if o.request.kind == "VirtualService"):
        ns = vs.request.namespace or ""
        body = vs.obj.get("spec") or {}
        hosts: set[str] = set()
        for rule in [*(body.get("http") or []), *(body.get("tcp") or []), *(body.get("tls") or [])]:
            targets = [r.get("destination") or {} for r in rule.get("route") or []]
            targets += [rule["mirror"]] if rule.get("mirror") else []
            targets += [m.get("destination") or {} for m in rule.get("mirrors") or []]
            hosts.update(fqdn(t["host"], ns) for t in targets if t.get("host"))
        for ref in body.get("gateways") or []:
            if ref == "mesh":
                continue
            gw_ns, _, gw_name = ref.rpartition("/")
            out.setdefault((gw_ns or ns, gw_name), set()).update(hosts)
    return out


def _always_include(
    spec: Spec, found: dict[str, Any], objects: list[RenderedObject], routed: dict[tuple[str, str], set[str]]
) -> list[Finding]:
    findings = []
    gateways = [o for o in objects if o.request.kind == "Gateway"]
    remedy = (
        f"list it in the annotation {ENVOYFILTER_ANNOTATION} of the EnvoyFilter that calls it"
        if istio.version(spec) >= (1, 26)
        else "add a VirtualService route to it on this gateway (the EnvoyFilter annotation needs Istio 1.26)"
    )
    for i, item in enumerate(found.get("alwaysInclude", [])):
        host = fqdn(item["host"], istio.namespace(spec))
        for gateway in gateways:
            if item.get("gateway") not in (None, gateway.request.name):
                continue
            if host in routed.get((gateway.request.namespace or "", gateway.request.name), set()):
                continue
            why = f" ({item['reason']})" if "reason" in item else ""
            loc = spec.location(("pilot_filter", "alwaysInclude", i, "host"))
            r = gateway.request
            findings.append(
                Finding(
                    NOT_ROUTED_CODE,
                    "Warning",
                    r.kind,
                    r.namespace or "",
                    r.name,
                    f"{host}{why} is not a destination of any VirtualService bound to this Gateway, so {FLAG} "
                    f"drops its cluster; {remedy}, or declare ext_authz/tracing services in meshConfig.extensionProviders",
                    loc.file if loc else spec.file,
                    loc.line if loc else None,
                )
            )
    return findings


def _callouts(spec: Spec, objects: list[RenderedObject]) -> list[Finding]:
    """Upstreams a gateway calls outside VirtualServices: EnvoyFilters, ext_authz, remote JWKS."""
    findings = []
    v = istio.version(spec)
    for obj in objects:
        kind, body = obj.request.kind, obj.obj.get("spec") or {}
        annotations = (obj.obj.get("metadata") or {}).get("annotations") or {}
        if kind == "EnvoyFilter" and (v < (1, 26) or ENVOYFILTER_ANNOTATION not in annotations):
            findings.append(
                _on(
                    obj,
                    ENVOYFILTER_CODE,
                    f"services this EnvoyFilter calls get no cluster on gateways under {FLAG} "
                    + (
                        "(the referenced-services annotation needs Istio 1.26)"
                        if v < (1, 26)
                        else f"unless listed in {ENVOYFILTER_ANNOTATION}"
                    ),
                )
            )
        elif kind == "AuthorizationPolicy" and body.get("action") == "CUSTOM" and v < (1, 14):
            findings.append(
                _on(
                    obj,
                    CALLOUT_CODE,
                    f"the ext_authz provider's service gets no cluster on gateways under {FLAG} before Istio 1.14",
                )
            )
        elif (
            kind == "RequestAuthentication"
            and v < (1, 21)
            and any(r.get("jwksUri") for r in body.get("jwtRules") or [])
        ):
            findings.append(
                _on(obj, CALLOUT_CODE, f"the jwksUri host gets no cluster on gateways under {FLAG} before Istio 1.21")
            )
    return findings


def _on(obj: RenderedObject, code: str, message: str, level: str = "Warning") -> Finding:
    r = obj.request
    return Finding(code, level, r.kind, r.namespace or "", r.name, message, obj.path, None)


@hookimpl
def gwpipe_import(context: ImportContext) -> list[ImportClaim]:
    if context.leftovers:
        return []
    from gwpipe.plugins.importers import pilot_filter as importer  # only `gwpipe import` needs it

    return importer.claims(context)
