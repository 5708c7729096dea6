"""HTTP basics: gateway workloads, Gateways with their port-80 servers, VirtualServices with routes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gwpipe.hooks.specs import hookimpl
from gwpipe.model import GATEWAYS_TIER, ROUTES_TIER, Placement, ResourceRequest
from gwpipe.plugins import _istio as istio

if TYPE_CHECKING:
    from gwpipe.errors import Problem
    from gwpipe.importer.model import ImportClaim, ImportContext
    from gwpipe.spec.load import Spec

NAME = "http"
GATEWAY_PLACEMENT = Placement(tier=GATEWAYS_TIER, protected=True)

_STRING_MATCH = {
    "type": "dict",
    "minlength": 1,
    "maxlength": 1,
    "schema": {"exact": {"type": "string"}, "prefix": {"type": "string"}, "regex": {"type": "string", "empty": False}},
}
_DESTINATION = {
    "host": {
        **istio.HOST,
        "regex": r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*",
        "required": True,
        "meta": {"description": "a Service name or FQDN"},
    },
    "port": {**istio.PORT, "required": True},
    "subset": istio.LABEL,
}
# a route's target: one destination, or weighted destinations (the tcp plugin's routes use them too)
DESTINATION_FIELDS = {
    "destination": {"type": "dict", "schema": _DESTINATION, "excludes": "destinations"},
    "destinations": {
        "type": "list",
        "minlength": 1,
        "excludes": "destination",
        "schema": {
            "type": "dict",
            "schema": {**_DESTINATION, "weight": {"type": "integer", "min": 0, "max": 100, "required": True}},
        },
    },
}
_ROUTE = {
    "type": "dict",
    "schema": {
        "name": istio.LABEL,
        "match": {
            "type": "list",
            "minlength": 1,
            "schema": {
                "type": "dict",
                "minlength": 1,
                "schema": {
                    "uri": _STRING_MATCH,
                    "headers": {
                        "type": "dict",
                        "keysrules": {"type": "string", "regex": r"[a-z0-9-]+"},
                        "valuesrules": _STRING_MATCH,
                    },
                    "method": _STRING_MATCH,
                },
            },
        },
        **DESTINATION_FIELDS,
        "timeout": istio.DURATION,
        "retries": {
            "type": "dict",
            "schema": {
                "attempts": {"type": "integer", "min": 0, "required": True},
                "perTryTimeout": istio.DURATION,
                "retryOn": {"type": "string", "regex": r"[a-z0-9-]+(,[a-z0-9-]+)*"},
            },
        },
        "rewrite": {"type": "dict", "schema": {"uri": {"type": "string", "empty": False}}},
    },
}


# where the request values land in the object: parse-back refuses an output that lacks any of them
GATEWAY_CONTENT = {"selector": "spec.selector", "servers": "spec.servers"}
VIRTUAL_SERVICE_CONTENT = {"hosts": "spec.hosts", "gateways": "spec.gateways", "http": "spec.http", "tcp": "spec.tcp"}


@hookimpl
def gwpipe_spec_schema() -> dict[str, dict[str, Any]]:
    return {
        "": {
            "gatewayRefs": {"type": "string", "allowed": ["qualified", "short"]},
            "workloads": {
                "type": "dict",
                "keysrules": istio.LABEL,
                "valuesrules": {
                    "type": "dict",
                    "schema": {
                        "namespace": istio.LABEL,
                        "labels": {**istio.LABELS, "required": True, "minlength": 1},
                        "ports": {
                            "type": "list",
                            "schema": {
                                "type": "dict",
                                "schema": {
                                    "name": {**istio.LABEL, "required": True},
                                    "port": {**istio.PORT, "required": True},
                                    "targetPort": istio.PORT,
                                    "nodePort": {"type": "integer", "min": 30000, "max": 32767},
                                    "protocol": {"type": "string", "allowed": ["TCP", "UDP"]},
                                },
                            },
                        },
                    },
                },
            },
            "gateways": {
                "type": "dict",
                "minlength": 1,
                "keysrules": istio.LABEL,
                "valuesrules": {
                    "type": "dict",
                    "schema": {
                        "workload": istio.LABEL,
                        "namespace": istio.LABEL,
                        "selector": {**istio.LABELS, "minlength": 1},
                        "httpPort": istio.PORT,
                    },
                },
            },
            "hosts": {
                "type": "dict",
                "keysrules": istio.HOST,
                "valuesrules": {
                    "type": "dict",
                    "schema": {
                        "gateway": {**istio.LABEL, "required": True},
                        "virtualService": istio.LABEL,
                        "http": {"type": "boolean"},
                        "routes": {"type": "list", "minlength": 1, "required": True, "schema": _ROUTE},
                    },
                },
            },
        }
    }


@hookimpl
def gwpipe_validate_spec(spec: Spec) -> list[Problem]:
    problems = []
    gateways = spec.get("gateways") or {}
    workloads = istio.workloads(spec)
    for name, gateway in sorted(gateways.items()):
        workload = gateway.get("workload", istio.DEFAULT_WORKLOAD)
        if workload not in workloads:
            problems.append(
                spec.problem(("gateways", name, "workload"), f"unknown workload {workload!r}{known(workloads)}")
            )
    seen_vs: dict[str, str] = {}
    for host, entry in sorted((spec.get("hosts") or {}).items()):
        if entry["gateway"] not in gateways:
            problems.append(
                spec.problem(("hosts", host, "gateway"), f"unknown gateway {entry['gateway']!r}{known(gateways)}")
            )
        vs = virtual_service_name(host, entry)
        if vs in seen_vs:
            problems.append(
                spec.problem(
                    ("hosts", host, "virtualService"), f"VirtualService {vs!r} is already used by host {seen_vs[vs]!r}"
                )
            )
        seen_vs.setdefault(vs, host)
        problems.extend(_host_name_problems(spec, host))
        for i, route in enumerate(entry["routes"]):
            problems.extend(destination_problems(spec, ("hosts", host, "routes", i), route, "a route"))
            problems.extend(_regex_problems(spec, ("hosts", host, "routes", i), route))
    return problems


def _host_name_problems(spec: Spec, host: str) -> list[Problem]:
    """What the admission rules would refuse in the rendered Gateway and VirtualService, said at the spec line."""
    from gwpipe.checks.analysis.hosts import domain_problem

    problem = domain_problem(host)
    if problem is None:
        return []
    too_long = [label for label in host.split(".") if len(label) > 63]
    if too_long:
        problem = f"label {too_long[0]!r} is {len(too_long[0])} characters; a DNS label has at most 63"
    return [spec.problem(("hosts", host), f"invalid host name: {problem}")]


def _regex_problems(spec: Spec, path: tuple[str | int, ...], route: dict[str, Any]) -> list[Problem]:
    """Regex matches Envoy's RE2 would refuse (the admission rules' own test), said at the spec line."""
    from gwpipe.checks.analysis.rules.common import regex_problem

    problems = []
    for j, match in enumerate(route.get("match") or []):
        fields: list[tuple[tuple[str | int, ...], Any]] = [((field,), match.get(field)) for field in ("uri", "method")]
        fields += [(("headers", name), value) for name, value in sorted((match.get("headers") or {}).items())]
        for at, string_match in fields:
            if isinstance(string_match, dict) and "regex" in string_match:
                problem = regex_problem(string_match["regex"])
                if problem:
                    problems.append(spec.problem((*path, "match", j, *at, "regex"), problem))
    return problems


def destination_problems(spec: Spec, path: tuple[str | int, ...], route: dict[str, Any], what: str) -> list[Problem]:
    """A route (or tcp entry) at `path` needs `destination` or `destinations`, whose weights add up to 100."""
    problems = []
    if "destination" not in route and "destinations" not in route:
        problems.append(spec.problem(path, f"{what} needs destination or destinations"))
    weights = [d["weight"] for d in route.get("destinations", [])]
    if len(weights) > 1 and sum(weights) != 100:
        problems.append(spec.problem((*path, "destinations"), f"weights must add up to 100, got {sum(weights)}"))
    return problems


def known(names: dict[str, Any]) -> str:
    return f"; declared: {', '.join(sorted(names))}" if names else "; none declared"


def virtual_service_name(host: str, entry: dict[str, Any]) -> str:
    return str(entry.get("virtualService") or host.replace("*", "wildcard").replace(".", "-"))


def gateway_ref(spec: Spec, gateway: str, from_namespace: str) -> str:
    """`namespace/name` unless the spec asks for short references within one namespace."""
    ns = istio.gateway_namespace(spec, gateway)
    if spec.get("gatewayRefs") == "short" and ns == from_namespace:
        return gateway
    return f"{ns}/{gateway}"


@hookimpl
def gwpipe_protected_kinds() -> list[str]:
    return ["Gateway"]


@hookimpl
def gwpipe_resources(spec: Spec) -> list[ResourceRequest]:
    requests = []
    api = istio.networking_api(spec)
    hosts = spec.get("hosts") or {}
    for name, gateway in sorted((spec.get("gateways") or {}).items()):
        workload = gateway.get("workload", istio.DEFAULT_WORKLOAD)
        selector = gateway.get("selector") or istio.workloads(spec)[workload]["labels"]
        http_hosts = [h for h in istio.hosts_on(spec, name) if hosts[h].get("http", True)]
        servers = []
        if http_hosts:
            port = {"number": gateway.get("httpPort", 80), "name": "http", "protocol": "HTTP"}
            servers.append({"port": port, "hosts": http_hosts})
        requests.append(
            ResourceRequest(
                plugin=NAME,
                template="http/gateway.yaml.j2",
                api_version=api,
                kind="Gateway",
                name=name,
                namespace=istio.gateway_namespace(spec, name),
                values={"selector": dict(sorted(selector.items())), "servers": servers},
                # deleting a Gateway takes its hosts down; shards apply Gateways before the routes bound to them
                placement=GATEWAY_PLACEMENT,
                content=dict(GATEWAY_CONTENT),
            )
        )
    for host, entry in sorted(hosts.items()):
        routes = [_route(route) for route in entry["routes"]]
        requests.append(
            virtual_service(spec, NAME, virtual_service_name(host, entry), [host], entry["gateway"], http=routes)
        )
    return requests


def virtual_service(
    spec: Spec,
    plugin: str,
    name: str,
    hosts: list[str],
    gateway: str,
    http: list[dict[str, Any]] | None = None,
    tcp: list[dict[str, Any]] | None = None,
) -> ResourceRequest:
    """A VirtualService request bound to `gateway` (never to the mesh), rendered by the http template."""
    namespace = istio.namespace(spec)
    return ResourceRequest(
        plugin=plugin,
        template="http/virtualservice.yaml.j2",
        api_version=istio.networking_api(spec),
        kind="VirtualService",
        name=name,
        namespace=namespace,
        values={
            "hosts": hosts,
            "gateways": [gateway_ref(spec, gateway, namespace)],
            "http": http or [],
            "tcp": tcp or [],
        },
        placement=Placement(tier=ROUTES_TIER, group=gateway),
        content=dict(VIRTUAL_SERVICE_CONTENT),
    )


def destination(d: dict[str, Any]) -> dict[str, Any]:
    """A spec destination (host, port, subset) in Istio's Destination shape."""
    out: dict[str, Any] = {"host": d["host"], "port": {"number": d["port"]}}
    if "subset" in d:
        out["subset"] = d["subset"]
    return out


def weighted(route: dict[str, Any]) -> list[dict[str, Any]]:
    """A spec route's `destination` or weighted `destinations` as Istio's route list."""
    if "destination" in route:
        return [{"destination": destination(route["destination"])}]
    return [{"destination": destination(d), "weight": d["weight"]} for d in route["destinations"]]


def _route(route: dict[str, Any]) -> dict[str, Any]:
    """A spec route in Istio's HTTPRoute shape."""
    out: dict[str, Any] = {}
    if "name" in route:
        out["name"] = route["name"]
    if "match" in route:
        out["match"] = [dict(m.items()) for m in route["match"]]
    out["route"] = weighted(route)
    for key in ("timeout", "retries", "rewrite"):
        if key in route:
            out[key] = route[key]
    return out


@hookimpl
def gwpipe_import(context: ImportContext) -> list[ImportClaim]:
    if context.leftovers:
        return []
    from gwpipe.plugins.importers import http as importer  # only `gwpipe import` needs it

    return importer.claims(context)
