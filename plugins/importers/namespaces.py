"""Import for the namespaces plugin: Namespace manifests, Argo CD's CreateNamespace option, namespaces made elsewhere."""

from __future__ import annotations

from typing import Any

from gwpipe.importer.model import ImportClaim, ImportContext
from gwpipe.plugins import namespaces
from gwpipe.plugins.importers import _common as common
from gwpipe.plugins.importers import gateway_split

# objects a GitOps controller reads from its own namespace: that namespace is the controller's, not the fleet's
CONTROLLER_GROUPS = ("argoproj.io", "kustomize.toolkit.fluxcd.io", "source.toolkit.fluxcd.io")


def claims(context: ImportContext) -> list[ImportClaim]:
    made = {o["metadata"]["name"]: o for o in context.of_kind("Namespace") if context.api_group(o) == ""}
    # an injected gateway's own namespace comes from workloads.*.install.createNamespace
    by_gateway = {
        w["namespace"] for w in gateway_split.found_workloads(context).values() if w["install"].get("createNamespace")
    }
    out = [ImportClaim(common.ref_of(made[name]), {}) for name in sorted(by_gateway & set(made))]
    create = _mode(context, set(made) - by_gateway)
    if create is None:
        return out
    settings: dict[str, Any] = {"create": create}
    existing = sorted(_used(context) - set(made) - namespaces.ALWAYS_PRESENT - _destinations(context, create))
    if existing:
        settings["existing"] = existing
    out += [ImportClaim(common.ref_of(made[name]), {"namespaces": settings}) for name in sorted(set(made) - by_gateway)]
    if not set(made) - by_gateway:
        out.append(ImportClaim("", {"namespaces": settings}))
    return out


def _mode(context: ImportContext, manifests: set[str]) -> str | None:
    if _destinations(context, "sync-option"):
        return "sync-option"
    return "manifests" if manifests else None


def _destinations(context: ImportContext, create: str) -> set[str]:
    """Namespaces Argo CD creates itself (CreateNamespace=true): the destinations of such Applications."""
    if create != "sync-option":
        return set()
    found = set()
    for app in context.of_kind("Application"):
        spec = app.get("spec") or {}
        if "CreateNamespace=true" in ((spec.get("syncPolicy") or {}).get("syncOptions") or []):
            found.add(str((spec.get("destination") or {}).get("namespace")))
    return found


def _used(context: ImportContext) -> set[str]:
    """Namespaces the fleet's own objects live in."""
    return {
        str(o["metadata"]["namespace"])
        for o in context.objects
        if (o.get("metadata") or {}).get("namespace") and context.api_group(o) not in CONTROLLER_GROUPS
    }
