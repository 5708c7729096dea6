"""yamlload: safe parsing with locations, and every refusal with its exact message."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gwpipe.errors import SpecError
from gwpipe.spec.yamlload import MAX_ALIASES, MAX_DEPTH, Location, format_path, load_yaml_bytes, load_yaml_file


def problems(raw: bytes | str) -> list[str]:
    with pytest.raises(SpecError) as info:
        load_yaml_bytes(raw.encode() if isinstance(raw, str) else raw, "s.yaml")
    return [str(p) for p in info.value.problems]


def test_locations_of_every_value() -> None:
    loaded = load_yaml_bytes(b"a:\n  b: [1, 'x']\n  c: yes\n", "s.yaml")
    assert loaded.data == {"a": {"b": [1, "x"], "c": True}}
    assert loaded.locations[("a",)] == Location("s.yaml", 2, 3, None)
    assert loaded.locations[("a", "b", 1)] == Location("s.yaml", 2, 10, "x")
    assert loaded.locations[("a", "c")] == Location("s.yaml", 3, 6, "yes")


def test_duplicate_key_names_both_lines() -> None:
    assert problems("a: 1\nb: 2\na: 3\n") == ["s.yaml:3:1: a: duplicate key 'a' (first defined at line 1)"]


def test_duplicate_key_nested() -> None:
    assert problems("x:\n  tls: 1\n  tls: 2\n") == ["s.yaml:3:3: x.tls: duplicate key 'tls' (first defined at line 2)"]


def test_all_builder_problems_at_once() -> None:
    assert problems("a: 1\na: 2\nb: !!python/name:os.system\nc: 0x1F\n") == [
        "s.yaml:2:1: a: duplicate key 'a' (first defined at line 1)",
        "s.yaml:3:4: b: YAML tag tag:yaml.org,2002:python/name:os.system is not allowed in a spec",
        "s.yaml:4:4: c: ambiguous number '0x1F' (YAML 1.1 reads it as 31); write it plainly or quote it",
    ]


@pytest.mark.parametrize(
    ("raw", "value"),
    [("0443", 291), ("12:30", 750), ("1_000", 1000), ("0b11", 3), ("-017", -15)],
)
def test_ambiguous_integers(raw: str, value: int) -> None:
    assert problems(f"n: {raw}\n") == [
        f"s.yaml:1:4: n: ambiguous number '{raw}' (YAML 1.1 reads it as {value}); write it plainly or quote it"
    ]


@pytest.mark.parametrize(("raw", "value"), [("443", 443), ("0", 0), ("-5", -5), ('"0443"', "0443"), ("1e3", "1e3")])
def test_plain_numbers_and_quoted_strings_pass(raw: str, value: object) -> None:
    assert load_yaml_bytes(f"n: {raw}\n".encode(), "s.yaml").data == {"n": value}


def test_yaml_11_values_are_typed_not_rejected_here() -> None:
    """`no`, `3.10` and dates load as YAML 1.1 types; the schema (test_validate) refuses them in string fields."""
    data = load_yaml_bytes(b"a: no\nb: 3.10\nc: 2024-01-15\n", "s.yaml").data
    assert data["a"] is False
    assert data["b"] == 3.1
    assert str(data["c"]) == "2024-01-15"


def test_merge_keys_refused() -> None:
    assert problems("base: &b {x: 1}\nother:\n  <<: *b\n") == [
        "s.yaml:3:3: other: merge keys (<<) are not allowed in a spec"
    ]


def test_non_string_keys_refused() -> None:
    assert problems("1: a\n") == ["s.yaml:1:1: mapping keys must be strings, got '1'; quote it"]
    assert problems("? [a]\n: b\n") == ["s.yaml:1:3: mapping keys must be strings, got 'a collection'; quote it"]


def test_alias_uses_capped() -> None:
    items = ", ".join(["*a"] * (MAX_ALIASES + 1))
    assert problems(f"x: &a 1\ny: [{items}]\n") == [
        f"s.yaml:1:4: y[{MAX_ALIASES}]: more than {MAX_ALIASES} YAML alias uses"
    ]


def test_a_few_aliases_in_a_large_spec_are_fine() -> None:
    body = "".join(f"k{i}: {i}\n" for i in range(300))
    assert load_yaml_bytes(f"{body}base: &b {{p: 1}}\nuse: *b\n".encode(), "s.yaml").data["use"] == {"p": 1}


def test_depth_capped_with_location() -> None:
    text = "a: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n"
    [message] = problems(text)
    assert re.fullmatch(rf"s\.yaml:1:\d+: a(\[0\])+: nesting too deep \(more than {MAX_DEPTH} levels\)", message)


@pytest.mark.parametrize("raw", [b"", b"# only a comment\n", b"---\n", b"--- ~\n", b"---\n---\n"])
def test_empty_specs(raw: bytes) -> None:
    assert problems(raw) == ["s.yaml: spec is empty"]


def test_second_document() -> None:
    assert problems("a: 1\n---\nb: 2\n") == ["s.yaml:3:1: a spec holds one YAML document; found a second"]


@pytest.mark.parametrize("raw", ["- a\n", "just text\n", "42\n"])
def test_root_must_be_a_mapping(raw: str) -> None:
    assert problems(raw) == ["s.yaml:1:1: spec must be a mapping of keys to values"]


def test_encoding_and_control_characters() -> None:
    assert problems(b"a: 1\nb: \xc3\x28\n") == ["s.yaml:2:4: invalid UTF-8 at byte 8"]
    assert problems(b"\xef\xbb\xbfa: 1\n") == ["s.yaml:1:1: byte-order mark found; save the file as UTF-8 without BOM"]
    assert problems(b"a: 1\nb: x\x07\n") == ["s.yaml:2:5: control character U+0007 not allowed"]
    assert problems('a: "x\\u0007"\n') == ["s.yaml:1:4: a: control character U+0007 not allowed in a value"]


def test_tab_and_syntax_errors_located() -> None:
    assert problems("a:\n\tb: 1\n") == ["s.yaml:2:1: invalid YAML: tab character; indent with spaces"]
    assert problems("a: [1, 2\n") == ["s.yaml:2:1: invalid YAML: did not find expected ',' or ']'"]


def test_file_size_limit(tmp_path: pytest.TempPathFactory) -> None:
    path = tmp_path / "big.yaml"  # type: ignore[operator]
    path.write_bytes(b"a: " + b"x" * 100 + b"\n")
    with pytest.raises(SpecError) as info:
        load_yaml_file(str(path), "big.yaml", max_bytes=50)
    assert [str(p) for p in info.value.problems] == [
        "big.yaml: file exceeds the size limit of 50 bytes; split it: move part of a large mapping such as `hosts` "
        "into a base file named by `extends` (bases merge key by key, up to 8 levels) or into another environment; "
        "see docs/speed.md, Large fleets"
    ]
    with pytest.raises(SpecError) as info:
        load_yaml_file(str(path) + ".missing", "gone.yaml")
    assert [str(p) for p in info.value.problems] == ["gone.yaml: cannot read spec: No such file or directory"]


def test_format_path() -> None:
    assert format_path(("hosts", "a.example.com", "routes", 0, "tls")) == 'hosts["a.example.com"].routes[0].tls'
    assert format_path(()) == ""


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cc"]), max_size=40))
def test_any_quoted_string_round_trips(value: str) -> None:
    import yaml

    loaded = load_yaml_bytes(yaml.safe_dump({"v": value}).encode(), "s.yaml")
    assert loaded.data == {"v": value}
