"""Read plain YAML straight from libyaml's events, giving exactly what PyYAML's SafeLoader gives, or None.

PyYAML builds every document twice over (a node graph, then Python values, through generic Python
code); for the simple block YAML that templates and specs are made of, walking the parser's events
once is several times faster. Whatever the walk does not handle itself (anchors, aliases, explicit
tags, merge keys, collection keys, or a spec-rule breach) makes it give up and return None, and the
caller uses the full loader, which then produces the value or the exact error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

import yaml
from yaml.events import (
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - libyaml missing: the walk would be slower than the full loader
    _Loader = None  # type: ignore[assignment,misc]

STR_TAG = "tag:yaml.org,2002:str"
# the implicit tags whose plain scalars SafeLoader turns into immutable values the walk may share
_PLAIN_TAGS = frozenset(
    {
        STR_TAG,
        "tag:yaml.org,2002:int",
        "tag:yaml.org,2002:float",
        "tag:yaml.org,2002:bool",
        "tag:yaml.org,2002:null",
        "tag:yaml.org,2002:timestamp",
    }
)


# plain scalars already resolved (text -> tag and value), shared by the readers of one process: the
# files of a run repeat the same words; the values are immutable, so sharing them is safe
_SHARED_PLAIN: dict[str, tuple[str, Any]] = {}
_SHARED_PLAIN_LIMIT = 100_000


def shared_plain() -> dict[str, tuple[str, Any]]:
    """The process's cache of resolved plain scalars, emptied first when it has grown large."""
    if len(_SHARED_PLAIN) > _SHARED_PLAIN_LIMIT:
        _SHARED_PLAIN.clear()
    return _SHARED_PLAIN


class GiveUp(Exception):
    """The text needs the full loader."""


# what a spec walk may veto: (tag, text, value) of a plain scalar, or (STR_TAG, text, text) of a quoted one
ScalarRule = Callable[[str, str, Any], bool]


class _Walk:
    """One pass over the events of a text, building Python values."""

    def __init__(self, text: str, max_depth: int, spec_rules: ScalarRule | None) -> None:
        self.loader = _Loader(text)
        self.get = self.loader.get_event
        self.max_depth = max_depth
        self.spec_rules = spec_rules
        self.plain: dict[str, tuple[str, Any]] = {}

    def documents(self) -> list[Any]:
        get = self.get
        get()  # StreamStartEvent
        docs = []
        event = get()
        while type(event) is DocumentStartEvent:
            docs.append(self.node(get(), 0))
            get()  # DocumentEndEvent
            event = get()
        return docs

    def scalar(self, event: ScalarEvent) -> tuple[str, Any]:
        if event.anchor is not None or event.tag is not None:
            raise GiveUp
        if not event.implicit[0]:
            return STR_TAG, event.value
        text = event.value
        known = self.plain.get(text)
        if known is None:
            tag = self.loader.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
            if tag not in _PLAIN_TAGS:
                raise GiveUp
            value = text if tag == STR_TAG else self.loader.construct_object(yaml.ScalarNode(tag, text))
            known = self.plain[text] = (tag, value)
        return known

    def node(self, event: Any, depth: int) -> Any:
        kind = type(event)
        if kind is ScalarEvent:
            tag, value = self.scalar(event)
            if self.spec_rules is not None and not self.spec_rules(tag, event.value, value):
                raise GiveUp
            return value
        if depth >= self.max_depth or event.anchor is not None or event.tag is not None:
            raise GiveUp
        if kind is MappingStartEvent:
            mapping: dict[Any, Any] = {}
            event = self.get()
            while type(event) is not MappingEndEvent:
                if type(event) is not ScalarEvent:
                    raise GiveUp
                tag, key = self.scalar(event)
                if self.spec_rules is not None and (tag != STR_TAG or key in mapping):
                    raise GiveUp
                mapping[key] = self.node(self.get(), depth + 1)
                event = self.get()
            return mapping
        if kind is SequenceStartEvent:
            sequence = []
            event = self.get()
            while type(event) is not SequenceEndEvent:
                sequence.append(self.node(event, depth + 1))
                event = self.get()
            return sequence
        raise GiveUp  # an alias


def load_documents(text: str, max_depth: int = 100, spec_rules: ScalarRule | None = None) -> list[Any] | None:
    """Every document of `text` as `yaml.load_all(text, CSafeLoader)` gives them, or None to use that instead.

    With `spec_rules`, keys must also be unique strings and every scalar must pass the rule.
    """
    if _Loader is None:
        return None
    walk = _Walk(text, max_depth, spec_rules)
    try:
        return walk.documents()
    except (GiveUp, yaml.YAMLError, RecursionError, ValueError):  # ValueError: an impossible date
        return None
    finally:
        walk.loader.dispose()


