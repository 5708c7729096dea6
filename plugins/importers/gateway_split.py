"""Import for the gateway_split plugin: gateway installs (IstioOperator, injected Deployment + Service) as workloads."""

from __future__ import annotations

from typing import Any

from gwpipe.importer.model import ImportClaim, ImportContext
from gwpipe.plugins.importers import _common as common

IOP_GROUP = "install.istio.io"
DEFAULT_WORKLOAD = "istio-ingressgateway"
INJECT_ANNOTATION = "inject.istio.io/templates"


# what the plugin writes beside an injected gateway so that its ServiceAccount may read its TLS Secrets
SECRET_READER = (
    ("ServiceAccount", ""),
    ("Role", "rbac.authorization.k8s.io"),
    ("RoleBinding", "rbac.authorization.k8s.io"),
)


def claims(context: ImportContext) -> list[ImportClaim]:
    out = [ImportClaim(ref, {"workloads": {name: workload}}) for name, (ref, workload) in _found(context).items()]
    for name, (_ref, workload) in _found(context).items():
        if workload["install"]["form"] != "injection":
            continue
        for kind, group in SECRET_READER:
            obj = context.find(kind, workload["namespace"], name)
            if obj is not None and context.api_group(obj) == group:
                out.append(ImportClaim(common.ref_of(obj), {}))
    return out


def found_workloads(context: ImportContext) -> dict[str, dict[str, Any]]:
    """Installed gateway workloads by name, as spec `workloads` entries."""
    return {name: workload for name, (_ref, workload) in _found(context).items()}


def _found(context: ImportContext) -> dict[str, tuple[str, dict[str, Any]]]:
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    for iop in context.of_kind("IstioOperator"):
        if context.api_group(iop) == IOP_GROUP:
            out.update(_operator(iop))
    for deployment in context.of_kind("Deployment"):
        template = (deployment.get("spec") or {}).get("template") or {}
        if ((template.get("metadata") or {}).get("annotations") or {}).get(INJECT_ANNOTATION) == "gateway":
            out[deployment["metadata"]["name"]] = (common.ref_of(deployment), _injected(context, deployment))
    return out


def _operator(iop: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    spec = iop.get("spec") or {}
    components = (spec.get("components") or {}).get("ingressGateways") or []
    if spec.get("profile") != "empty" or not components:
        return {}
    enabled = [c for c in components if c.get("enabled") and c.get("name") != DEFAULT_WORKLOAD]
    if len(enabled) != 1:
        return {}
    component, name = enabled[0], enabled[0]["name"]
    install: dict[str, Any] = {"form": "istiooperator"}
    if iop["metadata"]["name"] != f"{name}-install":
        install["name"] = iop["metadata"]["name"]
    if any(c.get("name") == DEFAULT_WORKLOAD and c.get("enabled") is False for c in components):
        install["disableDefault"] = True
    autoscale = (((spec.get("values") or {}).get("gateways") or {}).get(DEFAULT_WORKLOAD) or {}).get("autoscaleEnabled")
    if autoscale is not None:
        install["autoscale"] = autoscale
    if "revision" in spec:
        install["revision"] = spec["revision"]
    service = (component.get("k8s") or {}).get("service") or {}
    if "type" in service:
        install["serviceType"] = service["type"]
    workload = {
        "namespace": component.get("namespace", iop["metadata"]["namespace"]),
        "labels": dict(component.get("label") or {}),
        "ports": [_port(p) for p in service.get("ports") or []],
        "install": install,
    }
    return {name: (common.ref_of(iop), workload)}


def _injected(context: ImportContext, deployment: dict[str, Any]) -> dict[str, Any]:
    meta = deployment["metadata"]
    labels = dict(((deployment.get("spec") or {}).get("selector") or {}).get("matchLabels") or {})
    install: dict[str, Any] = {"form": "injection"}
    pod_labels = (((deployment.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {}
    if "istio.io/rev" in pod_labels:
        install["revision"] = pod_labels["istio.io/rev"]
    workload: dict[str, Any] = {"namespace": meta["namespace"], "labels": labels}
    service = context.find("Service", meta["namespace"], meta["name"])
    if service is not None:
        spec = service.get("spec") or {}
        workload["ports"] = [_port(p) for p in spec.get("ports") or []]
        if spec.get("type", "ClusterIP") != "LoadBalancer":
            install["serviceType"] = spec.get("type", "ClusterIP")
    else:
        # no Service read: its ports are those the workload's Gateways listen on, else an ingress gateway's
        workload["ports"] = _gateway_ports(context, labels) or common.DEFAULT_PORTS
    if context.find("Namespace", None, meta["namespace"]) is not None:
        install["createNamespace"] = True
    workload["install"] = install
    return workload


def _gateway_ports(context: ImportContext, labels: dict[str, str]) -> list[dict[str, Any]]:
    """Without its Service, a workload's ports are those its Gateways' TCP servers listen on."""
    ports = []
    for gateway in common.networking(context, "Gateway"):
        if (gateway.get("spec") or {}).get("selector") != labels:
            continue
        for server in (gateway.get("spec") or {}).get("servers") or []:
            port = server.get("port") or {}
            if port.get("protocol") == "TCP":
                ports.append({"name": port.get("name"), "port": port.get("number"), "targetPort": port.get("number")})
    return ports


def _port(port: dict[str, Any]) -> dict[str, Any]:
    out = {"name": port.get("name"), "port": port.get("port"), "targetPort": port.get("targetPort", port.get("port"))}
    if "nodePort" in port:
        out["nodePort"] = port["nodePort"]
    if port.get("protocol", "TCP") != "TCP":
        out["protocol"] = port["protocol"]
    return out
