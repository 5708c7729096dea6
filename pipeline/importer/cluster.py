"""Read objects through the Kubernetes API (`cluster:CONTEXT`): the documented list calls, per namespace."""

from __future__ import annotations

import json
from typing import Any

from gwpipe.certs.kube import ClusterError, call, connect
from gwpipe.errors import Problem

# (group, version, plural): what the built-in plugins can import; a group the cluster does not serve is skipped
RESOURCES = (
    ("networking.istio.io", "v1", "gateways"),
    ("networking.istio.io", "v1", "virtualservices"),
    ("telemetry.istio.io", "v1", "telemetries"),
    ("install.istio.io", "v1alpha1", "istiooperators"),
    ("cert-manager.io", "v1", "certificates"),
    ("apps", "v1", "deployments"),
    ("", "v1", "services"),
    ("", "v1", "serviceaccounts"),
    ("rbac.authorization.k8s.io", "v1", "roles"),
    ("rbac.authorization.k8s.io", "v1", "rolebindings"),
)
# the core group's typed list calls, by plural
CORE_LISTS = {"services": "list_namespaced_service", "serviceaccounts": "list_namespaced_service_account"}


def read_cluster(
    context: str, namespaces: list[str], kubeconfig: str | None = None, timeout: float = 10.0
) -> list[dict[str, Any]]:
    """Every object of RESOURCES in `namespaces`, as the list API serves it (kind and apiVersion filled in)."""
    cluster = connect(kubeconfig, context, timeout)
    out: list[dict[str, Any]] = []
    for namespace in namespaces:
        for group, version, plural in RESOURCES:
            api = f"{group}/{version}" if group else version
            listing = call(
                cluster,
                f"list {plural} in namespace {namespace}",
                _lister(cluster, group, version, namespace, plural),
                unserved=f"{api} is not served by this cluster",
            )
            kind = str((listing or {}).get("kind", "")).removesuffix("List")
            for item in (listing or {}).get("items") or []:
                # the list API leaves kind and apiVersion off every item
                out.append({"apiVersion": api, "kind": kind, **item})
    return out


def _lister(cluster: Any, group: str, version: str, namespace: str, plural: str) -> Any:
    def get(_request_timeout: float) -> dict[str, Any]:
        from kubernetes.client.exceptions import ApiException

        try:
            if group:
                found = cluster.custom().list_namespaced_custom_object(
                    group, version, namespace, plural, _request_timeout=_request_timeout
                )
                return found if isinstance(found, dict) else {}
            response = getattr(cluster.core(), CORE_LISTS[plural])(
                namespace, _preload_content=False, _request_timeout=_request_timeout
            )
        except ApiException as exc:
            if exc.status == 404:  # the API is not served (e.g. no cert-manager): nothing of it to import
                return {}
            raise
        try:
            parsed = json.loads(response.data)
        except ValueError:
            raise ClusterError(
                Problem(cluster.where, f"list {plural}: the API answered something other than JSON")
            ) from None
        return parsed if isinstance(parsed, dict) else {}

    return get
