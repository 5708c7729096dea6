"""The data that flows between stages: resource requests, rendered objects, findings."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

LEVELS = ("Info", "Warning", "Error")
# placement tier -> the name of its shard folders (`1-gateways-00`)
TIERS = {0: "base", 1: "gateways", 2: "routes"}
GATEWAYS_TIER = 1
ROUTES_TIER = 2
# the folder of cluster-scoped objects (render.objects.object_path), so never a side folder
CLUSTER_FOLDER = "_cluster"


@dataclass(frozen=True)
class Placement:
    """What the core must know about a request to place it, declared by the plugin that makes it.

    `folder`: "" puts the object in the environment's own tree; one name starting with "_" puts it in
    a side folder of that name (a GitOps controller's objects, which its bootstrap applies), with a
    kustomization of its own that the environment's kustomization never lists; side folders count
    for no shard. `_cluster` is taken: it holds the cluster-scoped objects of a flat environment.
    `tier`: apply order of shards: 0 installs and everything else, 1 gateways, 2 routes.
    `group`: for routes (tier 2), the routing group their shard is named after (the bound gateway).
    `protected`: deleting the object takes traffic down (controllers ask before pruning it).
    `order`: apply order within the environment when it differs from `tier` (Namespaces: -1).
    """

    folder: str = ""
    tier: int = 0
    group: str | None = None
    protected: bool = False
    order: int | None = None

    def __post_init__(self) -> None:
        if self.folder and (not self.folder.startswith("_") or "/" in self.folder):
            raise ValueError(f"placement folder must be one name starting with '_', got {self.folder!r}")
        if self.folder == CLUSTER_FOLDER:
            raise ValueError(f"placement folder {CLUSTER_FOLDER!r} holds cluster-scoped objects; choose another")
        if self.tier not in TIERS:
            raise ValueError(f"placement tier must be one of {sorted(TIERS)}, got {self.tier!r}")

    @property
    def apply_order(self) -> int:
        return self.tier if self.order is None else self.order


@dataclass
class ResourceRequest:
    """A plugin's request that the core render one object from one template."""

    plugin: str
    template: str
    api_version: str
    kind: str
    name: str
    namespace: str | None
    values: dict[str, Any] = field(default_factory=dict)
    contributors: list[str] = field(default_factory=list)
    placement: Placement = field(default_factory=Placement)
    # which values are object content and where each lands: value key -> dotted path in the rendered
    # object (`{"http": "spec.http"}`); after parse-back every planned leaf under them must be there
    content: dict[str, str] = field(default_factory=dict)
    # value paths named in `touch` -> the plugin that named them, to blame the right plugin for a drop
    setters: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.namespace or "", self.name)

    @property
    def ref(self) -> str:
        """`Kind namespace/name`, the form Istio's analyzers use."""
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"

    def touch(self, plugin: str, *fields: str) -> None:
        """Record that `plugin` changed this request (for provenance and error messages).

        `fields` are the value paths it set (`"http[0].corsPolicy"`), so that a value that does not
        reach the output is blamed on exactly this plugin.
        """
        if plugin != self.plugin and plugin not in self.contributors:
            self.contributors.append(plugin)
        for path in fields:
            self.setters[path] = plugin

    @property
    def plugins(self) -> list[str]:
        return [self.plugin, *sorted(self.contributors)]


class Resources:
    """The plan: every request from every plugin, addressable by kind, namespace and name."""

    def __init__(self) -> None:
        self._by_key: dict[tuple[str, str, str], ResourceRequest] = {}
        self.duplicates: list[tuple[ResourceRequest, ResourceRequest]] = []

    def add(self, request: ResourceRequest) -> None:
        existing = self._by_key.get(request.key)
        if existing is not None:
            self.duplicates.append((existing, request))
            return
        self._by_key[request.key] = request

    def get(self, kind: str, name: str, namespace: str | None = None) -> ResourceRequest | None:
        return self._by_key.get((kind, namespace or "", name))

    def of_kind(self, kind: str) -> list[ResourceRequest]:
        return [r for r in self._by_key.values() if r.kind == kind]

    def remove(self, request: ResourceRequest) -> None:
        self._by_key.pop(request.key, None)

    def __iter__(self) -> Iterator[ResourceRequest]:
        return iter(self._by_key.values())

    def __len__(self) -> int:
        return len(self._by_key)


@dataclass
class RenderedObject:
    """One rendered document: its request, its exact text, and the text parsed back."""

    request: ResourceRequest
    text: str
    obj: dict[str, Any]
    path: str

    @property
    def ref(self) -> str:
        return self.request.ref


@dataclass(frozen=True)
class Finding:
    """A check result in Istio analyzer form: code, level and `Kind namespace/name`."""

    code: str
    level: str
    kind: str
    namespace: str
    name: str
    message: str
    file: str | None = None
    line: int | None = None

    @property
    def resource(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}: " if self.file and self.line else (f"{self.file}: " if self.file else "")
        return f"{where}{self.code} ({self.level}) {self.resource}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "level": self.level,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "message": self.message,
            "file": self.file,
            "line": self.line,
        }


def level_at_least(level: str, threshold: str) -> bool:
    """True when `level` is as severe as `threshold` or more."""
    return LEVELS.index(level) >= LEVELS.index(threshold)
