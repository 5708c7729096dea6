"""Import for the pilot_filter plugin: the control plane (IstioOperator or istiod HelmRelease) that sets the filter."""

from __future__ import annotations

from typing import Any

from gwpipe.importer.model import ImportClaim, ImportContext
from gwpipe.plugins.importers import _common as common

FLAG = "PILOT_FILTER_GATEWAY_CLUSTER_CONFIG"
CONTROL_PLANE_NAME = "control-plane"
ALWAYS_INCLUDE = "gwpipe.dev/pilot-filter-always-include"


def claims(context: ImportContext) -> list[ImportClaim]:
    out = []
    for plane in context.of_kind("IstioOperator", "HelmRelease"):
        spec = plane.get("spec") or {}
        helm = plane["kind"] == "HelmRelease"
        values = spec.get("values") or {} if helm else spec
        env = _env(values, helm)
        if env.get(FLAG) != "true":
            continue
        settings: dict[str, Any] = {}
        if plane["metadata"]["name"] != CONTROL_PLANE_NAME:
            settings["name"] = plane["metadata"]["name"]
        if helm:
            settings["form"] = "helm"
        elif spec.get("profile", "minimal") != "minimal":
            settings["profile"] = spec.get("profile")
        if values.get("revision"):
            settings["revision"] = values["revision"]
        mesh = values.get("meshConfig") or {}
        proxy = (mesh.get("defaultConfig") or {}).get("proxyMetadata")
        if proxy:
            settings["proxyMetadata"] = proxy
        if "enablePrometheusMerge" in mesh:
            settings["enablePrometheusMerge"] = mesh["enablePrometheusMerge"]
        kept = (plane["metadata"].get("annotations") or {}).get(ALWAYS_INCLUDE)
        if kept:
            # the annotation keeps the hosts only; which gateway needs them, and why, was the spec's to say
            settings["alwaysInclude"] = [{"host": host} for host in str(kept).split(",")]
        fragment: dict[str, Any] = {"pilot_filter": settings}
        if plane["metadata"]["namespace"] != common.control_namespace(context):
            fragment["istio"] = {"namespace": plane["metadata"]["namespace"]}
        version = ((spec.get("chart") or {}).get("spec") or {}).get("version") if helm else None
        if isinstance(version, str) and version.endswith(".x"):
            fragment.setdefault("istio", {})["version"] = version[:-2]
        out.append(ImportClaim(common.ref_of(plane), fragment))
    return out


def _env(values: dict[str, Any], helm: bool) -> dict[str, Any]:
    if helm:
        return dict((values.get("pilot") or {}).get("env") or {})
    listed = ((((values.get("components") or {}).get("pilot") or {}).get("k8s") or {}).get("env")) or []
    return {e.get("name"): e.get("value") for e in listed}
