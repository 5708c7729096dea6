"""Read the block YAML gwpipe's templates write, line by line, into what CSafeLoader gives, or decline.

Rendered objects are block mappings and sequences whose keys are plain words or JSON strings and
whose values are plain words, numbers, or one JSON value (`tojson`) on the same line. For that shape,
reading lines directly is about three times faster than walking libyaml's events. Anything outside
it (comments, anchors, tags, multi-line scalars, extra spaces, a JSON number or escape that YAML 1.1
reads differently, a long flow value, a character YAML refuses) makes `read_block` return None, and
the caller reads the text with the full loader, which gives the value or the exact error. Spec files
written in the same shape are read the same way, under the spec loader's stricter rules.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import yaml

from gwpipe.spec.fastyaml import _PLAIN_TAGS, STR_TAG, ScalarRule, shared_plain

# a plain word of the shape templates and specs write: no space or `#`, no flow indicator but the
# braces of a `${variable}` after its first character, and a `:` only before another character (a
# URL), so it cannot be a key, a comment or a continuation; YAML reads it as one scalar resolved by
# its implicit tags
_PLAIN = re.compile(r"(?:[A-Za-z0-9_./$]|-(?=[0-9.]))(?:[A-Za-z0-9_./+@${}-]|:(?=[^ ]))*")
# in a spec, these mean YAML the line reader does not read (flow collections, anchors, aliases, tags,
# block scalars, single quotes, comments after a value), most likely on some line: the walk reads it
_NOT_SPEC_SHAPE = ("[", "&", "*", "!", "|", ">", "'", " #")
# one line: its indent, a `- ` opening a sequence item, a key (plain word or JSON string) with its
# colon, and the rest; every part but the indent may be empty
_LINE = re.compile(r'( *)(- (?=[^ -])|-$)?(?:(?:([A-Za-z0-9_][A-Za-z0-9_./${}-]*)|("(?:[^"\\]|\\.)*")):(?: |$))?(.*)')
_scanstring = json.decoder.scanstring  # type: ignore[attr-defined]
# what YAML's reader refuses anywhere in a stream, the characters YAML 1.1 takes as line breaks or a
# byte order mark, and the JSON escapes it reads differently (surrogates, which libyaml rejects and
# JSON joins): the full loader must handle those
_REFUSED = re.compile("[^\x0a\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
# YAML 1.1 reads a number as a float only in this shape (`1e+20` is a string to it, a float to JSON)
_YAML_FLOAT = re.compile(r"[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?")
# PyYAML accepts an implicit key of at most 1024 characters; far below it, nothing needs checking
_LONGEST_FLOW = 1000


class _Decline(Exception):
    """The text is outside the shape: the full loader reads it."""


def _float(text: str) -> float:
    if not _YAML_FLOAT.fullmatch(text):
        raise _Decline
    return float(text)


def _constant(_text: str) -> Any:
    raise _Decline  # NaN and Infinity are not JSON a template writes, and YAML spells them otherwise


_JSON = json.JSONDecoder(parse_float=_float, parse_constant=_constant)
_decode = _JSON.raw_decode
_resolver = yaml.resolver.Resolver()
_constructor = yaml.constructor.SafeConstructor()


def _plain(text: str) -> tuple[str, Any]:
    """The tag and value YAML 1.1 gives the plain scalar `text` (memoized with the event walk's readers)."""
    known = shared_plain()
    try:
        return known[text]
    except KeyError:
        pass
    tag = _resolver.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    if tag not in _PLAIN_TAGS:
        raise _Decline
    value = text if tag == STR_TAG else _constructor.construct_object(yaml.ScalarNode(tag, text))
    known[text] = (tag, value)
    return tag, value


# what one line says, memoized by its text (rendered objects repeat most of their lines):
# (indent, opens an item, key or _NO_KEY, how its value is given, the value or the JSON text)
_Op = tuple[int, bool, Any, int, Any]
_VALUE, _FLOW, _BELOW = 0, 1, 2
_NO_KEY = object()
_SKIP: _Op = (-1, False, _NO_KEY, _BELOW, None)
_ops: dict[ScalarRule | None, dict[str, _Op]] = {}
_MAX_OPS = 100_000


def read_block(text: str, spec_rules: ScalarRule | None = None, max_depth: int = 100) -> Any | None:
    """The one document in `text` as `yaml.load(text, CSafeLoader)` gives it, or None to use that loader.

    Only a block mapping or sequence at the top is read; `text` must end with a line break. With
    `spec_rules` (as `fastyaml.load_documents` takes them), keys must also be unique strings, values
    plain words or JSON strings, and every scalar must pass the rule. A collection nested `max_depth`
    deep is declined, as the event walk declines it.
    """
    if not text.endswith("\n") or _refused(text):
        return None
    if spec_rules is not None and (
        any(mark in text for mark in _NOT_SPEC_SHAPE) or text.count("{") != text.count("${")
    ):
        return None
    lines = text.split("\n")
    lines.pop()
    try:
        return _read(lines, spec_rules, max_depth)
    except (_Decline, ValueError, RecursionError):
        return None


@dataclass
class Start:
    """Where the document `read_block` read starts (0-based), as the composer's start mark of its root."""

    line: int
    column: int


def document_start(text: str) -> Start:
    """Where the root of a text `read_block` read starts: its first line that is not blank or a comment."""
    for number, line in enumerate(text.split("\n")):
        content = line.lstrip(" ")
        if content and content[0] != "#":
            return Start(number, len(line) - len(content))
    return Start(0, 0)


def _refused(text: str) -> bool:
    """True when `text` holds a character or escape the line reader leaves to libyaml."""
    if "\\u" in text and _SURROGATE_ESCAPE.search(text):
        return True
    if text.isascii():  # str methods scan ASCII far faster than a character class
        return not text.replace("\n", "").isprintable()
    return _REFUSED.search(text) is not None


def _read(lines: list[str], spec_rules: ScalarRule | None, max_depth: int) -> Any:
    """The value of the lines: the innermost open block is (at, block, in_sequence), its parents on a stack."""
    if spec_rules not in _ops and len(_ops) > 4:
        _ops.clear()
    ops = _ops.setdefault(spec_rules, {})
    strict = spec_rules is not None
    root: Any = None
    parents: list[tuple[int, Any, bool]] = []
    at, in_sequence = -1, False
    block: Any = None
    # a key or `-` whose value is on the lines below, and whether a sequence at the same indent may be
    # that value, as `key:` allows and `-` does not
    waiting: Any = None
    waiting_slot: Any = None
    waiting_at, waiting_same_indent = 0, False
    for line in lines:
        op = ops.get(line) or _op(line, spec_rules, ops)
        indent, dash, key, given, value = op
        if indent < 0:
            continue
        if given == _FLOW:
            value = _decode(value)[0]
        if waiting is not None:
            if indent > waiting_at or (indent == waiting_at and dash and waiting_same_indent):
                opened: Any = [] if dash else {}
                waiting[waiting_slot] = opened
                parents.append((at, block, in_sequence))
                at, block, in_sequence = indent, opened, dash
                if len(parents) >= max_depth:
                    raise _Decline
            waiting = None
        elif root is None:
            root = block = [] if dash else {}
            at, in_sequence = indent, dash
        while at > indent or (at == indent and in_sequence and not dash):
            if not parents:
                raise _Decline
            at, block, in_sequence = parents.pop()
        if at != indent or in_sequence != dash:
            raise _Decline  # an odd indent, a continuation line, an item where a key belongs
        if dash:
            if key is _NO_KEY:
                block.append(value)
                if given == _BELOW:
                    waiting, waiting_slot, waiting_at, waiting_same_indent = block, len(block) - 1, indent, False
                continue
            item: dict[Any, Any] = {}
            block.append(item)
            parents.append((at, block, True))
            indent += 2
            at, block, in_sequence = indent, item, False
            if len(parents) >= max_depth:
                raise _Decline
        elif strict and key in block:
            raise _Decline  # a duplicate key: the spec loader words it
        block[key] = value
        if given == _BELOW:
            waiting, waiting_slot, waiting_at, waiting_same_indent = block, key, indent, True
    if root is None:
        raise _Decline
    return root


def _op(line: str, spec_rules: ScalarRule | None, ops: dict[str, _Op]) -> _Op:
    """What `line` says; a line outside the shape raises _Decline."""
    content = line.lstrip(" ")
    if not content or content[0] == "#":
        return _remember(ops, line, _SKIP)  # outside scalars, YAML ignores blank lines and whole-line comments
    match = _LINE.fullmatch(line)
    if match is None:
        raise _Decline
    spaces, dash, plain_key, quoted_key, rest = match.groups()
    key: Any = _NO_KEY
    if not (dash or plain_key or quoted_key):
        raise _Decline  # a scalar where a key belongs: a multi-line scalar or a document that is one
    if plain_key:
        tag, key = _plain(plain_key)
        if spec_rules is not None and (tag != STR_TAG or not spec_rules(tag, plain_key, key)):
            raise _Decline
    elif quoted_key:
        if len(quoted_key) > _LONGEST_FLOW:
            raise _Decline
        key, end = _scanstring(quoted_key, 1)
        if end != len(quoted_key) or (spec_rules is not None and not spec_rules(STR_TAG, key, key)):
            raise _Decline
    given, value = _BELOW, None
    if rest:
        first = rest[0]
        if first == "[" or first == "{":
            if len(rest) > _LONGEST_FLOW or spec_rules is not None:
                raise _Decline  # the rules would have to see every scalar inside
            _decode_whole(rest)
            given, value = _FLOW, rest
        elif first == '"':
            given, value = _VALUE, _decode_whole(rest)
            if spec_rules is not None and not spec_rules(STR_TAG, value, value):
                raise _Decline
        elif _PLAIN.fullmatch(rest):
            tag, value = _plain(rest)
            given = _VALUE
            if spec_rules is not None and not spec_rules(tag, rest, value):
                raise _Decline
        else:
            raise _Decline
    return _remember(ops, line, (len(spaces), bool(dash), key, given, value))


def _remember(ops: dict[str, _Op], line: str, op: _Op) -> _Op:
    if len(ops) >= _MAX_OPS:
        ops.clear()
    ops[line] = op
    return op


def _decode_whole(text: str) -> Any:
    value, end = _decode(text)
    if end != len(text):
        raise _Decline
    return value
