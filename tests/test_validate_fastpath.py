"""The JSON Schema fast path of spec validation: it proves valid exactly what cerberus and the secret scan accept."""

from __future__ import annotations

import base64
import datetime
import decimal
import math
import re
from pathlib import Path
from typing import Any

import pluggy
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    NoEncryption,
    PrivateFormat,
    pkcs12,
)
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from test_validate import _Fragment

from gwpipe.checks.secrets import SECRET_HINT, find_secrets
from gwpipe.errors import SpecError
from gwpipe.hooks.manager import create_manager
from gwpipe.spec import fastvalidate
from gwpipe.spec.cerberusrules import SpecValidator, schema_problems
from gwpipe.spec.fastvalidate import FastValidator, Unsupported
from gwpipe.spec.load import Spec, load_spec
from gwpipe.spec.validate import SpecSchema, _secret_problems, build_schema, validate_spec

pytestmark = pytest.mark.usefixtures("fast_paths")  # tests of the fast validation twin itself

_KEY = ec.generate_private_key(ec.SECP256R1())
PEM_KEY = _KEY.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
DER_B64 = base64.b64encode(_KEY.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())).decode()
SECRETS = [PEM_KEY, DER_B64, "-----BEGIN RSA PRIVATE KEY-----", base64.b64encode(PEM_KEY.encode()).decode()[:60]]
NOW = datetime.datetime(2025, 1, 2, 3, 4, 5)
SLOW = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


def _merged_schema() -> SpecSchema:
    with pytest.MonkeyPatch.context() as patch:  # built on import, before `fast_paths` applies
        patch.setenv("GWPIPE_FAST", "1")
        return build_schema(create_manager(entry_points=False))


SCHEMA = _merged_schema()


def _slow_twin(schema: SpecSchema) -> SpecSchema:
    twin = SpecSchema.__new__(SpecSchema)
    twin.__dict__.update(schema.__dict__, fast=None, _validator=None, _split={})
    return twin


