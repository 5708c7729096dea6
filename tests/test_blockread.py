"""The line reader of rendered YAML gives what CSafeLoader gives, or declines: golden trees, hypothesis, edges."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typed_equality import same

from gwpipe.render.environment import tojson
from gwpipe.render.readback import READ_ALONE, read_many
from gwpipe.spec.blockread import read_block
from gwpipe.spec.fastyaml import load_documents
from gwpipe.spec.yamlload import MAX_DEPTH, _clean_scalar

GOLDEN = Path(__file__).parent / "golden"


def reference(text: str) -> tuple[bool, Any]:
    """(read, value) of libyaml's loader; (False, None) when it refuses the text."""
    try:
        return True, yaml.load(text, Loader=yaml.CSafeLoader)
    except (yaml.YAMLError, ValueError, TypeError):
        return False, None


def assert_agrees(text: str) -> Any:
    """read_block declines, or reads what the reference reads; returns what read_block gave."""
    got = read_block(text)
    if got is None:
        return None
    ok, want = reference(text)
    assert ok, f"read_block read a text libyaml refuses: {text!r}"
    assert same(got, want), f"{text!r}: {got!r} != {want!r}"
    return got


def test_every_golden_file_is_read_the_same_and_none_is_declined() -> None:
    files = sorted(GOLDEN.rglob("*.yaml"))
    assert len(files) > 80
    declined = [str(p.relative_to(GOLDEN)) for p in files if assert_agrees(p.read_text()) is None]
    assert declined == []


@pytest.mark.parametrize(
    ("text", "read"),
    [
        ("a: b\n", True),
        ("a:\n- b\n- c\nd: e\n", True),  # a sequence at its key's indent
        ("- a: 1\n  b: 2\n- c\n", True),
        ("a:\n  b:\n    c: 1\n  d: [1, 2.5, null, true]\n", True),
        ('a: {"k":1,"j":[1,2.5,null,true]}\n', True),
        ('"quoted key": "x\\/y\\u00e9"\n', True),
        ("a: 0777\nb: 1_000\nc: .inf\nd: 2001-12-14\ne: -1.5\n", True),
        ("yes: no\nOn: Off\n", True),  # YAML 1.1 booleans, keys too
        ("a:\n# c\n  d: e\n\nf: g\n", True),  # whole-line comments and blank lines
        ("a:\n-\n- b\n", True),
        ("a:\nb: 1\n", True),
        ("a: [1e+20]\n", False),  # a string to YAML 1.1, a float to JSON
        ("a: [1.0e5]\n", False),
        ('a: "\\ud83d\\ude00"\n', False),  # libyaml refuses what JSON joins
        ("a: b\n  c\n", False),  # a continuation line
        ("a: 1 # x\n", False),
        ("a: &x 1\nb: *x\n", False),
        ("a: !!str 1\n", False),
        ("<<: {a: 1}\n", False),
        ("a: ~\n", False),
        ("a:  b\n", False),
        ("a: b \n", False),
        ("a:\tb\n", False),
        ("- - a\n", False),
        ("-  a\n", False),
        ("a\n", False),
        ("a: b", False),  # no final line break
        ("---\na: b\n", False),
        ("a: b\n---\nc: d\n", False),
        ("a: 'single'\n", False),
        ("a: |\n  x\n", False),
        ("a: b\n c: d\n", False),
        ("  a: 1\n b: 2\n", False),
        ("a: \x85\n", False),
        ("a: \u2028\n", False),
        ("\ufeffa: b\n", False),
        ("a: \x07\n", False),
        ('a: "unterminated\n', False),
        ('a: "x" y\n', False),
        ("a: [1, 2\n", False),
        ("a: 12:30\n", True),  # base 60, as YAML 1.1 reads it
        ("a: -\n", False),
        ("a: 2001-02-30\n", False),  # a date the calendar refuses: the loaders word it
    ],
)
def test_edges(text: str, read: bool) -> None:
    got = assert_agrees(text)
    assert (got is not None) is read


