"""Create or update development credential Secrets in the gateway workload namespace."""

from __future__ import annotations

import base64
import functools
from typing import Any

from gwpipe.certs.kube import Cluster, ClusterError, call
from gwpipe.errors import Problem

MANAGED_BY = {"app.kubernetes.io/managed-by": "gwpipe"}
DEV_ANNOTATION = "gwpipe.io/dev-certificate"
CERT_MANAGER_ANNOTATION = "cert-manager.io/certificate-name"


def secrets_for(
    name: str, namespace: str, files: dict[str, bytes], mutual: bool, ca_source: str | None
) -> list[dict[str, Any]]:
    """The Secret bodies for one credential: a kubernetes.io/tls Secret, and `<name>-cacert` when asked for."""
    data = {"tls.crt": files["tls.crt"], "tls.key": files["tls.key"]}
    bodies = []
    if mutual and ca_source != "cacert-secret":
        data["ca.crt"] = files["ca.crt"]
    bodies.append(_body(name, namespace, "kubernetes.io/tls", data))
    if mutual and ca_source == "cacert-secret":
        bodies.append(_body(f"{name}-cacert", namespace, "Opaque", {"ca.crt": files["ca.crt"]}))
    return bodies


def _body(name: str, namespace: str, kind: str, data: dict[str, bytes]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": dict(MANAGED_BY),
            "annotations": {DEV_ANNOTATION: "true"},
        },
        "type": kind,
        "data": {k: base64.b64encode(v).decode("ascii") for k, v in sorted(data.items())},
    }


def plan_secret(cluster: Cluster, body: dict[str, Any]) -> dict[str, Any]:
    """The request that writes `body`: a create, or an update carrying the existing resourceVersion.

    A Secret cert-manager issues is never overwritten (cert-manager would fight the change), nor a
    Secret of another type (the API server refuses to change a Secret's type).
    """
    meta = body["metadata"]
    ref = f"Secret {meta['namespace']}/{meta['name']}"
    core = cluster.core()
    existing = call(
        cluster, f"get {ref}", core.read_namespaced_secret, meta["name"], meta["namespace"], missing_ok=meta["name"]
    )
    if existing is None:
        return body
    owner = (existing.metadata.annotations or {}).get(CERT_MANAGER_ANNOTATION)
    if owner:
        raise ClusterError(Problem(ref, f"is issued by cert-manager Certificate {owner!r}; not overwritten"))
    if existing.type and existing.type != body["type"]:
        raise ClusterError(Problem(ref, f"exists with type {existing.type}, not {body['type']}; delete it first"))
    return {**body, "metadata": {**meta, "resourceVersion": existing.metadata.resource_version}}


def apply_secret(cluster: Cluster, planned: dict[str, Any], dry_run: bool = False) -> str:
    """POST or PUT one planned Secret (a server-side dry run when asked); returns what was done."""
    core = cluster.core()
    meta = planned["metadata"]
    ref = f"Secret {meta['namespace']}/{meta['name']}"
    extra = {"dry_run": "All"} if dry_run else {}
    verb = "update" if "resourceVersion" in meta else "create"
    label = f"{verb} {ref}" + (" (dry run)" if dry_run else "")
    if verb == "create":
        call(cluster, label, functools.partial(core.create_namespaced_secret, **extra), meta["namespace"], planned)
    else:
        call(
            cluster,
            label,
            functools.partial(core.replace_namespaced_secret, **extra),
            meta["name"],
            meta["namespace"],
            planned,
        )
    return f"{verb}d {ref}"
