"""A set of Kubernetes manifests under analysis: each object with its file, start line and field lines."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import yaml

Path_ = tuple[str | int, ...]
SUPPRESS_ANNOTATION = "galley.istio.io/analyze-suppress"
CLUSTER_SCOPED = frozenset(
    {
        "Namespace",
        "ClusterIssuer",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
        "Node",
        "PersistentVolume",
    }
)


def _node_line(node: yaml.Node | None, path: Path_) -> int | None:
    """The 1-based line of the deepest node along `path` (the object's own line for `()`)."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in path:
        child = None
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            child = next((v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            child = node.value[part]
        if child is None:
            break
        node, line = child, child.start_mark.line + 1
    return line


class Manifest:
    """One object: identity, parsed body, and a lazy way to find the source line of any field."""

    # the checks read these fields for every object, so they are plain slots filled once, not properties
    __slots__ = (
        "_node",
        "annotations",
        "api_version",
        "file",
        "kind",
        "line",
        "metadata",
        "name",
        "namespace",
        "node_source",
        "obj",
        "relative_lines",
        "spec",
    )

    def __init__(
        self,
        kind: str,
        api_version: str,
        namespace: str,
        name: str,
        obj: dict[str, Any],
        file: str | None = None,
        line: int | None = None,
        node_source: Callable[[], yaml.Node | None] | None = None,
        # True when node_source composes the object's own text, whose lines start at 1
        relative_lines: bool = False,
    ) -> None:
        self.kind = kind
        self.api_version = api_version
        self.namespace = namespace
        self.name = name
        self.obj = obj
        self.file = file
        self.line = line
        self.node_source = node_source
        self.relative_lines = relative_lines
        spec = obj.get("spec")
        self.spec: dict[str, Any] = spec if isinstance(spec, dict) else {}
        meta = obj.get("metadata")
        self.metadata: dict[str, Any] = meta if isinstance(meta, dict) else {}
        ann = self.metadata.get("annotations")
        self.annotations: dict[str, Any] = ann if isinstance(ann, dict) else {}
        self._node: Any = False

    def __repr__(self) -> str:
        return f"Manifest({self.kind!r}, {self.api_version!r}, {self.namespace!r}, {self.name!r}, file={self.file!r})"

    @property
    def ref(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"

    @property
    def full_name(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    def line_of(self, path: Path_) -> int | None:
        """Source line of the field at `path` (e.g. ("spec", "servers", 0)), else the object's line."""
        if not path:
            return self.line
        if self._node is False:
            self._node = self.node_source() if self.node_source else None
        found = _node_line(self._node, path)
        if found is None:
            return self.line
        # a node composed from the object's own text counts lines from its first line
        return found + (self.line - 1 if self.line and self.relative_lines else 0)


def manifest_of(
    obj: dict[str, Any],
    default_namespace: str,
    file: str | None = None,
    line: int | None = None,
    node_source: Callable[[], yaml.Node | None] | None = None,
    relative_lines: bool = False,
) -> Manifest:
    """A Manifest for a parsed object; namespaced kinds without a namespace get `default_namespace`."""
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        meta = {}
    kind = str(obj.get("kind") or "")
    ns = meta.get("namespace")
    namespace = "" if kind in CLUSTER_SCOPED else str(ns) if ns else default_namespace
    return Manifest(
        kind,
        str(obj.get("apiVersion") or ""),
        namespace,
        str(meta.get("name") or ""),
        obj,
        file,
        line,
        node_source,
        relative_lines,
    )


def index_kind(m: Manifest) -> str:
    """The kind to index by: Gateway API kinds carry their group so they never pass for Istio's Gateway."""
    if ".k8s.io/" not in m.api_version:
        return m.kind  # no group ending in .k8s.io (the usual case, decided without splitting)
    group = m.api_version.split("/")[0] if "/" in m.api_version else ""
    return f"{group}/{m.kind}" if group.endswith(".k8s.io") and group != "apps.k8s.io" else m.kind


class ManifestSet:
    """Manifests indexed by kind and by (kind, namespace, name)."""

    def __init__(self, manifests: Iterable[Manifest]) -> None:
        self.items = list(manifests)
        self._by_kind: dict[str, list[Manifest]] = {}
        self._by_key: dict[tuple[str, str, str], Manifest] = {}
        for m in self.items:
            kind = index_kind(m)
            self._by_kind.setdefault(kind, []).append(m)
            self._by_key.setdefault((kind, m.namespace, m.name), m)

    def of(self, kind: str) -> list[Manifest]:
        return self._by_kind.get(kind, [])

    def get(self, kind: str, namespace: str, name: str) -> Manifest | None:
        return self._by_key.get((kind, namespace, name))

    def __iter__(self) -> Iterator[Manifest]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)
