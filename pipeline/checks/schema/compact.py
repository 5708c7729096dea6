"""A CRD reduced to the facts validation needs: prose, printer columns and subresources dropped."""

from __future__ import annotations

from typing import Any

# prose: a `description` (or title) whose value is text; a property named `description` is a dict and stays
_PROSE = ("description", "title")
# per version, what validation needs; printer columns and subresources are not facts about objects
_VERSION_KEYS = ("name", "served", "storage", "deprecated", "deprecationWarning")


def strip(node: Any) -> Any:
    """`node` without prose."""
    if isinstance(node, dict):
        return {k: strip(v) for k, v in node.items() if not (k in _PROSE and isinstance(v, str))}
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node


def compact_crd(doc: dict[str, Any]) -> dict[str, Any]:
    """A CRD reduced to its name, group, kind, scope and, per version, the flags and the stripped schema."""
    spec = doc["spec"]
    versions = []
    for version in spec.get("versions") or []:
        entry = {k: version[k] for k in _VERSION_KEYS if k in version}
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        if schema is not None:
            entry["schema"] = {"openAPIV3Schema": strip(schema)}
        versions.append(entry)
    names = spec["names"]
    return {
        "apiVersion": doc.get("apiVersion", "apiextensions.k8s.io/v1"),
        "kind": "CustomResourceDefinition",
        "metadata": {"name": doc["metadata"]["name"]},
        "spec": {
            "group": spec["group"],
            "names": {"kind": names["kind"], "plural": names["plural"]},
            "scope": spec.get("scope", "Namespaced"),
            "versions": versions,
        },
    }