PLAIN_WORDS = st.sampled_from(
    ["a", "b", "kind", "yes", "no", "on", "null", "true", "1", "0777", "1_0", "x.y/z", "2001-12-14"]
)
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), TEXT, PLAIN_WORDS, st.datetimes().map(str)
)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.one_of(TEXT, PLAIN_WORDS), children, max_size=4)
    ),
    max_leaves=20,
)


def emit(value: Any, indent: int, draw_block: Any) -> list[str]:
    """`value` written the way gwpipe's templates write: block structure, keys and leaves through `tojson`
    (or as a plain word), a collection either as a block below or as JSON on its key's line."""
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            written = (
                key if isinstance(key, str) and draw_block(key) and key.replace("_", "a").isalnum() else tojson(key)
            )
            if isinstance(item, dict | list) and item and draw_block(item):
                lines.append(f"{pad}{written}:")
                lines += emit(item, indent if isinstance(item, list) else indent + 2, draw_block)
            else:
                lines.append(f"{pad}{written}: {tojson(item)}")
    else:
        for item in value:
            if isinstance(item, dict) and item and draw_block(item):
                inner = emit(item, indent + 2, draw_block)
                lines.append(f"{pad}- {inner[0][indent + 2 :]}")
                lines += inner[1:]
            elif isinstance(item, list) and item and draw_block(item):
                lines.append(f"{pad}-")
                lines += emit(item, indent + 2, draw_block)
            else:
                lines.append(f"{pad}- {tojson(item)}")
    return lines


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.dictionaries(st.one_of(TEXT, PLAIN_WORDS), VALUES, min_size=1, max_size=5),
        st.lists(VALUES, min_size=1, max_size=5),
    ),
    st.data(),
)
def test_template_shaped_texts_read_the_same(value: Any, data: st.DataObject) -> None:
    text = "\n".join(emit(value, 0, lambda _v: data.draw(st.booleans()))) + "\n"
    assert_agrees(text)


LINE_PARTS = st.tuples(
    st.sampled_from([0, 0, 1, 2, 2, 3, 4, 6]),
    st.sampled_from(["", "", "- ", "-", "- - ", "-  "]),
    st.sampled_from(
        [
            "",
            "a",
            "b",
            "yes",
            "1",
            '"q"',
            '"a b"',
            "on",
            "<<",
            "~",
            "&x a",
            "*x",
            "!!str a",
            "? a",
            "a b",
            "#",
            "a${v}",
            "${v}",
        ]
    ),
    st.sampled_from([": ", ":", " :", ": ", ":  "]),
    st.sampled_from(
        [
            "",
            "1",
            "0777",
            "1e+20",
            "1.5",
            "1_0",
            ".inf",
            ".NaN",
            "yes",
            "No",
            "~",
            "null",
            "'s'",
            '"d"',
            '"\\u00e9"',
            '"\\ud83d"',
            "[1, 2]",
            '{"a": 1}',
            '{"a":1}',
            "[1e+20]",
            "2001-12-14",
            "a b",
            "a # c",
            "# c",
            "a:b",
            "&x 1",
            "*x",
            "!!int 1",
            "|",
            ">",
            '"open',
            "-1",
            "-",
            ".5",
            "0x1F",
            "+1",
            "=",
            "12:30",
            "x ",
            "\t1",
            "{",
            "[]",
            "${v}",
            "a${v}.b",
            "x}",
            "{a}",
            "$",
            "a{b",
            "https://x.y/z",
            "a:",
            "a: b",
            "2001-12-14 21:59:43.10",
        ]
    ),
)


