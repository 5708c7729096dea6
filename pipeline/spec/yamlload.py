"""Safe YAML loading for specs: size, depth and alias limits, duplicate keys, YAML 1.1 traps, locations."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from gwpipe import fast
from gwpipe.errors import Problem, SpecError
from gwpipe.render.readback import Loader
from gwpipe.spec.blockread import read_block
from gwpipe.spec.fastyaml import STR_TAG, load_documents

MIB = 1024 * 1024
# per file: 20,000 hosts fit in a few files (docs/speed.md, "Large fleets"); the cap bounds memory on hostile input
MAX_BYTES = 8 * MIB
SPLIT_ADVICE = (
    "split it: move part of a large mapping such as `hosts` into a base file named by `extends` "
    "(bases merge key by key, up to 8 levels) or into another environment; see docs/speed.md, Large fleets"
)
MAX_DEPTH = 64
MAX_ALIASES = 100

Path_ = tuple[str | int, ...]

_SAFE_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}
# integers that YAML 1.1 reads in a base the author rarely means: 0443 (octal), 0x1F, 0b1, 1_000, 12:30
_AMBIGUOUS_INT = re.compile(r"^[-+]?(0[0-9_]+|0x[0-9a-fA-F_]+|0b[01_]+|[0-9][0-9_]*(:[0-5]?[0-9])+|.*_.*)$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Location:
    """Where a value stands in a source file, and the exact text YAML read it from."""

    file: str
    line: int
    column: int
    raw: str | None = None


class LazyLocations(Mapping[Path_, Location]):
    """Locations worked out on first use: only messages need them, and they cost a second, slower parse."""

    def __init__(self, compute: Callable[[], Mapping[Path_, Location]]) -> None:
        self._compute: Callable[[], Mapping[Path_, Location]] | None = compute
        self._table: Mapping[Path_, Location] = {}

    def _resolved(self) -> Mapping[Path_, Location]:
        if self._compute is not None:
            self._table, self._compute = self._compute(), None
        return self._table

    def __getitem__(self, path: Path_) -> Location:
        return self._resolved()[path]

    def __iter__(self) -> Iterator[Path_]:
        return iter(self._resolved())

    def __len__(self) -> int:
        return len(self._resolved())


@dataclass
class Loaded:
    """A parsed YAML mapping plus the location of every key's value, by path."""

    data: dict[str, Any]
    locations: Mapping[Path_, Location]
    references: bool = True  # the text holds `${`: variables may need interpolating
    sha256: str = ""  # of the bytes read, when read from a file: what an incremental render records


def load_yaml_file(path: str, display: str, max_bytes: int = MAX_BYTES) -> Loaded:
    """Read and parse one spec file; every failure is a SpecError located in `display`."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(max_bytes + 1)
    except OSError as exc:
        raise SpecError(Problem(display, f"cannot read spec: {exc.strerror or exc}")) from None
    if len(raw) > max_bytes:
        raise SpecError(Problem(display, f"file exceeds the size limit of {_size(max_bytes)}; {SPLIT_ADVICE}"))
    loaded = load_yaml_bytes(raw, display)
    loaded.sha256 = hashlib.sha256(raw).hexdigest()
    return loaded


def _size(limit: int) -> str:
    return f"{limit} bytes ({limit // MIB} MiB)" if limit >= MIB and limit % MIB == 0 else f"{limit} bytes"


def load_yaml_bytes(raw: bytes, display: str) -> Loaded:
    """Parse bytes as one YAML mapping with the safety rules of `load_yaml_file`."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf")):
        raise SpecError(Problem(f"{display}:1:1", "byte-order mark found; save the file as UTF-8 without BOM"))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SpecError(Problem(f"{display}:{line}:{col}", f"invalid UTF-8 at byte {exc.start}")) from None
    bad = _CONTROL.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        col = bad.start() - (text.rfind("\n", 0, bad.start()) + 1) + 1
        raise SpecError(Problem(f"{display}:{line}:{col}", f"control character U+{ord(bad.group()):04X} not allowed"))
    references = "${" in text
    if not fast.enabled():
        return _located(text, display, references)
    # the common case, a clean spec, is read in one pass; any rule it might break sends it to the full
    # builder below, which finds the problem (and, for a clean spec, the locations, when first asked)
    data = read_block(text, _clean_scalar, MAX_DEPTH)
    if not isinstance(data, dict):
        docs = load_documents(text, MAX_DEPTH, _clean_scalar)
        data = docs[0] if docs is not None and len(docs) == 1 else None
    if isinstance(data, dict):
        return Loaded(data, LazyLocations(lambda: _load_located(text, display).locations), references)
    return _located(text, display, references)


def _located(text: str, display: str, references: bool) -> Loaded:
    loaded = _load_located(text, display)
    loaded.references = references
    return loaded


def _clean_scalar(tag: str, raw: str, value: Any) -> bool:
    """False when the full builder would report this scalar (an ambiguous number, a control character)."""
    if tag == STR_TAG:
        return _CONTROL.search(value) is None
    return not (tag == "tag:yaml.org,2002:int" and _AMBIGUOUS_INT.match(raw))


