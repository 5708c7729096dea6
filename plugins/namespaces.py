"""Namespaces the output writes into: Namespace manifests that are never pruned, or Argo CD's CreateNamespace option."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gwpipe.hooks.specs import hookimpl
from gwpipe.model import Finding, Placement, ResourceRequest
from gwpipe.plugins import _istio as istio

if TYPE_CHECKING:
    from gwpipe.errors import Problem
    from gwpipe.importer.model import ImportClaim, ImportContext
    from gwpipe.model import RenderedObject, Resources
    from gwpipe.spec.load import Spec

NAME = "namespaces"
MODES = ("manifests", "sync-option", "none")
# `manifests` is what a new fleet wants (`gwpipe init` writes it): any controller and `kubectl apply -k`
# apply them, and they cover every namespace, where Argo CD's option creates only the Application's
# destination namespace and Flux has none. It is opt-in so that upgrading gwpipe never makes a
# controller adopt namespaces that something else (the Istio install, another team) already owns.
DEFAULT_MODE = "none"
MISSING_CODE = "GWP1001"
# every cluster has them; a manifest would only make a controller fight over their labels
ALWAYS_PRESENT = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
# deleting a Namespace deletes everything in it, also what other teams put there: neither a sync
# nor the deletion of the Application / Kustomization may remove it (Argo CD Delete=false, Flux prune disabled)
NEVER_PRUNE = {
    "argocd.argoproj.io/sync-options": "Prune=false,Delete=false",
    "kustomize.toolkit.fluxcd.io/prune": "disabled",
}


@hookimpl
def gwpipe_spec_schema() -> dict[str, dict[str, Any]]:
    return {
        "": {
            "namespaces": {
                "type": "dict",
                "schema": {
                    "create": {"type": "string", "allowed": list(MODES)},
                    "existing": {"type": "list", "schema": istio.LABEL},
                },
            }
        }
    }


def mode(spec: Spec) -> str:
    return str((spec.get("namespaces") or {}).get("create", DEFAULT_MODE))


def unmanaged(spec: Spec) -> frozenset[str]:
    """Namespaces that get no manifest: always present, listed as `existing`, or created by Argo CD's option."""
    skip = set(ALWAYS_PRESENT) | set((spec.get("namespaces") or {}).get("existing") or [])
    if mode(spec) == "sync-option":
        skip.add(istio.namespace(spec))
    return frozenset(skip)


@hookimpl
def gwpipe_validate_spec(spec: Spec) -> list[Problem]:
    if mode(spec) != "sync-option":
        return []
    gitops = spec.get("gitops")
    where = ("namespaces", "create")
    if gitops is None:
        return [spec.problem(where, "sync-option needs Argo CD Applications (a `gitops` key)", "use create: manifests")]
    if "flux" in gitops and (gitops["flux"] or {}).get("enabled", True):
        return [
            spec.problem(
                where, "Flux Kustomizations have no option that creates namespaces", "use create: manifests with Flux"
            )
        ]
    if not (gitops.get("argocd") or {}).get("enabled", True):
        return [spec.problem(where, "sync-option needs Argo CD, which gitops.argocd.enabled switches off")]
    return []


@hookimpl
def gwpipe_protected_kinds() -> list[str]:
    return ["Namespace"]


def written_namespaces(resources: Resources | list[ResourceRequest]) -> list[str]:
    """Namespaces of the environment's own objects (side folders belong to a controller's namespace)."""
    return sorted({r.namespace for r in resources if r.namespace and not r.placement.folder})


@hookimpl
def gwpipe_modify_resources(spec: Spec, resources: Resources) -> None:
    """A Namespace for every namespace written into; every Namespace (also another plugin's) gets the prune guards."""
    for existing in resources.of_kind("Namespace"):
        annotations = existing.values.get("annotations") or {}
        if {**annotations, **NEVER_PRUNE} != annotations:
            existing.values["annotations"] = {**annotations, **NEVER_PRUNE}
            existing.touch(NAME, "annotations")
    if mode(spec) == "none":
        return
    skip = unmanaged(spec)
    for name in written_namespaces(resources):
        if name not in skip and resources.get("Namespace", name) is None:
            resources.add(
                ResourceRequest(
                    plugin=NAME,
                    template="namespaces/namespace.yaml.j2",
                    api_version="v1",
                    kind="Namespace",
                    name=name,
                    namespace=None,
                    values={"annotations": dict(NEVER_PRUNE)},
                    placement=Placement(protected=True, order=-1),
                )
            )


@hookimpl
def gwpipe_check(spec: Spec, objects: list[RenderedObject]) -> list[Finding]:
    """A namespace written into by a plugin that ran after this one has no Namespace manifest."""
    if mode(spec) == "none":
        return []
    made = {o.request.name for o in objects if o.request.kind == "Namespace"}
    skip = unmanaged(spec)
    return [
        Finding(
            MISSING_CODE,
            "Warning",
            "Namespace",
            "",
            name,
            "objects are written into this namespace but nothing creates it (a plugin added them after the "
            "namespaces plugin ran); list it under namespaces.existing if it is created elsewhere",
        )
        for name in written_namespaces([o.request for o in objects])
        if name not in skip and name not in made
    ]


@hookimpl
def gwpipe_import(context: ImportContext) -> list[ImportClaim]:
    if context.leftovers:
        return []
    from gwpipe.plugins.importers import namespaces as importer  # only `gwpipe import` needs it

    return importer.claims(context)
