"""Read the block YAML gwpipe's templates write, line by line, into what CSafeLoader gives, or decline.

Rendered objects are block mappings and sequences whose keys are plain words or JSON strings and
whose values are plain words, numbers, or one JSON value (`tojson`) on the same line. For that shape,
reading lines directly is about three times faster than walking libyaml's events. Anything outside
it (comments, anchors, tags, multi-line scalars, extra spaces, a JSON number or escape that YAML 1.1
reads differently, a long flow value, a character YAML refuses) makes `read_block` return None, and
the caller reads the text with the full loader, which gives the value or the exact error.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from gwpipe.spec.fastyaml import _PLAIN_TAGS, STR_TAG

# a plain word of the shape templates write; no `:`, `#`, space or flow indicator, so it cannot be a
# key, a comment or a continuation, and YAML reads it as one scalar resolved by its implicit tags
_PLAIN = re.compile(r"(?:[A-Za-z0-9_./]|-(?=[0-9.]))[A-Za-z0-9_./+@-]*")
# one line: its indent, a `- ` opening a sequence item, a key (plain word or JSON string) with its
# colon, and the rest; every part but the indent may be empty
_LINE = re.compile(r'( *)(- (?=[^ -])|-$)?(?:(?:([A-Za-z0-9_][A-Za-z0-9_./-]*)|("(?:[^"\\]|\\.)*")):(?: |$))?(.*)')
_scanstring = json.decoder.scanstring  # type: ignore[attr-defined]
# what YAML's reader refuses anywhere in a stream, the characters YAML 1.1 takes as line breaks or a
# byte order mark, and the JSON escapes it reads differently (surrogates, which libyaml rejects and
# JSON joins): the full loader must handle those
_REFUSED = re.compile(
    "[^\x0a\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]|\\\\u[dD][89a-fA-F]"
)
# YAML 1.1 reads a number as a float only in this shape (`1e+20` is a string to it, a float to JSON)
_YAML_FLOAT = re.compile(r"[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?")
# PyYAML accepts an implicit key of at most 1024 characters; far below it, nothing needs checking
_LONGEST_FLOW = 1000
_MAX_DEPTH = 100


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
_plain_values: dict[str, Any] = {}


def _plain(text: str) -> Any:
    """The value YAML 1.1 gives the plain scalar `text` (memoized: templates repeat their words)."""
    try:
        return _plain_values[text]
    except KeyError:
        pass
    tag = _resolver.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    if tag not in _PLAIN_TAGS:
        raise _Decline
    value = text if tag == STR_TAG else _constructor.construct_object(yaml.ScalarNode(tag, text))
    if len(_plain_values) < 10_000:
        _plain_values[text] = value
    return value


# what one line says, memoized by its text (rendered objects repeat most of their lines):
# (indent, opens an item, key or _NO_KEY, how its value is given, the value or the JSON text)
_Op = tuple[int, bool, Any, int, Any]
_VALUE, _FLOW, _BELOW = 0, 1, 2
_NO_KEY = object()
_SKIP: _Op = (-1, False, _NO_KEY, _BELOW, None)
_ops: dict[str, _Op] = {}
_MAX_OPS = 100_000


def read_block(text: str) -> Any | None:
    """The one document in `text` as `yaml.load(text, CSafeLoader)` gives it, or None to use that loader.

    Only a block mapping or sequence at the top is read; `text` must end with a line break.
    """
    if not text.endswith("\n") or _REFUSED.search(text):
        return None
    lines = text.split("\n")
    lines.pop()
    try:
        return _read(lines)
    except (_Decline, ValueError, RecursionError):
        return None


def _read(lines: list[str]) -> Any:
    """The value of the lines, kept on a stack of open blocks: (indent, container, is a sequence)."""
    root: Any = None
    stack: list[tuple[int, Any, bool]] = []
    # a key or `-` whose value is on the lines below: (container, key or index, its indent, whether a
    # sequence at the same indent may be that value, as `key:` allows and `-` does not)
    pending: tuple[Any, Any, int, bool] | None = None
    ops = _ops
    for line in lines:
        op = ops.get(line)
        if op is None:
            op = _op(line)
        indent, dash, key, given, value = op
        if indent < 0:
            continue
        if given == _FLOW:
            value = _decode(value)[0]
        if pending is not None:
            container, slot, above, same_indent_sequence = pending
            pending = None
            if indent > above or (indent == above and dash and same_indent_sequence):
                opened: Any = [] if dash else {}
                container[slot] = opened
                stack.append((indent, opened, dash))
                if len(stack) > _MAX_DEPTH:
                    raise _Decline
        elif root is None:
            root = [] if dash else {}
            stack.append((indent, root, dash))
        top = stack[-1]
        while top[0] > indent or (top[0] == indent and top[2] and not dash):
            stack.pop()
            if not stack:
                raise _Decline
            top = stack[-1]
        if top[0] != indent or top[2] != dash:
            raise _Decline  # an odd indent, a continuation line, an item where a key belongs
        container = top[1]
        if dash:
            if key is _NO_KEY:
                container.append(value)
                if given == _BELOW:
                    pending = (container, len(container) - 1, indent, False)
                continue
            item: dict[Any, Any] = {}
            container.append(item)
            indent += 2
            stack.append((indent, item, False))
            container = item
        container[key] = value
        if given == _BELOW:
            pending = (container, key, indent, True)
    if root is None:
        raise _Decline
    return root


def _op(line: str) -> _Op:
    """What `line` says; a line outside the shape raises _Decline."""
    content = line.lstrip(" ")
    if not content or content[0] == "#":
        return _remember(line, _SKIP)  # outside scalars, YAML ignores blank lines and whole-line comments
    match = _LINE.fullmatch(line)
    if match is None:
        raise _Decline
    spaces, dash, plain_key, quoted_key, rest = match.groups()
    key: Any = _NO_KEY
    if not (dash or plain_key or quoted_key):
        raise _Decline  # a scalar where a key belongs: a multi-line scalar or a document that is one
    if plain_key:
        key = _plain(plain_key)
    elif quoted_key:
        if len(quoted_key) > _LONGEST_FLOW:
            raise _Decline
        key, end = _scanstring(quoted_key, 1)
        if end != len(quoted_key):
            raise _Decline
    given, value = _BELOW, None
    if rest:
        first = rest[0]
        if first == "[" or first == "{":
            if len(rest) > _LONGEST_FLOW:
                raise _Decline
            _decode_whole(rest)
            given, value = _FLOW, rest
        elif first == '"':
            given, value = _VALUE, _decode_whole(rest)
        elif _PLAIN.fullmatch(rest):
            given, value = _VALUE, _plain(rest)
        else:
            raise _Decline
    return _remember(line, (len(spaces), bool(dash), key, given, value))


def _remember(line: str, op: _Op) -> _Op:
    if len(_ops) >= _MAX_OPS:
        _ops.clear()
    _ops[line] = op
    return op


def _decode_whole(text: str) -> Any:
    value, end = _decode(text)
    if end != len(text):
        raise _Decline
    return value
