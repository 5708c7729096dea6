"""Extra gateway workloads: installed by istioctl (IstioOperator), by gateway injection, or by the istio/gateway chart."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gwpipe.hooks.specs import hookimpl
from gwpipe.model import Finding, Placement, RenderedObject, ResourceRequest
from gwpipe.plugins import _istio as istio

if TYPE_CHECKING:
    from gwpipe.errors import Problem
    from gwpipe.importer.model import ImportClaim, ImportContext
    from gwpipe.spec.load import Spec

NAME = "gateway_split"
OPERATOR_CODE = "GWP0801"
SECRET_ACCESS_CODE = "GWP0802"
RBAC_API = "rbac.authorization.k8s.io/v1"
FORMS = ("istiooperator", "injection", "helm")
# the injector never injects pods in these namespaces (pkg/kube/inject injectRequired)
NO_INJECTION_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease", "local-path-storage"})
# options that only make sense for some forms
_FORM_OPTIONS = {
    "name": ("istiooperator",),
    "disableDefault": ("istiooperator",),
    "autoscale": ("istiooperator", "helm"),
    "createNamespace": ("injection",),
    "repository": ("helm",),
}


@hookimpl
def gwpipe_spec_schema() -> dict[str, dict[str, Any]]:
    return {
        "workloads.*": {
            "install": {
                "type": "dict",
                "schema": {
                    "form": {"type": "string", "allowed": list(FORMS)},
                    "name": istio.LABEL,
                    "disableDefault": {"type": "boolean"},
                    "autoscale": {"type": "boolean"},
                    "revision": istio.LABEL,
                    "serviceType": {"type": "string", "allowed": ["LoadBalancer", "NodePort", "ClusterIP"]},
                    "createNamespace": {"type": "boolean"},
                    "repository": istio.HELM_REPOSITORY_SCHEMA,
                },
            },
            # an existing workload whose ServiceAccount may already read Secrets (a Role made elsewhere)
            "readsSecrets": {"type": "boolean"},
        }
    }


def installed(spec: Spec) -> dict[str, dict[str, Any]]:
    """Workloads that carry `install`, by name, sorted."""
    return {name: w for name, w in sorted((spec.get("workloads") or {}).items()) if "install" in w}


def form(workload: dict[str, Any]) -> str:
    return str(workload["install"].get("form", "istiooperator"))


def operator_name(name: str, workload: dict[str, Any]) -> str:
    return str(workload["install"].get("name", f"{name}-install"))


@hookimpl
def gwpipe_validate_spec(spec: Spec) -> list[Problem]:
    problems: list[Problem] = []
    iop_names: dict[tuple[str, str], str] = {}
    for name, workload in installed(spec).items():
        where = ("workloads", name)
        install = workload["install"]
        chosen = form(workload)
        for option, forms in _FORM_OPTIONS.items():
            if option in install and chosen not in forms:
                problems.append(
                    spec.problem(
                        (*where, "install", option), f"only applies to form {' or '.join(forms)}, got form {chosen!r}"
                    )
                )
        if install.get("disableDefault") and name == istio.DEFAULT_WORKLOAD:
            problems.append(
                spec.problem((*where, "install", "disableDefault"), f"would disable workload {name!r} itself")
            )
        namespace = istio.workload_namespace(spec, name)
        if chosen == "injection" and namespace in NO_INJECTION_NAMESPACES:
            problems.append(
                spec.problem(where, f"namespace {namespace!r} is never injected; an injected gateway cannot run there")
            )
        if chosen == "istiooperator":
            key = (namespace, operator_name(name, workload))
            if key in iop_names:
                problems.append(
                    spec.problem(
                        (*where, "install", "name"),
                        f"IstioOperator {key[1]!r} is already installed by workload {iop_names[key]!r}",
                    )
                )
            iop_names.setdefault(key, name)
        problems.extend(_port_problems(spec, name, workload, chosen, namespace))
    return problems


def _port_problems(spec: Spec, name: str, workload: dict[str, Any], chosen: str, namespace: str) -> list[Problem]:
    """A gateway Service needs ports, named by protocol, and istioctl refuses privileged ones."""
    ports = workload.get("ports") or []
    if not ports:
        return [spec.problem(("workloads", name, "ports"), "an installed gateway needs at least one Service port")]
    problems = []
    seen: dict[str, int] = {}
    for i, port in enumerate(ports):
        where = ("workloads", name, "ports", i)
        if port["name"] in seen:
            problems.append(
                spec.problem(
                    (*where, "name"), f"port name {port['name']!r} is already used by ports[{seen[port['name']]}]"
                )
            )
        seen.setdefault(port["name"], i)
        if namespace != istio.istio_namespace(spec) and not istio.port_name_protocol_ok(port["name"]):
            problems.append(
                spec.problem(
                    (*where, "name"),
                    f"port name {port['name']!r} does not start with a protocol; allowed: {', '.join(istio.PORT_NAME_PROTOCOLS)}",
                    "Istio reads the protocol from the name prefix before the first '-' (e.g. tcp-echo)",
                )
            )
        target = port.get("targetPort")
        privileged = target < 1024 if target is not None else port["port"] <= 1024
        if chosen == "istiooperator" and privileged:
            problems.append(
                spec.problem(
                    (*where, "targetPort" if target is not None else "port"),
                    (
                        f"istioctl refuses a gateway target port below 1024 (the gateway does not run as root), got {target}"
                        if target is not None
                        else f"istioctl refuses a gateway port of 1024 or less without targetPort (the gateway does not run as root), got {port['port']}"
                    ),
                    "set targetPort to 1024 or above, e.g. 8080 for port 80",
                )
            )
    return problems


@hookimpl
def gwpipe_protected_kinds() -> list[str]:
    return ["Namespace"]


@hookimpl
def gwpipe_resources(spec: Spec) -> list[ResourceRequest]:
    requests: list[ResourceRequest] = []
    for name, workload in installed(spec).items():
        chosen = form(workload)
        if chosen == "istiooperator":
            requests.append(_operator(spec, name, workload))
        elif chosen == "injection":
            requests.extend(_injection(spec, name, workload))
        else:
            requests.append(_helm(spec, name, workload))
    return requests


def _ports(workload: dict[str, Any]) -> list[dict[str, Any]]:
    """Service ports with protocol spelt out: analyzers ignore ports without it (Istio skips them)."""
    out = []
    for port in workload["ports"]:
        item = {"name": port["name"], "port": port["port"], "protocol": port.get("protocol", "TCP")}
        item["targetPort"] = port.get("targetPort", port["port"])
        if "nodePort" in port:
            item["nodePort"] = port["nodePort"]
        out.append(item)
    return out


def _operator(spec: Spec, name: str, workload: dict[str, Any]) -> ResourceRequest:
    install = workload["install"]
    gateways = []
    if install.get("disableDefault"):
        gateways.append({"name": istio.DEFAULT_WORKLOAD, "enabled": False})
    component: dict[str, Any] = {
        "name": name,
        "namespace": istio.workload_namespace(spec, name),
        "enabled": True,
        "label": dict(sorted(workload["labels"].items())),
        "ports": _ports(workload),
    }
    if "serviceType" in install:
        component["serviceType"] = install["serviceType"]
    gateways.append(component)
    return ResourceRequest(
        plugin=NAME,
        template="gateway_split/istiooperator.yaml.j2",
        api_version=istio.IOP_API,
        kind="IstioOperator",
        name=operator_name(name, workload),
        namespace=istio.workload_namespace(spec, name),
        values={
            "gateways": gateways,
            "autoscale": install.get("autoscale"),
            "revision": install.get("revision"),
        },
    )


def _injection(spec: Spec, name: str, workload: dict[str, Any]) -> list[ResourceRequest]:
    install = workload["install"]
    namespace = istio.workload_namespace(spec, name)
    selector = dict(sorted(workload["labels"].items()))
    revision = install.get("revision")
    # the label (not only the walkthrough's annotation) is what the injection webhooks' objectSelector matches
    pod_labels = {**selector, "sidecar.istio.io/inject": "true"}
    if revision:
        pod_labels["istio.io/rev"] = revision
    requests = [
        ResourceRequest(
            plugin=NAME,
            template="gateway_split/deployment.yaml.j2",
            api_version="apps/v1",
            kind="Deployment",
            name=name,
            namespace=namespace,
            values={
                "selector": selector,
                "serviceAccount": name,
                "podLabels": dict(sorted(pod_labels.items())),
                "podAnnotations": {"inject.istio.io/templates": "gateway", "sidecar.istio.io/inject": "true"},
            },
        ),
        ResourceRequest(
            plugin=NAME,
            template="gateway_split/service.yaml.j2",
            api_version="v1",
            kind="Service",
            name=name,
            namespace=namespace,
            values={
                "selector": selector,
                "ports": _ports(workload),
                "type": install.get("serviceType", "LoadBalancer"),
            },
        ),
        *_secret_reader(name, namespace),
    ]
    if install.get("createNamespace"):
        label = {"istio.io/rev": revision} if revision else {"istio-injection": "enabled"}
        requests.append(
            ResourceRequest(
                plugin=NAME,
                template="gateway_split/namespace.yaml.j2",
                api_version="v1",
                kind="Namespace",
                name=namespace,
                namespace=None,
                values={"labels": label},
                # created before anything that lives in it; deleting it deletes everything in it
                placement=Placement(protected=True, order=-1),
            )
        )
    return requests


def _secret_reader(name: str, namespace: str) -> list[ResourceRequest]:
    """The gateway's own ServiceAccount, allowed to read the Secrets of its namespace, as the istio/gateway chart does.

    istiod serves a gateway only the credentialName Secrets its ServiceAccount may get, watch and list.
    """

    def request(template: str, api: str, kind: str, values: dict[str, Any]) -> ResourceRequest:
        return ResourceRequest(NAME, f"gateway_split/{template}", api, kind, name, namespace, values)

    return [
        request("serviceaccount.yaml.j2", "v1", "ServiceAccount", {}),
        request("role.yaml.j2", RBAC_API, "Role", {"resources": ["secrets"], "verbs": ["get", "watch", "list"]}),
        request("rolebinding.yaml.j2", RBAC_API, "RoleBinding", {"role": name, "serviceAccount": name}),
    ]


def _helm(spec: Spec, name: str, workload: dict[str, Any]) -> ResourceRequest:
    install = workload["install"]
    chart: dict[str, Any] = {
        "name": name,
        "labels": dict(sorted(workload["labels"].items())),
        "service": {"type": install.get("serviceType", "LoadBalancer"), "ports": _ports(workload)},
    }
    if "autoscale" in install:
        chart["autoscaling"] = {"enabled": install["autoscale"]}
    if "revision" in install:
        chart["revision"] = install["revision"]
    return ResourceRequest(
        plugin=NAME,
        template="gateway_split/helmrelease.yaml.j2",
        api_version=istio.HELMRELEASE_API,
        kind="HelmRelease",
        name=name,
        namespace=istio.workload_namespace(spec, name),
        values={
            "chart": "gateway",
            "chartVersion": istio.chart_version(spec),
            "repository": {**istio.HELM_REPOSITORY, **install.get("repository", {})},
            "chartValues": chart,
        },
    )


@hookimpl
def gwpipe_check(spec: Spec, objects: list[RenderedObject]) -> list[Finding]:
    return _operator_findings(spec, objects) + _secret_access_findings(spec, objects)


def _operator_findings(spec: Spec, objects: list[RenderedObject]) -> list[Finding]:
    """Every IstioOperator in the output (ours or the control plane's) is istioctl input, not a live object, from 1.24."""
    if istio.version(spec) < (1, 24):
        return []
    return [
        Finding(
            OPERATOR_CODE,
            "Warning",
            o.request.kind,
            o.request.namespace or "",
            o.request.name,
            "the in-cluster Istio operator was removed in Istio 1.24: apply this file with `istioctl install -f`, "
            "keep it out of the synced path (no controller acts on it, and its CRD may be absent), or use form helm",
            o.path,
            None,
        )
        for o in objects
        if o.request.kind == "IstioOperator"
    ]


def _secret_access_findings(spec: Spec, objects: list[RenderedObject]) -> list[Finding]:
    """A gateway terminating TLS on a workload whose ServiceAccount nothing lets read Secrets serves no certificate."""
    findings = []
    for gateway in sorted({entry["gateway"] for entry in (spec.get("hosts") or {}).values() if "tls" in entry}):
        workload = istio.gateway_workload(spec, gateway)
        if _reads_secrets(spec, workload, objects):
            continue
        namespace = istio.workload_namespace(spec, workload)
        findings.append(
            Finding(
                SECRET_ACCESS_CODE,
                "Warning",
                "Gateway",
                istio.gateway_namespace(spec, gateway),
                gateway,
                f"terminates TLS on workload {workload!r}, but nothing lets its ServiceAccount get, watch and list "
                f"Secrets in namespace {namespace!r} (the Role the istio/gateway chart creates): istiod will not "
                f"send it the certificates; install it with gwpipe (workloads.{workload}.install) or, when such a "
                f"Role exists, say so with workloads.{workload}.readsSecrets: true",
            )
        )
    return findings


def _reads_secrets(spec: Spec, workload: str, objects: list[RenderedObject]) -> bool:
    """istioctl and the gateway chart bind such a Role themselves; the injection form relies on ours being there."""
    declared = istio.workloads(spec).get(workload, {})
    if declared.get("readsSecrets") or (workload == istio.DEFAULT_WORKLOAD and "install" not in declared):
        return True
    if "install" in declared and form(declared) != "injection":
        return True
    namespace = istio.workload_namespace(spec, workload)
    bound = {
        o.obj.get("roleRef", {}).get("name")
        for o in objects
        if o.request.kind == "RoleBinding"
        and o.request.namespace == namespace
        and {"kind": "ServiceAccount", "name": workload, "namespace": namespace} in (o.obj.get("subjects") or [])
    }
    return any(
        o.request.kind == "Role" and o.request.namespace == namespace and o.request.name in bound
        for o in objects
        if any("secrets" in r.get("resources", []) and "list" in r.get("verbs", []) for r in o.obj.get("rules") or [])
    )


@hookimpl
def gwpipe_import(context: ImportContext) -> list[ImportClaim]:
    if context.leftovers:
        return []
    from gwpipe.plugins.importers import gateway_split as importer  # only `gwpipe import` needs it

    return importer.claims(context)