@settings(max_examples=500, deadline=None)
@given(st.lists(LINE_PARTS, min_size=1, max_size=8))
def test_any_line_soup_reads_the_same_or_is_declined(parts: list[tuple[int, str, str, str, str]]) -> None:
    lines = []
    for indent, dash, key, colon, rest in parts:
        lines.append(" " * indent + dash + (key + colon if key else "") + rest)
    assert_agrees("\n".join(lines) + "\n")


def test_read_many_reads_each_text_as_alone() -> None:
    texts = [
        "a: 1\n",
        "a: &x 1\nb: *x\n",  # the walk's turn
        "a: 1\n---\nb: 2\n",  # two documents: read alone
        "",
        "just a scalar\n",
        "kind: X\nwhen: 2001-12-14\n",
    ]
    got = read_many(texts)
    assert got[2] is READ_ALONE
    assert got[3] is READ_ALONE
    for text, value in zip(texts, got, strict=True):
        if value is not READ_ALONE:
            assert same(value, yaml.load(text, Loader=yaml.CSafeLoader))
    assert got[5] == {"kind": "X", "when": datetime.date(2001, 12, 14)}


def spec_walk(text: str) -> Any:
    """What the spec loader's event walk gives (its one document), or None where it declines."""
    docs = load_documents(text, MAX_DEPTH, _clean_scalar)
    return docs[0] if docs is not None and len(docs) == 1 else None


@pytest.mark.parametrize(
    ("text", "read"),
    [
        ("hosts:\n  a.example.com:\n    routes:\n    - destination:\n        host: web\n        port: 80\n", True),
        ('namespace: shop\n"preview.${domain}":\n  gateway: public\n', True),
        ("www.${domain}:\n  routes:\n  - destination:\n      host: web-${env}\n", True),
        ("a: ${x\n", True),
        ("repoURL: https://git.example.com/gitops.git\n", True),
        ("a: 1\na: 2\n", False),  # a duplicate key, which the spec loader reports
        ("1: a\n", False),  # keys are strings in a spec
        ("yes: a\n", False),
        ("a: 0777\n", False),  # an ambiguous number, which the spec loader reports
        ("a: 1_000\n", False),
        ("a: [1, 2]\n", False),
        ('a: {"k": 1}\n', False),
        ("a: b # note\n", False),
        ("a: 'x'\n", False),
        ("a: &x 1\n", False),
    ],
)
def test_spec_mode_edges(text: str, read: bool) -> None:
    got = read_block(text, _clean_scalar, MAX_DEPTH)
    assert (got is not None) is read
    if got is not None:
        assert same(got, spec_walk(text))


def test_spec_mode_declines_past_the_depth_the_walk_allows() -> None:
    deep = "".join(f"{' ' * (2 * i)}k{i}:\n" for i in range(70)) + " " * 140 + "leaf: 1\n"
    assert spec_walk(deep) is None
    assert read_block(deep, _clean_scalar, MAX_DEPTH) is None
    shallow = "".join(f"{' ' * (2 * i)}k{i}:\n" for i in range(10)) + " " * 20 + "leaf: 1\n"
    assert same(read_block(shallow, _clean_scalar, MAX_DEPTH), spec_walk(shallow))


@settings(max_examples=500, deadline=None)
@given(st.lists(LINE_PARTS, min_size=1, max_size=8))
def test_spec_mode_reads_what_the_spec_walk_reads_or_declines(parts: list[tuple[int, str, str, str, str]]) -> None:
    text = "\n".join(
        " " * indent + dash + (key + colon if key else "") + rest for indent, dash, key, colon, rest in parts
    )
    text += "\n"
    got = read_block(text, _clean_scalar, MAX_DEPTH)
    if got is not None:
        assert same(got, spec_walk(text)), text


def test_benchmark_specs_are_read_by_lines_the_same_as_by_the_walk() -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
    from render_scale import spec_text

    text = spec_text(50)
    got = read_block(text, _clean_scalar, MAX_DEPTH)
    assert got is not None
    assert same(got, spec_walk(text))
