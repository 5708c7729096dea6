"""fastyaml: the event walk gives exactly SafeLoader's values, or gives up; specs and parse-back agree with the slow paths."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from typed_equality import same

from gwpipe.spec.fastyaml import load_documents
from gwpipe.spec.yamlload import Location, load_yaml_bytes

pytestmark = pytest.mark.usefixtures("fast_paths")  # tests of the fast YAML reader itself

# plain scalars whose YAML 1.1 reading is not a string, or is easy to get wrong
TRICKY = [
    "yes", "No", "on", "OFF", "y", "n", "~", "null", "", "true", "False", "0443", "0x1F", "0b101", "12:30",
    "1_000", "1e3", "1.5e3", "-.inf", ".NaN", "2001-12-14", "2001-12-14t21:59:43.10-05:00", "=", "<<",
    "3.10", "+12", "-0", "0o17", "08", "1:20:30.5", "abc", "a b", "-", "--x", "é", "'", "x: y",
]  # fmt: skip
scalars = st.one_of(
    st.sampled_from(TRICKY),
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12),
    st.integers(),
    st.floats(allow_nan=False),
    st.booleans(),
    st.none(),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.one_of(scalars), inner, max_size=4),
    max_leaves=20,
)


def reference(text: str) -> list[Any]:
    return list(yaml.load_all(text, Loader=yaml.CSafeLoader))


@settings(max_examples=300, deadline=None)
@given(values, st.sampled_from([None, False, True]), st.sampled_from([None, "'", '"']))
def test_dumped_yaml_reads_the_same(value: Any, flow: bool | None, style: str | None) -> None:
    text = yaml.safe_dump(value, default_flow_style=flow, default_style=style, allow_unicode=True)
    fast = load_documents(text)
    if fast is None:  # only tags (styled non-strings are dumped as `!!int '0'`) or anchors make it give up
        assert "!" in text or "&" in text
    else:
        assert same(fast, reference(text))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(TRICKY), min_size=1, max_size=6))
def test_hand_written_plain_scalars_read_the_same(words: list[str]) -> None:
    """Unquoted words as template authors write them: as values, keys and list items."""
    text = "".join(f"k{i}: {w}\n" for i, w in enumerate(words)) + "l:\n" + "".join(f"- {w}\n" for w in words)
    try:
        expected = reference(text)
    except yaml.YAMLError:
        assert load_documents(text) is None
        return
    fast = load_documents(text)
    assert fast is None or same(fast, expected)


@pytest.mark.parametrize(
    "text",
    [
        "a: &x 1\nb: *x\n",  # anchor and alias
        "a: !!str 1\n",  # explicit tag
        "a: !custom x\n",  # local tag
        "base: &b {x: 1}\nc:\n  <<: *b\n",  # merge key
        "? [1, 2]\n: x\n",  # collection key
        "a: =\n",  # the YAML 1.1 value tag, which SafeLoader cannot construct
        "a: [1, 2\n",  # a syntax error: the full loader words it
    ],
)
def test_gives_up_where_the_full_loader_decides(text: str) -> None:
    assert load_documents(text) is None


def test_several_documents_and_empty_ones() -> None:
    text = "---\na: 1\n---\n# nothing\n---\n- x\n"
    assert load_documents(text) == reference(text) == [{"a": 1}, None, ["x"]]


def test_duplicate_keys_last_wins_as_in_safeloader() -> None:
    assert load_documents("a: 1\na: 2\n") == reference("a: 1\na: 2\n") == [{"a": 2}]


def test_timestamps_and_special_floats() -> None:
    docs = load_documents("d: 2001-12-14\nt: 2001-12-14 21:59:43.10\nf: .inf\n")
    assert docs == [
        {"d": datetime.date(2001, 12, 14), "t": datetime.datetime(2001, 12, 14, 21, 59, 43, 100000), "f": float("inf")}
    ]


def test_spec_rules_give_up_on_duplicates_and_non_string_keys() -> None:
    def accept(tag: str, raw: str, value: object) -> bool:
        return True

    assert load_documents("a: 1\na: 2\n", spec_rules=accept) is None
    assert load_documents("1: x\n", spec_rules=accept) is None
    assert load_documents("a: {b: 1}\n", spec_rules=accept) == [{"a": {"b": 1}}]


def test_depth_limit_gives_up() -> None:
    assert load_documents("a: " + "[" * 10 + "]" * 10 + "\n", max_depth=5) is None
    assert load_documents("a: [[1]]\n", max_depth=5) == [{"a": [[1]]}]


SPECS = [
    "a:\n  b: [1, 'x']\n  c: yes\n",
    "hosts:\n  shop.example.com:\n    routes:\n      - destination: {host: web, port: 8080}\n",
    'x: 2001-12-14\ny: "0443"\nz: ~\n',
]


@pytest.mark.parametrize("text", SPECS)
def test_fast_spec_load_has_the_slow_locations(text: str) -> None:
    """A clean spec takes the one-pass path; its locations, worked out on demand, are the full builder's."""
    from gwpipe.spec import yamlload

    fast = load_yaml_bytes(text.encode(), "s.yaml")
    assert isinstance(fast.locations, yamlload.LazyLocations)
    slow = yamlload._load_located(text, "s.yaml")
    assert fast.data == slow.data
    assert dict(fast.locations) == dict(slow.locations)


def test_spec_location_of_a_fast_loaded_value() -> None:
    loaded = load_yaml_bytes(b"a:\n  b: [1, 'x']\n", "s.yaml")
    assert loaded.locations[("a", "b", 1)] == Location("s.yaml", 2, 10, "x")


def test_nan_keys_as_safeloader_reads_them() -> None:
    text = "{.nan: 1, .nan: 2}\n"
    assert str(load_documents(text)) == str(reference(text))
