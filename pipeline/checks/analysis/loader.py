"""Read manifests for `gwpipe analyze`: files and folders, multi-document YAML, `kind: List`, with source lines."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from gwpipe import fast
from gwpipe.checks.analysis.manifests import Manifest, manifest_of
from gwpipe.errors import Problem, UsageError
from gwpipe.render.readback import Loader
from gwpipe.spec.blockread import document_start, read_block
from gwpipe.spec.fastyaml import Mark, load_marked_documents, shared_plain

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


def _where(display: str, mark: Mark) -> str:
    return f"{display}:{mark.line + 1}:{mark.column + 1}"


def _too_large(display: str, mark: Mark) -> UsageError:
    what = f"document expands to more than {MAX_EXPANDED_NODES} nodes through YAML aliases (alias bomb?)"
    return UsageError(Problem(_where(display, mark), what))


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
    display, text = _read(path)
    if fast.enabled():
        found = _walked_manifests(display, text, default_namespace)
        if found is not None:
            return found
    return _composed_manifests(display, text, default_namespace)


def _display(path: Path) -> str:
    """The path relative to the working folder, unless it lies outside it."""
    if not path.is_absolute():
        # relpath is lexical: a relative path that does not climb out is its own normal form (and ~10x cheaper)
        normal = os.path.normpath(path)
        if not normal.startswith(".."):
            return normal
    relative = os.path.relpath(path)
    return relative if not relative.startswith("..") else str(path)


def _read(path: Path) -> tuple[str, str]:
    display = _display(path)
    try:
        raw = path.read_bytes()[: MAX_BYTES + 1]
    except OSError as exc:
        raise UsageError(Problem(display, f"cannot read: {exc.strerror or exc}")) from None
    if len(raw) > MAX_BYTES:
        raise UsageError(Problem(display, f"file exceeds the size limit of {MAX_BYTES} bytes"))
    try:
        return display, raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise UsageError(Problem(f"{display}:{line}", f"invalid UTF-8 at byte {exc.start}")) from None


def _composed_manifests(display: str, text: str, default_namespace: str) -> list[Manifest]:
    """The reference reader: PyYAML's node graph, the alias guard, then the values."""
    try:
        nodes = [n for n in yaml.compose_all(text, Loader=Loader) if n is not None]
        for n in nodes:
            if _expanded_size(n) > MAX_EXPANDED_NODES:
                raise _too_large(display, n.start_mark)
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
        if _is_list(doc):
            items = _items_node(node)
            for i, item in enumerate(doc["items"]):
                item_node = items[i] if i < len(items) else node
                out.append(_manifest(display, item_node.start_mark, item, default_namespace, _given(item_node)))
            continue
        if _is_kustomization(doc):
            continue
        out.append(_manifest(display, node.start_mark, doc, default_namespace, _given(node)))
    return [m for m in out if m.namespace not in IGNORED_NAMESPACES]


def _walked_manifests(display: str, text: str, default_namespace: str) -> list[Manifest] | None:
    """The same objects from one walk over the parser's events, or None when only the reference reader can tell.

    Values, lines and errors are those of `_composed_manifests`; the node graph behind `node_source` is
    composed only when a finding asks for a field's line, once for the whole file.
    """
    # one document in the block shape gwpipe writes, read line by line; a text shorter than the node
    # limit cannot hold more nodes than characters, so the size guard has nothing to count there
    if len(text) < MAX_EXPANDED_NODES:
        doc = read_block(text)
        if doc is not None and not _is_list(doc):
            if _is_kustomization(doc):
                return []
            manifest = _manifest(display, document_start(text), doc, default_namespace, _LazyGraph(text).source(0))
            return [manifest] if manifest.namespace not in IGNORED_NAMESPACES else []
    docs = load_marked_documents(text, "items", plain=shared_plain())
    if docs is None:
        return None
    for walked in docs:
        if walked.nodes > MAX_EXPANDED_NODES:  # no aliases here, but a huge flow collection counts as well
            raise _too_large(display, walked.start)
    graph = _LazyGraph(text)
    out: list[Manifest] = []
    for index, walked in enumerate(docs):
        doc = walked.value
        if doc is None:
            continue
        if _is_list(doc):
            starts = walked.item_starts
            for i, item in enumerate(doc["items"]):
                if i < len(starts):
                    out.append(_manifest(display, starts[i], item, default_namespace, graph.source(index, i)))
                else:
                    out.append(_manifest(display, walked.start, item, default_namespace, graph.source(index)))
            continue
        if _is_kustomization(doc):
            continue
        out.append(_manifest(display, walked.start, doc, default_namespace, graph.source(index)))
    return [m for m in out if m.namespace not in IGNORED_NAMESPACES]


class _LazyGraph:
    """A file's node graph, composed on the first request for a field's line."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.documents: list[yaml.Node] | None = None

    def source(self, document: int, item: int | None = None) -> Callable[[], yaml.Node | None]:
        def node() -> yaml.Node | None:
            if self.documents is None:
                self.documents = list(yaml.compose_all(self.text, Loader=Loader))
                self.text = ""
            root = self.documents[document]
            return root if item is None else _items_node(root)[item]

        return node


def _given(node: yaml.Node) -> Callable[[], yaml.Node | None]:
    return lambda: node


def _is_list(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get("kind") == "List" and isinstance(doc.get("items"), list)


def _is_kustomization(doc: Any) -> bool:
    """A kustomization file is build input, not a cluster object."""
    return isinstance(doc, dict) and str(doc.get("apiVersion", "")).startswith("kustomize.config.k8s.io/")


def _items_node(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == "items" and isinstance(value, yaml.SequenceNode):
                return list(value.value)
    return []


def _manifest(
    display: str, start: Mark, doc: Any, default_namespace: str, node_source: Callable[[], yaml.Node | None]
) -> Manifest:
    if not isinstance(doc, dict) or not isinstance(doc.get("kind"), str) or not isinstance(doc.get("apiVersion"), str):
        raise UsageError(Problem(_where(display, start), "not a Kubernetes object (needs apiVersion and kind)"))
    meta = doc.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or not meta["name"]:
        raise UsageError(Problem(_where(display, start), "metadata.name is required"))
    return manifest_of(doc, default_namespace, display, start.line + 1, node_source)