def _has_secret(value: Any) -> bool:
    if isinstance(value, str):
        return bool(find_secrets(value))
    if isinstance(value, dict):
        return any(_has_secret(k) or _has_secret(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_secret(v) for v in value)
    return False


def _unjudged(value: Any) -> bool:
    """Holds a value the fast path leaves to cerberus even where it is valid: a date, NaN or infinity."""
    if isinstance(value, datetime.date) or (isinstance(value, float) and not math.isfinite(value)):
        return True
    if isinstance(value, dict):
        return any(_unjudged(v) for v in value.values())
    if isinstance(value, list):
        return any(_unjudged(v) for v in value)
    return False


def _cerberus_valid(schema: dict[str, Any], document: dict[str, Any]) -> bool:
    return bool(SpecValidator(schema).validate(document, normalize=False))


# --- documents generated from a cerberus schema: mostly valid, each node sometimes slightly wrong ---

_WRONG = st.sampled_from([None, True, 1, 1.0, 0, -1, "", "x", " x", "X_Y", [], {}, ["x"], {"k": "v"}, NOW, NOW.date()])
_ODD_TEXT = st.one_of(
    st.sampled_from(["", " ", "a\n", "A", "-a", "a-", "a" * 64, "*", "1.2.3", "5x", "/", "/tmp/a b", "$x", *SECRETS]),
    st.text(max_size=8),
)


def _near(strategy: st.SearchStrategy[Any], *wrong: st.SearchStrategy[Any], rate: int = 12) -> st.SearchStrategy[Any]:
    """`strategy`, or now and then (1 in `rate` for each of `wrong`) something from one of `wrong`."""
    return st.integers(0, rate - 1).flatmap(lambda n: wrong[n] if n < len(wrong) else strategy)


def _strings(rules: dict[str, Any]) -> st.SearchStrategy[str]:
    if "allowed" in rules:
        return st.sampled_from(list(rules["allowed"]))
    if "regex" in rules:
        matching = st.from_regex(rules["regex"], fullmatch=True)
        if "maxlength" in rules:
            matching = matching.filter(lambda s: len(s) <= rules["maxlength"])
        return matching
    return st.text(st.characters(codec="utf-8"), max_size=6)


def _almost_strings(good: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    """Strings one step off: a final newline (re.match with `$` would pass it), case, padding, key material."""
    return st.one_of(
        good.map(lambda s: s + "\n"),
        good.map(str.upper),
        good.map(lambda s: f" {s}"),
        good.map(lambda s: s * 40),
        st.sampled_from(["", *SECRETS]),
    )


def _integers(rules: dict[str, Any]) -> st.SearchStrategy[int]:
    low, high = math.floor(rules.get("min", -3)), math.ceil(rules.get("max", 70000))
    return st.one_of(st.integers(low, high), st.sampled_from([low - 1, low, high, high + 1]))


def _almost_integers(good: st.SearchStrategy[int]) -> st.SearchStrategy[Any]:
    """Numbers JSON Schema calls integers and cerberus does not: 80.0, True, Decimal, '80'."""
    return st.one_of(good.map(float), st.booleans(), good.map(decimal.Decimal), good.map(str))


def _types(rules: dict[str, Any]) -> list[str]:
    declared = rules.get("type", "string")
    return [declared] if isinstance(declared, str) else list(declared)


def values(rules: dict[str, Any], depth: int = 0, rate: int = 12) -> st.SearchStrategy[Any]:
    """Values for one cerberus rules set."""
    options: list[st.SearchStrategy[Any]] = []
    for name in _types(rules):
        if name == "string":
            options.append(_strings(rules))
        elif name == "integer":
            options.append(_integers(rules))
        elif name == "number":
            options.append(st.one_of(_integers(rules), st.floats(-5, 5, allow_nan=False)))
        elif name == "boolean":
            options.append(st.booleans())
        elif name in ("date", "datetime"):
            options.append(st.just(NOW if name == "datetime" else NOW.date()))
        elif name == "dict":
            options.append(_mappings(rules, depth, rate))
        elif name == "list":
            item = values(rules["schema"], depth + 1, rate) if "schema" in rules else _ODD_TEXT
            options.append(st.lists(item, min_size=rules.get("minlength", 0), max_size=3))
    wrong = st.one_of(_WRONG, _ODD_TEXT) if depth < 4 else _WRONG
    return _near(st.one_of(options), wrong, almost(rules), rate=rate)


def almost(rules: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values one step off a rules set: the mistakes a translation to JSON Schema would most easily miss."""
    options: list[st.SearchStrategy[Any]] = [_WRONG]
    for name in _types(rules):
        if name == "string":
            options.append(_almost_strings(_strings(rules)))
        elif name == "integer":
            options.append(_almost_integers(_integers(rules)))
        elif name == "number":
            options.append(st.sampled_from([math.nan, math.inf, True, decimal.Decimal(1)]))
        elif name == "boolean":
            options.append(st.sampled_from([0, 1, "true"]))
        elif name == "dict":
            options.append(st.just({}))
        elif name == "list":
            options.append(st.sampled_from([[], [None]]))
    return st.one_of(options)


def _mappings(rules: dict[str, Any], depth: int, rate: int) -> st.SearchStrategy[dict[str, Any]]:
    if "schema" in rules:
        return documents(rules["schema"], depth + 1, rate)
    keys = _strings(rules["keysrules"]) if "keysrules" in rules else st.text(max_size=4)
    items = values(rules["valuesrules"], depth + 1, rate) if "valuesrules" in rules else _ODD_TEXT
    return st.dictionaries(
        _near(keys, _ODD_TEXT, _almost_strings(keys), rate=rate), items, min_size=rules.get("minlength", 0), max_size=3
    )


def documents(fields: dict[str, Any], depth: int = 0, rate: int = 12) -> st.SearchStrategy[dict[str, Any]]:
    """Mappings for one cerberus field table: required fields usually present, others sometimes, extras rarely."""
    required = {k: values(r, depth, rate) for k, r in fields.items() if r.get("required")}
    optional = {k: values(r, depth, rate) for k, r in fields.items() if not r.get("required")}
    base = st.fixed_dictionaries(required, optional=optional)
    extra = st.dictionaries(_ODD_TEXT, _WRONG, max_size=1)

    def mutate(doc: dict[str, Any], drop: int, more: dict[str, Any]) -> dict[str, Any]:
        doc = dict(doc)
        if drop == 0 and doc:
            doc.pop(sorted(doc)[0])
        doc.update(more)
        return doc

    return st.builds(mutate, base, st.integers(0, rate + 3), _near(st.just({}), extra, rate=rate))


# --- the real merged schema: fast vs slow on generated specs ---


def _nodes(value: Any, rules: dict[str, Any], path: tuple[Any, ...]) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
    """Every value in a document with the rules set cerberus checks it against."""
    found = [(path, rules)]
    if isinstance(value, dict) and isinstance(rules.get("schema"), dict) and "dict" in _types(rules):
        for key, item in value.items():
            if key in rules["schema"]:
                found.extend(_nodes(item, rules["schema"][key], (*path, key)))
    elif isinstance(value, dict) and "valuesrules" in rules:
        for key, item in value.items():
            found.extend(_nodes(item, rules["valuesrules"], (*path, key)))
    elif isinstance(value, list) and "schema" in rules:
        for index, item in enumerate(value):
            found.extend(_nodes(item, rules["schema"], (*path, index)))
    return found


def _changed(value: Any, rules: dict[str, Any], root: bool) -> st.SearchStrategy[Any]:
    """`value` one step off: an almost-right value, or for a mapping one key dropped, misspelt or added."""
    options = [] if root else [almost(rules)]
    if isinstance(value, dict) and value:
        options.append(st.sampled_from(sorted(value)).map(lambda k: {x: v for x, v in value.items() if x != k}))
        options.append(st.sampled_from(sorted(value)).map(lambda k: {**value, k.upper() + "_": value[k]}))
    if isinstance(value, dict) and "keysrules" in rules:
        options.append(
            _almost_strings(_strings(rules["keysrules"])).map(lambda k: {**value, k: next(iter(value.values()), "x")})
        )
    if isinstance(value, dict):
        options.append(st.sampled_from(SECRETS).map(lambda k: {**value, k: "x"}))
    return st.one_of(options)


def _replaced(document: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(document, list):
        return [_replaced(v, rest, new) if i == head else v for i, v in enumerate(document)]
    return {k: _replaced(v, rest, new) if k == head else v for k, v in document.items()}


@st.composite
def one_change(draw: st.DrawFn, fields: dict[str, Any]) -> dict[str, Any]:
    """A valid document (as far as the generator knows), then exactly one value in it changed (or none)."""
    document = draw(documents(fields, rate=10**9))
    if draw(st.integers(0, 4)) == 0:
        return document
    path, rules = draw(st.sampled_from(_nodes(document, {"type": "dict", "schema": fields}, ())))
    node: Any = document
    for part in path:
        node = node[part]
    changed: dict[str, Any] = _replaced(document, path, draw(_changed(node, rules, root=not path)))
    return changed


@SLOW
@given(st.one_of(one_change(SCHEMA.schema), documents(SCHEMA.schema, rate=40)))
def test_fast_path_agrees_with_cerberus_and_the_secret_scan(document: dict[str, Any]) -> None:
    spec = Spec("test", "env.yaml", document)
    slow = _secret_problems(spec, document, ()) + schema_problems(spec, SCHEMA)
    fast = SCHEMA.fast
    assert fast is not None
    if fast.proves_valid(document):
        assert slow == []
    elif not _unjudged(document):
        assert slow != []


def _outcome(spec: Spec, schema: SpecSchema, pm: pluggy.PluginManager) -> list[str] | str:
    try:
        validate_spec(spec, schema, pm)
    except SpecError as exc:
        return [str(p) for p in exc.problems]
    except Exception as exc:  # noqa: BLE001 - a plugin hook failing on a strange valid spec must fail alike
        return f"{type(exc).__name__}: {exc}"
    return []


@SLOW
@given(st.one_of(one_change(SCHEMA.schema), documents(SCHEMA.schema, rate=40)))
def test_validate_spec_gives_identical_problems_with_and_without_fast_path(document: dict[str, Any]) -> None:
    pm = create_manager(entry_points=False)
    spec = Spec("test", "env.yaml", document)
    assert _outcome(spec, SCHEMA, pm) == _outcome(spec, _slow_twin(SCHEMA), pm)


def test_bench_shaped_spec_passes_fast_and_large_invalid_spec_reports_like_before(tmp_path: Path) -> None:
    hosts = "".join(
        f"  app{i}.example.com:\n    gateway: web\n    routes:\n      - destination: {{host: app{i}, port: 80}}\n"
        for i in range(450)
    )
    text = "namespace: shop\ngateways:\n  web:\n    selector: {istio: ingressgateway}\nhosts:\n" + hosts
    path = tmp_path / "env.yaml"
    path.write_text(text)
    spec = load_spec(path, tmp_path)
    assert SCHEMA.fast is not None
    assert SCHEMA.fast.proves_valid(spec.data)
    path.write_text(text.replace("port: 80}", "port: 0}", 1).replace("gateway: web", "gateway: Web", 2))
    spec = load_spec(path, tmp_path)
    pm = create_manager(entry_points=False)
    assert (
        _outcome(spec, SCHEMA, pm)
        == _outcome(spec, _slow_twin(SCHEMA), pm)
        == [
            f"{path}:7:14: hosts[\"app0.example.com\"].gateway: invalid value, got 'Web'; expected a DNS-1123 label",
            f'{path}:9:41: hosts["app0.example.com"].routes[0].destination.port: must be at least 1, got 0',
            f"{path}:11:14: hosts[\"app1.example.com\"].gateway: invalid value, got 'Web'; expected a DNS-1123 label",
        ]
    )


# --- each translated rule against cerberus, value by value ---

LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
RULE_CASES: list[tuple[dict[str, Any], Any, bool]] = [
    ({"type": "integer"}, 5, True),
    ({"type": "integer"}, True, False),
    ({"type": "integer"}, 5.0, False),
    ({"type": "integer"}, decimal.Decimal(5), False),
    ({"type": "integer"}, 2**70, True),
    ({"type": "number"}, 2.5, True),
    ({"type": "number"}, False, False),
    ({"type": "number"}, decimal.Decimal("2.5"), False),
    ({"type": "string"}, None, False),
    ({"type": "string", "nullable": True}, None, True),
    ({"type": "string", "nullable": True, "allowed": ["a"]}, None, True),
    ({"regex": "a"}, None, False),
    ({}, None, False),
    ({}, [1, {"x": None}], True),
    ({"type": ["integer", "string"]}, "80", True),
    ({"type": ["integer", "string"]}, [80], False),
    ({"type": "string", "regex": LABEL}, "shop", True),
    ({"type": "string", "regex": LABEL}, "shop\n", False),
    ({"type": "string", "regex": LABEL}, "", False),
    ({"type": "string", "regex": r"a|ab"}, "ab", True),
    ({"type": "string", "regex": r"\S(.*\S)?"}, "a\u00a0", False),
    ({"type": "string", "regex": r"\S(.*\S)?"}, "a\u00e9", True),
    ({"type": "string", "regex": LABEL, "empty": True}, "", True),
    ({"type": "string", "regex": LABEL, "empty": False}, "", False),
    ({"type": "string", "empty": False}, "x", True),
    ({"type": "list", "empty": False}, [], False),
    ({"type": "dict", "empty": False}, {}, False),
    ({"type": "list", "minlength": 1, "empty": True}, [], True),
    ({"type": "list", "minlength": 1}, [], False),
    ({"type": "string", "minlength": 2}, "ab", True),
    ({"type": "string", "minlength": 2}, "a", False),
    ({"type": "string", "maxlength": 2}, "\u00e9\u00e9", True),
    ({"type": "string", "maxlength": 2}, "abc", False),
    ({"type": "dict", "maxlength": 1}, {"a": 1, "b": 2}, False),
    ({"type": "list", "maxlength": 1}, [1], True),
    ({"type": "integer", "min": 1, "max": 65535}, 0, False),
    ({"type": "integer", "min": 1, "max": 65535}, 65535, True),
    ({"type": "integer", "min": 1, "max": 65535}, 65536, False),
    ({"type": "integer", "min": 1}, -(2**70), False),
    ({"type": ["integer", "string"], "min": 1}, "0", True),
    ({"type": "number", "max": 1.5}, 1.6, False),
    ({"type": "string", "allowed": ["TCP", "UDP"]}, "TCP", True),
    ({"type": "string", "allowed": ["TCP", "UDP"]}, "tcp", False),
    ({"type": "list", "allowed": ["a", "b"]}, ["a", "b"], True),
    ({"type": "list", "allowed": ["a", "b"]}, ["a", "c"], False),
    ({"type": "dict", "allowed": ["a"]}, {"a": 1}, True),
    ({"type": "dict", "allowed": ["a"]}, {"b": 1}, False),
    ({"type": "list", "schema": {"type": "integer"}}, [1, 2], True),
    ({"type": "list", "schema": {"type": "integer"}}, [1, None], False),
    ({"type": "list", "schema": {"type": "integer"}}, (1, 2), True),
    ({"type": "dict", "schema": {"a": {"type": "string", "required": True}}}, {"a": "x"}, True),
    ({"type": "dict", "schema": {"a": {"type": "string", "required": True}}}, {}, False),
    ({"type": "dict", "schema": {"a": {"type": "string", "required": True}}}, {"a": None}, False),
    ({"type": "dict", "schema": {"a": {"type": "string"}}}, {"b": "x"}, False),
    ({"type": "dict", "schema": {"a": {"type": "string"}}, "allow_unknown": True}, {"b": [None]}, True),
    ({"type": "dict", "schema": {"a": {"type": "dict", "schema": {}}}, "allow_unknown": True}, {"a": {"z": 1}}, True),
    ({"type": "list", "schema": {"type": "dict", "schema": {}, "allow_unknown": True}}, [{"z": 1}], True),
    ({"type": "dict", "allow_unknown": True, "valuesrules": {"type": "dict", "schema": {}}}, {"a": {"z": 1}}, False),
    ({"type": "dict", "keysrules": {"type": "string", "regex": LABEL}}, {"ok": 1, "Bad": 2}, False),
    ({"type": "dict", "keysrules": {"type": "string", "regex": LABEL}}, {"ok": 1}, True),
    ({"type": "dict", "keysrules": {"type": "integer"}}, {"1": 1}, False),
    ({"type": "dict", "valuesrules": {"type": "string"}}, {"a": "x", "b": 2}, False),
    ({"type": "dict", "valuesrules": {"type": "string"}, "schema": {"a": {"type": "string"}}}, {"a": "x"}, True),
    ({"type": "dict", "valuesrules": {"type": "integer"}, "schema": {"a": {"type": "string"}}}, {"a": "x"}, False),
    ({"type": "dict", "valuesrules": {"type": "string", "required": True}}, {"a": "x"}, True),
    ({"type": ["string", "date", "datetime"]}, "2025-01-01", True),
    ({"type": "boolean"}, 0, False),
]


@pytest.mark.parametrize(("rules", "value", "valid"), RULE_CASES)
def test_each_translated_rule_rejects_what_cerberus_rejects(rules: dict[str, Any], value: Any, valid: bool) -> None:
    schema = {"f": rules}
    assert _cerberus_valid(schema, {"f": value}) is valid
    assert FastValidator(schema).proves_valid({"f": value}) is valid


@pytest.mark.parametrize(
    ("schema", "document", "valid"),
    [
        ({"a": {"type": "string", "excludes": "b"}, "b": {"type": "string"}}, {"a": "x"}, True),
        ({"a": {"type": "string", "excludes": "b"}, "b": {"type": "string"}}, {"a": "x", "b": "y"}, False),
        ({"a": {"type": "string", "excludes": ["b", "c"]}, "c": {}}, {"a": "x", "c": "y"}, False),
        ({"a": {"type": "string", "excludes": "b"}, "b": {"type": "string", "required": True}}, {"a": "x"}, False),
        ({"a": {"type": "string", "excludes": "b"}, "b": {"type": "string", "required": True}}, {"b": "x"}, True),
        ({"a": {"type": "string", "dependencies": "b"}, "b": {"nullable": True}}, {"a": "x", "b": None}, True),
        ({"a": {"type": "string", "dependencies": ["b"]}, "b": {"type": "string"}}, {"a": "x"}, False),
        ({"a": {"type": "string", "dependencies": ["b"]}, "b": {"type": "string"}}, {"b": "x"}, True),
        ({"a": {"type": "date"}}, {"a": NOW.date()}, None),
        ({"a": {"type": "string"}}, {"a": {1, 2}}, None),
        ({"a": {"type": "dict"}}, {"a": {1: "x"}}, None),
        ({"a": {"type": "string"}}, {"a": "\ud800"}, None),
    ],
)
def test_mapping_rules_and_values_the_fast_path_cannot_take(
    schema: dict[str, Any], document: dict[str, Any], valid: bool | None
) -> None:
    """None: cerberus decides (the fast path says "not proven", never "valid")."""
    assert FastValidator(schema).proves_valid(document) is bool(valid)
    if valid is not None:
        assert _cerberus_valid(schema, document) is valid


def test_key_material_anywhere_is_never_proven_valid() -> None:
    schema = {"a": {"type": "dict"}, "b": {"type": "dict", "valuesrules": {"type": "string"}}, "c": {"type": "string"}}
    fast = FastValidator(schema)
    assert fast.proves_valid({"a": {"x": ["y", {"z": "not a key"}]}, "b": {"k": "v"}, "c": "B" * 39})
    for secret in SECRETS:
        assert _cerberus_valid(schema, {"c": secret})
        assert not fast.proves_valid({"c": secret})
        assert not fast.proves_valid({"a": {"x": [{"z": secret}]}})
        assert not fast.proves_valid({"a": {secret: 1}})
        assert not fast.proves_valid({"b": {secret: "v"}})


_FRAGMENTS = st.sampled_from(
    ["-----BEGIN", " RSA", " PRIVATE KEY", "-----", "LS0tLS1CRUdJTi", "openssh-key-v1", "MII", "A" * 20, "=", "\n"]
    + [DER_B64[i : i + 16] for i in range(0, 64, 16)]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_FRAGMENTS, st.text(max_size=4)), max_size=8).map("".join))
def test_secret_hint_is_present_wherever_find_secrets_finds_key_material(text: str) -> None:
    if find_secrets(text):
        assert re.search(SECRET_HINT, text)
        assert not FastValidator({"c": {"type": "string"}}).proves_valid({"c": text})


def _key_texts() -> dict[str, str]:
    ed = ed25519.Ed25519PrivateKey.generate()
    b64 = {
        "pkcs12": pkcs12.serialize_key_and_certificates(b"x", _KEY, None, None, NoEncryption()),
        "encrypted pkcs8 der": _KEY.private_bytes(Encoding.DER, PrivateFormat.PKCS8, BestAvailableEncryption(b"p")),
        "sec1 der": _KEY.private_bytes(Encoding.DER, PrivateFormat.TraditionalOpenSSL, NoEncryption()),
        "ed25519 pkcs8 der": ed.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption()),
    }
    texts = {name: base64.b64encode(data).decode() for name, data in b64.items()}
    texts["openssh"] = ed.private_bytes(Encoding.PEM, PrivateFormat.OpenSSH, NoEncryption()).decode()
    texts["escaped pem in json"] = PEM_KEY.replace("\n", "\\n")
    texts["pem in prose"] = f"key: {PEM_KEY[:80]} (truncated)"
    return texts


KEY_TEXTS = _key_texts()


@pytest.mark.parametrize("kind", sorted(KEY_TEXTS))  # ids by kind: the keys differ in each xdist worker
def test_every_kind_of_key_material_is_caught_by_the_hint(kind: str) -> None:
    text = KEY_TEXTS[kind]
    assert find_secrets(text), kind
    assert re.search(SECRET_HINT, text)
    fast = FastValidator({"c": {"type": "string"}, "d": {"type": "dict"}})
    assert not fast.proves_valid({"c": text})
    assert not fast.proves_valid({"d": {text: "x"}})


def test_spec_with_key_material_reports_the_redacted_problem(tmp_path: Path) -> None:
    path = tmp_path / "env.yaml"
    path.write_text(f"namespace: shop\ntemplates: {DER_B64}\n")
    pm = create_manager(entry_points=False)
    with pytest.raises(SpecError) as info:
        validate_spec(load_spec(path, tmp_path), build_schema(pm), pm)
    assert [str(p).split(": ", 1)[1] for p in info.value.problems] == [
        f"templates: contains a DER private key (PKCS#8) (value redacted, {len(DER_B64)} bytes)"
    ]


# --- generated cerberus schemas: the translation is exact for every rule it accepts ---

_PATTERNS = [LABEL, r"\S(.*\S)?", r"/\S*", r"[A-Z_][A-Z0-9_]*", r"[0-9]+(\.[0-9]+)?(ms|s|m|h)", r"x|xy"]
_FIELD = st.sampled_from(["a", "b", "c"])


@st.composite
def rules_sets(draw: st.DrawFn, depth: int = 0, siblings: bool = False) -> dict[str, Any]:
    kinds = ["string", "integer", "number", "boolean"] + (["dict", "list"] if depth < 2 else [])
    types = draw(st.lists(st.sampled_from([*kinds, "datetime"]), min_size=1, max_size=2, unique=True))
    rules: dict[str, Any] = {"type": types[0] if len(types) == 1 else types}
    flags = draw(st.sets(st.sampled_from(["nullable", "empty", "required", "minlength", "maxlength", "excludes"])))
    for flag in flags & {"nullable", "empty", "required"}:
        rules[flag] = draw(st.booleans())
    for flag in flags & {"minlength", "maxlength"}:
        rules[flag] = draw(st.integers(0, 2))
    if "string" in types:
        choice = draw(st.sampled_from(["regex", "allowed", None]))
        if choice == "regex":
            rules["regex"] = draw(st.sampled_from(_PATTERNS))
        elif choice == "allowed":
            rules["allowed"] = draw(st.lists(st.sampled_from(["x", "xy", "TCP", ""]), min_size=1, unique=True))
    if set(types) <= {"integer", "number", "string"} and draw(st.booleans()):
        rules["min"], rules["max"] = draw(st.sampled_from([(0, 1), (1, 65535), (-2, 2.5)]))
    shape = {"dict", "list"} & set(types)
    if shape == {"dict"}:
        choice = draw(st.sampled_from(["schema", "keysrules", "valuesrules", None]))
        if choice == "schema":
            rules["schema"] = draw(field_tables(depth + 1))
            if draw(st.booleans()):
                rules["allow_unknown"] = draw(st.booleans())
        elif choice:
            rules[choice] = draw(rules_sets(depth + 1))
    elif shape == {"list"} and draw(st.booleans()):
        rules["schema"] = draw(rules_sets(depth + 1))
    if siblings and "excludes" in flags and not rules.get("required"):
        rules["excludes"] = draw(_FIELD)
    elif siblings and draw(st.integers(0, 5)) == 0:
        rules["dependencies"] = draw(st.lists(_FIELD, min_size=1, max_size=2, unique=True))
    return rules


@st.composite
def field_tables(draw: st.DrawFn, depth: int = 0) -> dict[str, Any]:
    names = draw(st.lists(_FIELD, max_size=3, unique=True))
    return {name: draw(rules_sets(depth, siblings=True)) for name in names}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_generated_schemas_translate_exactly(data: st.DataObject) -> None:
    schema = data.draw(field_tables())
    fast = FastValidator(schema)
    SpecValidator(schema)  # what the translation accepts, cerberus accepts as a schema
    document = data.draw(documents(schema))
    assume(not _unjudged(document))
    expected = _cerberus_valid(schema, document) and not _has_secret(document)
    assert fast.proves_valid(document) is expected


# --- rules the translation does not know: cerberus judges every spec ---


def _even(field: str, value: Any, error: Any) -> None:
    if value % 2:
        error(field, "must be even")


@pytest.mark.parametrize(
    ("rules", "bad", "messages"),
    [
        ({"type": "integer", "check_with": _even}, "extra: 3\n", ["extra: invalid value"]),
        ({"type": "string", "forbidden": ["root"]}, "extra: root\n", ["extra: unallowed value 'root'"]),
        (
            {"anyof": [{"type": "integer"}, {"type": "boolean"}]},
            "extra: x\n",
            ["extra: expected integer, got string", "extra: expected boolean, got string"],
        ),
        ({"type": "integer", "allowed": [1, 2]}, "extra: 3\n", ["extra: unsupported value, got 3; allowed: 1, 2"]),
        ({"type": "string", "excludes": "namespace", "required": True}, "namespace: x\nextra: y\n", None),
        ({"type": "dict", "schema": {"a": {"type": "string", "dependencies": "^namespace"}}}, "extra: {a: x}\n", None),
        (
            {"type": "list", "items": [{"type": "string"}]},
            "extra: [1]\n",
            ["extra[0]: expected string, got integer (YAML 1.1 read '1' as integer; quote it)"],
        ),
    ],
)
def test_unknown_rule_disables_the_fast_path(
    tmp_path: Path, rules: dict[str, Any], bad: str, messages: list[str] | None
) -> None:
    pm = create_manager(entry_points=False)
    pm.register(_Fragment({"": {"extra": rules}}), name="extra")
    schema = build_schema(pm)
    assert schema.fast is None
    with pytest.raises(Unsupported):
        FastValidator(schema.schema)
    path = tmp_path / "env.yaml"
    path.write_text(bad)
    with pytest.raises(SpecError) as info:
        validate_spec(load_spec(path, tmp_path), schema, pm)
    if messages is not None:
        assert [str(p).split(": ", 1)[1] for p in info.value.problems] == messages


def test_cerberus_is_built_only_when_a_spec_fails_the_fast_check(tmp_path: Path) -> None:
    pm = create_manager(entry_points=False)
    schema = build_schema(pm)
    assert schema.fast is not None
    assert schema._validator is None
    path = tmp_path / "env.yaml"
    path.write_text("namespace: shop\n")
    validate_spec(load_spec(path, tmp_path), schema, pm)
    assert schema._validator is None
    path.write_text("namespace: Shop\n")
    with pytest.raises(SpecError):
        validate_spec(load_spec(path, tmp_path), schema, pm)
    assert schema._validator is not None


def test_merged_builtin_schema_is_fully_translated() -> None:
    assert SCHEMA.fast is not None
    SpecValidator(SCHEMA.schema)


_ODD_ARGUMENTS = [None, True, 0, 1, 1.5, 2**60, "", "x", "string", "a.b", "^x", [], ["x"], ["string", "x"], [1]]
_ODD_ARGUMENTS += [["a", None], (), ("string",), {}, {"a": {}}, {"a": 1}, {"a": None}, {"type": None}, {"type": "x"}]
_ODD_ARGUMENTS += [{"type": "string"}, {"a": {"type": "string"}}, {"description": "d"}]


def test_every_schema_the_translation_accepts_is_one_cerberus_accepts() -> None:
    """So build_schema can leave cerberus' own schema check (~0.05 s) to the first spec that fails the fast check."""
    accepted = 0
    for rule in [*sorted(fastvalidate._VALUE_RULES), *sorted(fastvalidate._SIBLING_RULES)]:
        for argument in _ODD_ARGUMENTS:
            for base in ({}, {"type": "dict"}, {"type": "list"}, {"type": "string"}, {"type": "integer"}):
                rules = {**base, rule: argument}
                for schema in (
                    {"f": rules, "x": {"type": "string"}},
                    {"f": {"type": "dict", "valuesrules": rules}},
                    {"f": {"type": "dict", "keysrules": rules}},
                    {"f": {"type": "list", "schema": rules}},
                ):
                    try:
                        FastValidator(schema)
                    except Unsupported:
                        continue
                    accepted += 1
                    SpecValidator(schema)
    assert accepted > 500