class Mark(Protocol):
    """Where a node starts (0-based), as PyYAML's and libyaml's marks both tell it."""

    line: int
    column: int


class MarkedDocument(NamedTuple):
    """One document read by `load_marked_documents`, with what the composer would have known about it."""

    value: Any
    start: Mark  # where the document's root node starts (the composed node's start_mark)
    item_starts: list[Mark]  # where each item of the root mapping's first `items_key` sequence starts
    nodes: int  # how many nodes the composed document has


class _MarkedWalk(_Walk):
    """The walk, also counting nodes and keeping the start marks that name a document and its list items.

    A copy of `_Walk.node` with a counter, rather than a hook in it, keeps the plain walk as fast as before.
    """

    def __init__(self, text: str, max_depth: int, items_key: str, plain: dict[str, tuple[str, Any]] | None) -> None:
        super().__init__(text, max_depth, None)
        if plain is not None:
            self.plain = plain
        self.items_key = items_key
        self.nodes = 0

    def marked_documents(self) -> list[MarkedDocument]:
        get = self.get
        get()  # StreamStartEvent
        docs = []
        event = get()
        while type(event) is DocumentStartEvent:
            root: Any = get()
            self.nodes = 0
            item_starts: list[Mark] = []
            is_mapping = type(root) is MappingStartEvent
            value = self.root_mapping(root, item_starts) if is_mapping else self.node(root, 0)
            docs.append(MarkedDocument(value, root.start_mark, item_starts, self.nodes))
            get()  # DocumentEndEvent
            event = get()
        return docs

    def root_mapping(self, event: Any, item_starts: list[Mark]) -> dict[Any, Any]:
        """A document's root mapping, as `node` reads it, noting where the items of its `items_key` list start."""
        if self.max_depth <= 0 or event.anchor is not None or event.tag is not None:
            raise GiveUp
        self.nodes += 1
        mapping: dict[Any, Any] = {}
        listed = False
        event = self.get()
        while type(event) is not MappingEndEvent:
            if type(event) is not ScalarEvent:
                raise GiveUp
            _, key = self.scalar(event)
            self.nodes += 1
            value = self.get()
            if not listed and event.value == self.items_key and type(value) is SequenceStartEvent:
                listed = True  # the first such key gives the lines, even where a duplicate key gives the value
                if self.max_depth <= 1 or value.anchor is not None or value.tag is not None:
                    raise GiveUp
                self.nodes += 1
                sequence = []
                item: Any = self.get()
                while type(item) is not SequenceEndEvent:
                    item_starts.append(item.start_mark)
                    sequence.append(self.node(item, 2))
                    item = self.get()
                mapping[key] = sequence
            else:
                mapping[key] = self.node(value, 1)
            event = self.get()
        return mapping

    def node(self, event: Any, depth: int) -> Any:
        self.nodes += 1
        kind = type(event)
        if kind is ScalarEvent:
            return self.scalar(event)[1]
        if depth >= self.max_depth or event.anchor is not None or event.tag is not None:
            raise GiveUp
        if kind is MappingStartEvent:
            mapping: dict[Any, Any] = {}
            event = self.get()
            while type(event) is not MappingEndEvent:
                if type(event) is not ScalarEvent:
                    raise GiveUp
                key = self.scalar(event)[1]
                self.nodes += 1
                mapping[key] = self.node(self.get(), depth + 1)
                event = self.get()
            return mapping
        if kind is SequenceStartEvent:
            sequence = []
            event = self.get()
            while type(event) is not SequenceEndEvent:
                sequence.append(self.node(event, depth + 1))
                event = self.get()
            return sequence
        raise GiveUp  # an alias


def load_marked_documents(
    text: str, items_key: str, max_depth: int = 100, plain: dict[str, tuple[str, Any]] | None = None
) -> list[MarkedDocument] | None:
    """`load_documents(text, max_depth)`, each document with its start, its list items' starts and its size.

    For readers that report source lines (`gwpipe analyze`) but need the node graph only now and then.
    A scalar its constructor rejects (a date such as 2001-02-30) gives None too, for the full loader to
    report. `plain` carries what plain scalars resolved to from one call to the next (the files of one tree
    repeat most of them); its values are immutable, so sharing them is safe.
    """
    if _Loader is None:
        return None
    walk = _MarkedWalk(text, max_depth, items_key, plain)
    try:
        return walk.marked_documents()
    except (GiveUp, yaml.YAMLError, RecursionError, ValueError, TypeError):
        return None
    finally:
        walk.loader.dispose()