def _load_located(text: str, display: str) -> Loaded:
    """Compose `text` and build its value node by node, with locations and every problem found."""
    try:
        nodes = list(yaml.compose_all(text, Loader=Loader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{display}:{mark.line + 1}:{mark.column + 1}" if mark else display
        what = exc.problem or "invalid YAML"
        if mark is not None and text[mark.index : mark.index + 1] == "\t":
            what = "tab character; indent with spaces"
        raise SpecError(Problem(where, f"invalid YAML: {what}")) from None
    except yaml.YAMLError as exc:
        raise SpecError(Problem(display, f"invalid YAML: {exc}")) from None
    except RecursionError:
        raise SpecError(Problem(display, f"nesting too deep (more than {MAX_DEPTH} levels)")) from None
    # a document that is only `---` composes to an empty null scalar: still an empty spec
    nodes = [n for n in nodes if n is not None and n.tag != "tag:yaml.org,2002:null"]
    if not nodes:
        raise SpecError(Problem(display, "spec is empty"))
    if len(nodes) > 1:
        mark = nodes[1].start_mark
        raise SpecError(
            Problem(f"{display}:{mark.line + 1}:{mark.column + 1}", "a spec holds one YAML document; found a second")
        )
    root = nodes[0]
    if not isinstance(root, yaml.MappingNode):
        raise SpecError(Problem(_where(display, root), "spec must be a mapping of keys to values"))
    builder = _Builder(display)
    data = builder.build(root, (), 0)
    if builder.problems:
        raise SpecError(*builder.problems)
    assert isinstance(data, dict)
    return Loaded(data, builder.locations)


def format_path(path: Path_) -> str:
    """`hosts["a.example.com"].tls.mode` from ('hosts', 'a.example.com', 'tls', 'mode')."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", part):
            out += f".{part}" if out else part
        else:
            out += f'["{part}"]'
    return out


def _where(display: str, node: yaml.Node, path: Path_ = ()) -> str:
    """`file:line:col`, plus `: dotted.field` when the node sits below the top level."""
    head = f"{display}:{node.start_mark.line + 1}:{node.start_mark.column + 1}"
    return f"{head}: {format_path(path)}" if path else head


class _Builder:
    """Turns composed nodes into Python values, recording locations and refusing unsafe YAML."""

    def __init__(self, display: str) -> None:
        self.display = display
        self.locations: dict[Path_, Location] = {}
        self.problems: list[Problem] = []
        self._seen_nodes: dict[int, int] = {}
        self._alias_uses = 0
        self._constructor = yaml.SafeLoader("")

    def build(self, node: yaml.Node, path: Path_, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise SpecError(
                Problem(_where(self.display, node, path), f"nesting too deep (more than {MAX_DEPTH} levels)")
            )
        # composed nodes are shared between alias uses, so a node seen before is an alias use
        if id(node) in self._seen_nodes:
            self._alias_uses += 1
            if self._alias_uses > MAX_ALIASES:
                raise SpecError(Problem(_where(self.display, node, path), f"more than {MAX_ALIASES} YAML alias uses"))
        self._seen_nodes[id(node)] = 1
        if node.tag not in _SAFE_TAGS:
            self.problems.append(
                Problem(_where(self.display, node, path), f"YAML tag {node.tag} is not allowed in a spec")
            )
            return None
        raw = node.value if isinstance(node, yaml.ScalarNode) else None
        self.locations[path] = Location(self.display, node.start_mark.line + 1, node.start_mark.column + 1, raw)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        return self._scalar(node, path)

    def _mapping(self, node: yaml.MappingNode, path: Path_, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                self.problems.append(
                    Problem(_where(self.display, key_node, path), "merge keys (<<) are not allowed in a spec")
                )
                continue
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != "tag:yaml.org,2002:str":
                shown = key_node.value if isinstance(key_node, yaml.ScalarNode) else "a collection"
                self.problems.append(
                    Problem(
                        _where(self.display, key_node, path), f"mapping keys must be strings, got {shown!r}; quote it"
                    )
                )
                continue
            key = key_node.value
            line = key_node.start_mark.line + 1
            if key in first_line:
                self.problems.append(
                    Problem(
                        _where(self.display, key_node, (*path, key)),
                        f"duplicate key {key!r} (first defined at line {first_line[key]})",
                    )
                )
                continue
            first_line[key] = line
            result[key] = self.build(value_node, (*path, key), depth + 1)
        return result

    def _scalar(self, node: yaml.ScalarNode, path: Path_) -> Any:
        if node.tag == "tag:yaml.org,2002:int" and _AMBIGUOUS_INT.match(node.value):
            value = self._constructor.construct_object(node)
            self.problems.append(
                Problem(
                    _where(self.display, node, path),
                    f"ambiguous number {node.value!r} (YAML 1.1 reads it as {value}); write it plainly or quote it",
                )
            )
            return value
        if node.tag == "tag:yaml.org,2002:str":
            # an escaped control character ("\x1b") reaches no raw-text check; refuse it here too
            bad = _CONTROL.search(node.value)
            if bad:
                what = f"control character U+{ord(bad.group()):04X} not allowed in a value"
                self.problems.append(Problem(_where(self.display, node, path), what))
            return node.value
        try:
            return self._constructor.construct_object(node)
        except ValueError as exc:  # a timestamp YAML 1.1 recognises but the calendar refuses: 2001-02-30
            what = f"{node.value!r} reads as a date or time but is not a valid one ({exc}); quote it to keep it as text"
            self.problems.append(Problem(_where(self.display, node, path), what))
            return None
