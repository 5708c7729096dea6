"""Objects as the spec can describe them: server-written fields and API defaults stripped, namespaces filled in."""

from __future__ import annotations

import copy
from typing import Any

# metadata the API server writes: never part of what anybody declared
SERVER_METADATA = ("managedFields", "resourceVersion", "uid", "creationTimestamp", "generation", "selfLink")
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
# metadata every gwpipe render writes (provenance); an import neither needs nor reproduces it by choice
PROVENANCE_ANNOTATIONS = ("gwpipe.dev/environment", "gwpipe.dev/plugins", "gwpipe.dev/source")
PROVENANCE_LABELS = {"app.kubernetes.io/managed-by": "gwpipe"}
ANY = object()
ISTIOCTL_NAMESPACE = "istio-system"
# fields the API server fills in when a manifest leaves them out (`*` is every list item); ANY: whatever value
DEFAULTS: dict[str, list[tuple[str, Any]]] = {
    "Service": [
        ("spec.type", "ClusterIP"),
        ("spec.sessionAffinity", "None"),
        ("spec.clusterIP", ANY),
        ("spec.clusterIPs", ANY),
        ("spec.ipFamilies", ANY),
        ("spec.ipFamilyPolicy", "SingleStack"),
        ("spec.internalTrafficPolicy", "Cluster"),
        ("spec.externalTrafficPolicy", "Cluster"),
        ("spec.allocateLoadBalancerNodePorts", True),
        ("spec.ports.*.protocol", "TCP"),
    ],
    "Deployment": [
        ("spec.replicas", 1),
        ("spec.progressDeadlineSeconds", 600),
        ("spec.revisionHistoryLimit", 10),
        ("spec.strategy", {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}),
        ("spec.template.metadata.creationTimestamp", None),
        ("spec.template.spec.dnsPolicy", "ClusterFirst"),
        ("spec.template.spec.restartPolicy", "Always"),
        ("spec.template.spec.schedulerName", "default-scheduler"),
        ("spec.template.spec.securityContext", {}),
        ("spec.template.spec.terminationGracePeriodSeconds", 30),
        ("spec.template.spec.containers.*.terminationMessagePath", "/dev/termination-log"),
        ("spec.template.spec.containers.*.terminationMessagePolicy", "File"),
        ("spec.template.spec.containers.*.imagePullPolicy", ANY),
        ("spec.template.spec.containers.*.resources", {}),
        ("spec.template.spec.containers.*.ports.*.protocol", "TCP"),
    ],
    "IstioOperator": [("spec.components.ingressGateways.*.k8s.service.ports.*.protocol", "TCP")],
    "Namespace": [("spec.finalizers", ["kubernetes"]), ("metadata.labels.kubernetes.io/metadata.name", ANY)],
}
CLUSTER_SCOPED = frozenset(
    {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "ClusterIssuer", "StorageClass"}
)
# served versions of one schema: a v1alpha3 Gateway and a v1 Gateway are the same object
SAME_SCHEMA_GROUPS = frozenset({"networking.istio.io", "telemetry.istio.io", "security.istio.io"})


def strip_server_fields(obj: dict[str, Any], namespace: str) -> dict[str, Any]:
    """A copy of `obj` without what the API server wrote or defaulted; a namespaced object gets `namespace`."""
    out = copy.deepcopy(obj)
    out.pop("status", None)
    meta = out.setdefault("metadata", {})
    for key in SERVER_METADATA:
        meta.pop(key, None)
    annotations = meta.get("annotations") or {}
    annotations.pop(LAST_APPLIED, None)
    for path, default in DEFAULTS.get(str(out.get("kind")), []):
        _drop(out, path.split("."), default)
    _drop_empty(meta, "annotations")
    _drop_empty(meta, "labels")
    if out.get("kind") not in CLUSTER_SCOPED and not meta.get("namespace"):
        # istioctl installs an IstioOperator without a namespace into istio-system
        meta["namespace"] = ISTIOCTL_NAMESPACE if out.get("kind") == "IstioOperator" else namespace
    return out


def comparable(obj: dict[str, Any]) -> dict[str, Any]:
    """`obj` as the round trip compares it: gwpipe's provenance metadata out, one version per Istio schema."""
    out = copy.deepcopy(obj)
    for path, default in DEFAULTS.get(str(out.get("kind")), []):
        _drop(out, path.split("."), default)
    meta = out.setdefault("metadata", {})
    annotations = meta.get("annotations") or {}
    for key in PROVENANCE_ANNOTATIONS:
        annotations.pop(key, None)
    labels = meta.get("labels") or {}
    for key, value in PROVENANCE_LABELS.items():
        if labels.get(key) == value:
            del labels[key]
    _drop_empty(meta, "annotations")
    _drop_empty(meta, "labels")
    group, _, _version = str(out.get("apiVersion", "")).rpartition("/")
    if group in SAME_SCHEMA_GROUPS:
        out["apiVersion"] = f"{group}/*"
    servers = (out.get("spec") or {}).get("servers")
    if out.get("kind") == "Gateway" and isinstance(servers, list):
        # Envoy picks a Gateway's server by port and SNI: their order carries no meaning
        servers.sort(key=lambda s: (str((s.get("port") or {}).get("number")), str((s.get("port") or {}).get("name"))))
    return out


def _drop(node: Any, parts: list[str], default: Any) -> None:
    if not parts or not isinstance(node, dict | list):
        return
    head, rest = parts[0], parts[1:]
    if head == "*" and isinstance(node, list):
        for item in node:
            _drop(item, rest, default)
        return
    if not isinstance(node, dict):
        return
    # a label key holds dots: match the longest key the remaining parts spell
    for end in range(len(parts), 0, -1):
        key = ".".join(parts[:end])
        if key in node:
            if end == len(parts):
                if default is ANY or node[key] == default:
                    del node[key]
            else:
                _drop(node[key], parts[end:], default)
            return


def _drop_empty(meta: dict[str, Any], key: str) -> None:
    if key in meta and not meta[key]:
        del meta[key]
