"""Read manifests for `gwpipe analyze`: files and folders, multi-document YAML, `kind: List`, with source lines."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from gwpipe.checks.analysis.manifests import Manifest, manifest_of
from gwpipe.errors import Problem, UsageError
from gwpipe.render.readback import Loader

MAX_BYTES = 16 * 1024 * 1024
MAX_EXPANDED_NODES = 1_000_000
# istioctl drops objects in these namespaces from file sources
IGNORED_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease", "local-path-storage"})


def input_files(paths: list[str]) -> list[Path]:
    """The files named, plus every *.yaml / *.yml below each folder named (sorted); missing paths are usage errors."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = [p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()]
            files.extend(sorted(found))
        elif path.is_file():
            files.append(path)
        else:
            raise UsageError(Problem(raw, "no such file or folder"))
    return list(dict.fromkeys(files))


def _where(display: str, node: yaml.Node) -> str:
    return f"{display}:{node.start_mark.line + 1}:{node.start_mark.column + 1}"


def _expanded_size(node: yaml.Node) -> int:
    """How many nodes the document has once every alias is expanded (memoized over the DAG, no recursion)."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(node, False)]
    while stack:
        current, children_done = stack.pop()
        if id(current) in sizes:
            continue
        children: list[yaml.Node] = []
        if isinstance(current, yaml.MappingNode):
            children = [v for pair in current.value for v in pair]
        elif isinstance(current, yaml.SequenceNode):
            children = list(current.value)
        if children_done:
            sizes[id(current)] = 1 + sum(sizes.get(id(c), 1) for c in children)
            continue
        stack.append((current, True))
        stack.extend((c, False) for c in children if id(c) not in sizes)
    return sizes[id(node)]


def _construct(node: yaml.Node) -> Any:
    return yaml.constructor.SafeConstructor().construct_document(node)


def load_manifests(path: Path, default_namespace: str) -> list[Manifest]:
    """Every object in one file; a parse error or a document that is no Kubernetes object is a UsageError."""
    display = os.path.relpath(path) if not os.path.relpath(path).startswith("..") else str(path)
    try:
        raw = path.read_bytes()[: MAX_BYTES + 1]
    except OSError as exc:
        raise UsageError(Problem(display, f"cannot read: {exc.strerror or exc}")) from None
    if len(raw) > MAX_BYTES:
        raise UsageError(Problem(display, f"file exceeds the size limit of {MAX_BYTES} bytes"))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise UsageError(Problem(f"{display}:{line}", f"invalid UTF-8 at byte {exc.start}")) from None
    try:
        nodes = [n for n in yaml.compose_all(text, Loader=Loader) if n is not None]
        for n in nodes:
            if _expanded_size(n) > MAX_EXPANDED_NODES:
                what = f"document expands to more than {MAX_EXPANDED_NODES} nodes through YAML aliases (alias bomb?)"
                raise UsageError(Problem(_where(display, n), what))
        docs = [(n, _construct(n)) for n in nodes]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{display}:{mark.line + 1}:{mark.column + 1}" if mark else display
        raise UsageError(Problem(where, f"invalid YAML: {exc.problem or exc.context or 'parse error'}")) from None
    except (yaml.YAMLError, RecursionError, ValueError, TypeError) as exc:
        raise UsageError(Problem(display, f"invalid YAML: {type(exc).__name__}")) from None
    out: list[Manifest] = []
    for node, doc in docs:
        if doc is None:
            continue
        if isinstance(doc, dict) and doc.get("kind") == "List" and isinstance(doc.get("items"), list):
            items = _items_node(node)
            for i, item in enumerate(doc["items"]):
                out.append(_manifest(display, items[i] if i < len(items) else node, item, default_namespace))
            continue
        if isinstance(doc, dict) and str(doc.get("apiVersion", "")).startswith("kustomize.config.k8s.io/"):
            continue  # a kustomization file is build input, not a cluster object
        out.append(_manifest(display, node, doc, default_namespace))
    return [m for m in out if m.namespace not in IGNORED_NAMESPACES]


def _items_node(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == "items" and isinstance(value, yaml.SequenceNode):
                return list(value.value)
    return []


def _manifest(display: str, node: yaml.Node, doc: Any, default_namespace: str) -> Manifest:
    if not isinstance(doc, dict) or not isinstance(doc.get("kind"), str) or not isinstance(doc.get("apiVersion"), str):
        raise UsageError(Problem(_where(display, node), "not a Kubernetes object (needs apiVersion and kind)"))
    meta = doc.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or not meta["name"]:
        raise UsageError(Problem(_where(display, node), "metadata.name is required"))
    return manifest_of(doc, default_namespace, display, node.start_mark.line + 1, lambda: node)
