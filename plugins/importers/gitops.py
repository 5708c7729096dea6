"""Import for the gitops plugin: Argo CD Applications/ApplicationSets and Flux GitRepository/Kustomizations."""

from __future__ import annotations

import re
from typing import Any

from gwpipe.importer.model import ImportClaim, ImportContext
from gwpipe.plugins.importers import _common as common

ARGO_GROUP = "argoproj.io"
FLUX_SOURCE_GROUP = "source.toolkit.fluxcd.io"
FLUX_KUSTOMIZE_GROUP = "kustomize.toolkit.fluxcd.io"
DEFAULT_DESTINATION = {"server": "https://kubernetes.default.svc"}
# a shard's controller object names the environment with the shard folder after it
SHARD = re.compile(r"/\d+-[a-z]+(-\d+)?$")


def claims(context: ImportContext) -> list[ImportClaim]:
    out = []
    for obj in context.objects:
        group = context.api_group(obj)
        if group == ARGO_GROUP and obj.get("kind") in ("Application", "ApplicationSet"):
            out.append(ImportClaim(common.ref_of(obj), {"gitops": _argo(context, obj)}))
        elif group == FLUX_SOURCE_GROUP and obj.get("kind") == "GitRepository":
            out.append(ImportClaim(common.ref_of(obj), {"gitops": _flux_source(obj)}))
        elif group == FLUX_KUSTOMIZE_GROUP and obj.get("kind") == "Kustomization":
            out.append(ImportClaim(common.ref_of(obj), {"gitops": _flux_kustomization(context, obj)}))
    return out


def _shared(context: ImportContext, repo: str, revision: str, path: str) -> dict[str, Any]:
    out: dict[str, Any] = {"repoURL": repo}
    if revision != "main":
        out["revision"] = revision
    folder = SHARD.sub("", path.removeprefix("./").strip("/"))
    if folder != context.environment:
        out["path"] = folder.replace(context.environment, "{env}") if context.environment in folder else folder
    return out


def _argo(context: ImportContext, obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj.get("spec") or {}
    argo: dict[str, Any] = {}
    if obj["kind"] == "ApplicationSet":
        git = ((spec.get("generators") or [{}])[0]).get("git") or {}
        template = (spec.get("template") or {}).get("spec") or {}
        directories = [d for d in git.get("directories") or [] if not d.get("exclude")]
        path = str(directories[0]["path"]).removesuffix("/*") if directories else context.environment
        out = _shared(context, git.get("repoURL", ""), git.get("revision", "main"), path)
        argo["applicationSet"] = True
    else:
        template = spec
        source = spec.get("source") or {}
        out = _shared(context, source.get("repoURL", ""), source.get("targetRevision", "main"), source.get("path", ""))
    if template.get("project", "default") != "default":
        argo["project"] = template["project"]
    if obj["metadata"].get("namespace") != "argocd":
        argo["namespace"] = obj["metadata"]["namespace"]
    if (template.get("destination") or DEFAULT_DESTINATION) != DEFAULT_DESTINATION:
        argo["destination"] = template["destination"]
    if argo:
        out["argocd"] = argo
    return out


def _flux_source(obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj.get("spec") or {}
    out: dict[str, Any] = {"repoURL": spec.get("url", "")}
    branch = (spec.get("ref") or {}).get("branch", "main")
    if branch != "main":
        out["revision"] = branch
    flux = _flux_common(obj)
    if obj["metadata"]["name"] != "gitops":
        flux["sourceRef"] = obj["metadata"]["name"]
    if spec.get("interval", "5m") != "5m":
        flux["interval"] = spec["interval"]
    out["flux"] = flux
    return out


def _flux_kustomization(context: ImportContext, obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj.get("spec") or {}
    out = _shared(context, "", "main", str(spec.get("path", "")))
    del out["repoURL"]  # the GitRepository says where; a Kustomization alone names only its source
    flux = _flux_common(obj)
    source = (spec.get("sourceRef") or {}).get("name", "gitops")
    if source != "gitops":
        flux["sourceRef"] = source
    if context.find("GitRepository", obj["metadata"]["namespace"], source) is None:
        flux["createSource"] = False
    for key in ("interval", "timeout"):
        if spec.get(key, "5m") != "5m":
            flux[key] = spec[key]
    out["flux"] = flux
    return out


def _flux_common(obj: dict[str, Any]) -> dict[str, Any]:
    namespace = obj["metadata"].get("namespace", "flux-system")
    return {} if namespace == "flux-system" else {"namespace": namespace}
