"""Objects no feature plugin models, carried through unchanged (`passthrough.objects`), still round-trip checked."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gwpipe.hooks.specs import hookimpl
from gwpipe.model import ResourceRequest
from gwpipe.plugins import _istio as istio

if TYPE_CHECKING:
    from gwpipe.errors import Problem
    from gwpipe.importer.model import ImportClaim, ImportContext
    from gwpipe.spec.load import Spec

NAME = "passthrough"
_OBJECT = {
    "type": "dict",
    "schema": {
        "apiVersion": {"type": "string", "required": True, "empty": False},
        "kind": {"type": "string", "required": True, "regex": r"[A-Z][A-Za-z0-9]*"},
        "metadata": {
            "type": "dict",
            "required": True,
            "schema": {
                "name": {"type": "string", "required": True, "regex": istio.SECRET_NAME_RE},
                "namespace": istio.LABEL,
                "labels": istio.LABELS,
                "annotations": {"type": "dict", "keysrules": {"type": "string"}, "valuesrules": {"type": "string"}},
            },
        },
    },
    "allow_unknown": True,
}


@hookimpl
def gwpipe_spec_schema() -> dict[str, dict[str, Any]]:
    return {"": {"passthrough": {"type": "dict", "schema": {"objects": {"type": "list", "schema": _OBJECT}}}}}


def objects(spec: Spec) -> list[dict[str, Any]]:
    return list((spec.get("passthrough") or {}).get("objects") or [])


@hookimpl
def gwpipe_validate_spec(spec: Spec) -> list[Problem]:
    problems = []
    for i, obj in enumerate(objects(spec)):
        if "status" in obj:
            problems.append(
                spec.problem(("passthrough", "objects", i, "status"), "the API server writes status; drop it")
            )
    return problems


@hookimpl
def gwpipe_resources(spec: Spec) -> list[ResourceRequest]:
    requests = []
    for obj in objects(spec):
        meta = obj["metadata"]
        body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
        values: dict[str, Any] = {"kind": obj["kind"], "body": body}
        for key in ("labels", "annotations"):
            if meta.get(key):
                values[key] = dict(meta[key])
        requests.append(
            ResourceRequest(
                plugin=NAME,
                template="passthrough/object.yaml.j2",
                api_version=obj["apiVersion"],
                kind=obj["kind"],
                name=meta["name"],
                namespace=meta.get("namespace"),
                values=values,
            )
        )
    return requests


@hookimpl
def gwpipe_import(objects: list[dict[str, Any]], context: ImportContext) -> list[ImportClaim]:
    """Only on the second call (`--passthrough`): every object no other plugin claimed, as it is."""
    if not context.leftovers:
        return []
    from gwpipe.importer.model import ImportClaim, ref_of

    return [ImportClaim(ref_of(o), {"passthrough": {"objects": [o]}}) for o in objects]
