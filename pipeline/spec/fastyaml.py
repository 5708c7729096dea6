"""Read plain YAML straight from libyaml's events, giving exactly what PyYAML's SafeLoader gives, or None.

PyYAML builds every document twice over (a node graph, then Python values, through generic Python
code); for the simple block YAML that templates and specs are made of, walking the parser's events
once is several times faster. Whatever the walk does not handle itself (anchors, aliases, explicit
tags, merge keys, collection keys, or a spec-rule breach) makes it give up and return None, and the
caller uses the full loader, which then produces the value or the exact error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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
    except (GiveUp, yaml.YAMLError, RecursionError):
        return None
    finally:
        walk.loader.dispose()
