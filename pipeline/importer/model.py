"""What the import hook receives and returns: the objects read, and each plugin's claims as spec fragments."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def ref_of(obj: dict[str, Any]) -> str:
    """`Kind namespace/name` (cluster-scoped objects: `Kind name`), as findings and reports name objects."""
    meta = obj.get("metadata") or {}
    namespace = meta.get("namespace")
    name = meta.get("name", "?")
    return f"{obj.get('kind', '?')} {namespace}/{name}" if namespace else f"{obj.get('kind', '?')} {name}"


@dataclass
class ImportContext:
    """The objects being imported (normalised: server fields stripped, namespaces filled in) and facts about them."""

    environment: str
    objects: list[dict[str, Any]]
    # where objects without metadata.namespace were put (`--namespace`, else "default", as kubectl apply does)
    namespace: str = "default"
    # the second call: only the objects no plugin claimed, for plugins that carry objects through unchanged
    leftovers: bool = False

    def of_kind(self, *kinds: str) -> list[dict[str, Any]]:
        """The objects of `kinds`, in the order they were read."""
        return [o for o in self.objects if o.get("kind") in kinds]

    def api_group(self, obj: dict[str, Any]) -> str:
        return str(obj.get("apiVersion", "")).rpartition("/")[0]

    def find(self, kind: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        for obj in self.objects:
            meta = obj.get("metadata") or {}
            if obj.get("kind") == kind and meta.get("name") == name and meta.get("namespace") == namespace:
                return obj
        return None


@dataclass
class ImportClaim:
    """One object a plugin can express: its `ref`, and the spec fragment that makes the plugin render it.

    Fragments of every claim are merged key by key; the round trip then decides, field by field, whether
    the merged spec really renders the object. `fields` names the dotted fields this plugin expresses when
    it expresses only part of an object another plugin claims (e.g. one server of a Gateway); empty means
    the whole object. A claim that only contributes a fragment, e.g. settings another plugin's object
    needs, may leave `ref` empty.
    """

    ref: str
    spec: dict[str, Any]
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class Lossy:
    """A field (or a whole object, field "(object)") the spec does not reproduce, and why."""

    ref: str
    field: str
    why: str

    def __str__(self) -> str:
        return f"{self.ref}: {self.field}: {self.why}"


@dataclass(frozen=True)
class Conflict:
    """Two objects a cluster accepts together but no spec can express."""

    first: str
    second: str
    what: str

    def __str__(self) -> str:
        return f"{self.first} and {self.second}: {self.what}"
