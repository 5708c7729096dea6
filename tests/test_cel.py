"""CEL rules with Kubernetes semantics: property escaping, extension functions, projections and the result memo."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gwpipe.checks.schema import cel
from gwpipe.checks.schema.cel import RuleSet, compile_rule, escape, unescape
from gwpipe.checks.schema.celext import is_ip, parse_request_uri

OBJECT = {
    "type": "object",
    "properties": {"a": {"type": "string"}, "b": {"type": "integer"}, "namespace": {"type": "string"}},
}


@pytest.fixture(autouse=True)
def _fresh() -> None:
    cel.clear_memo()


def verdict(rule: str, value: Any, schema: dict[str, Any] | None = None, **extra: Any) -> tuple[bool, str]:
    compiled = compile_rule({"rule": rule, **extra}, schema or {})
    outcome = compiled.evaluate(value)
    return outcome.passed, outcome.message


@pytest.mark.parametrize(
    ("name", "escaped"),
    [
        ("namespace", "__namespace__"),
        ("a.b", "a__dot__b"),
        ("x-y", "x__dash__y"),
        ("a/b", "a__slash__b"),
        ("a__b", "a__underscores__b"),
        ("plain", "plain"),
    ],
)
def test_escape_follows_kubernetes(name: str, escaped: str) -> None:
    assert escape(name) == escaped
    assert unescape(escaped) == name


@given(st.text(alphabet="ab_.-/", max_size=12) | st.sampled_from(sorted(cel.RESERVED)))
def test_unescape_inverts_escape(name: str) -> None:
    assert unescape(escape(name)) == name


@pytest.mark.parametrize(
    ("rule", "value", "passed"),
    [
        ("has(self.__namespace__)", {"namespace": "x"}, True),
        ("has(self.__namespace__)", {"a": "x"}, False),
        ("self.all(k, k.matches('^[a-z]+$'))", {"ab": 1, "cd": 2}, True),
        ("self.all(k, k.matches('^[a-z]+$'))", {"a.b": 1}, False),
        ("self.exists_one(x, x == 2)", [1, 2, 3], True),
        ("self.filter(x, x > 1).size() <= 1", [1, 2, 3], False),
        ("'*' in self && self.size() > 1", ["*", "a"], True),
        ("duration(self) >= duration('1ms')", "1h2m3.5s", True),
        ("duration(self) >= duration('1ms')", "500us", False),
        ("self.all(key, 0 < int(key) && int(key) <= 65535)", {"80": 1, "65535": 2}, True),
        ("self.all(key, 0 < int(key) && int(key) <= 65535)", {"0": 1}, False),
        (
            "self.startsWith('unix://') ? (self.substring(7, 8) == '/' || self.substring(7, 8) == '@') : true",
            "unix:///run/x",
            True,
        ),
        (
            "self.startsWith('unix://') ? (self.substring(7, 8) == '/' || self.substring(7, 8) == '@') : true",
            "unix://run",
            False,
        ),
        ("self.all(key, key.split('/')[0].size() < 5)", {"abc/def": 1}, True),
        ("self.all(key, key.split('/')[0].size() < 5)", {"abcdef/x": 1}, False),
        ("self.all(h, !isIP(h))", ["a.example.com"], True),
        ("self.all(h, !isIP(h))", ["10.0.0.1"], False),
        ("url(self).getScheme() in ['http', 'https']", "HTTPS://jwks.example.com/keys", True),
        ("url(self).getScheme() in ['http', 'https']", "ftp://jwks.example.com/keys", False),
        (
            "isURL(self) ? url(self).getScheme() in ['', 'oci'] : isURL('http://' + self)",
            "registry.example.com/wasm:1.0",
            True,
        ),
        ('self.value.matches(r"""^(\\*\\.)?[a-z0-9]+$""")', {"value": "*.abc"}, True),
    ],
)
def test_rules_evaluate_like_the_apiserver(rule: str, value: Any, passed: bool) -> None:
    assert verdict(rule, value, OBJECT if isinstance(value, dict) and "namespace" in value else None)[0] is passed


def test_failure_message_prefers_message_expression_then_message_then_rule() -> None:
    rule = "self.b < 3"
    assert verdict(rule, {"b": 5}, OBJECT, messageExpression="'b is ' + string(self.b)", message="too big") == (
        False,
        "b is 5",
    )
    assert verdict(rule, {"b": 5}, OBJECT, message="too big") == (False, "too big")
    assert verdict(rule, {"b": 5}, OBJECT) == (False, "failed rule: self.b < 3")


def test_evaluation_errors_are_failures_that_say_so() -> None:
    passed, message = verdict("self.b < 3", {"a": "x"}, OBJECT)
    assert not passed
    assert message.startswith("rule evaluation error: ")
    assert message.endswith("(rule: self.b < 3)")
    assert compile_rule({"rule": "self.b < 3"}, OBJECT).evaluate({"a": "x"}).error


def test_transition_rules_are_not_evaluated() -> None:
    rule = compile_rule({"rule": "self == oldSelf", "message": "immutable"}, {})
    assert rule.transition
    assert rule.program is None


def test_broken_rule_is_a_rule_error() -> None:
    with pytest.raises(cel.RuleError, match=r"^cannot compile rule 'self \+\+ 1': .+$"):
        compile_rule({"rule": "self ++ 1"}, {})


@pytest.mark.parametrize(
    ("rule", "fields"),
    [
        ("(has(self.a) ? 1 : 0) + (has(self.b) ? 1 : 0) <= 1", (("a", True), ("b", True))),
        ("has(self.a) ? self.a != '' : true", (("a", False),)),
        ("!has(self.__namespace__) || self.__namespace__ != 'x'", (("namespace", False),)),
        ("self.all(k, k != '')", None),
        ("self.size() == 0", None),
    ],
)
def test_projection_names_what_the_rule_reads(rule: str, fields: Any) -> None:
    assert compile_rule({"rule": rule}, OBJECT).fields == fields


def test_rule_set_memoizes_on_the_projection() -> None:
    rules = RuleSet.of(
        [compile_rule({"rule": "!(has(self.a) && has(self.b))", "message": "a and b exclude each other"}, OBJECT)]
    )
    first = rules.failures({"a": "x", "b": 1})
    assert [o.message for _r, o in first] == ["a and b exclude each other"]
    assert rules.failures({"a": "other", "b": 2}) is first  # only presence is read: same key
    assert cel.memo_size() == 1
    assert rules.failures({"a": "x"}) == ()
    assert cel.memo_size() == 2


@pytest.mark.parametrize(
    ("text", "scheme"),
    [
        ("http://a.example.com/x", "http"),
        ("HTTPS://a.example.com:8443/x?y=1", "https"),
        ("oci://registry/img:1", "oci"),
        ("registry.example.com:5000/img", "registry.example.com"),
        ("/just/a/path", ""),
        ("mailto:someone", "mailto"),
    ],
)
def test_parse_request_uri_accepts(text: str, scheme: str) -> None:
    parsed = parse_request_uri(text)
    assert parsed is not None
    assert parsed.scheme == scheme


@pytest.mark.parametrize(
    "text", ["", "relative/path", ":8080/x", "http://a b/", "http://host:port/", "http://a/%zz", "http://x/\x01"]
)
def test_parse_request_uri_rejects(text: str) -> None:
    assert parse_request_uri(text) is None


@pytest.mark.parametrize(
    ("text", "ok"), [("10.0.0.1", True), ("::1", True), ("010.0.0.1", False), ("fe80::1%eth0", False), ("a", False)]
)
def test_is_ip(text: str, ok: bool) -> None:
    assert is_ip(text) is ok


def test_memo_key_covers_what_the_message_expression_reads() -> None:
    rule = compile_rule({"rule": "self.b < 3", "messageExpression": "'widget ' + self.a + ' is too big'"}, OBJECT)
    assert rule.fields == (("a", False), ("b", False))
    rules = RuleSet.of([rule])
    assert [o.message for _r, o in rules.failures({"a": "one", "b": 5})] == ["widget one is too big"]
    assert [o.message for _r, o in rules.failures({"a": "two", "b": 5})] == ["widget two is too big"]


_TLS_RULES = [
    "(has(self.credentialName) ? 1 : 0) + (has(self.credentialNames) ? 1 : 0) <= 1",
    "!has(self.mode) || self.mode != 'MUTUAL' || has(self.caCertificates)",
    "self.all(k, k.size() < 16)",
]
_TLS = st.dictionaries(
    st.sampled_from(["credentialName", "credentialNames", "mode", "caCertificates"]),
    st.one_of(st.sampled_from(["SIMPLE", "MUTUAL", "a", ""]), st.lists(st.sampled_from(["x", "y"]), max_size=2)),
)


@settings(deadline=None)  # compiles every rule per example: slow on a loaded machine, and timing is not the point
@given(st.lists(_TLS, min_size=1, max_size=6))
def test_memoized_verdicts_equal_fresh_evaluation(values: list[dict[str, Any]]) -> None:
    cel.clear_memo()
    rules = RuleSet.of([compile_rule({"rule": r}, {}) for r in _TLS_RULES])
    for value in values:
        memoized = [(r.rule, o.passed) for r, o in rules.failures(value)]
        fresh = [(r.rule, r.evaluate(value).passed) for r in rules.rules if not r.evaluate(value).passed]
        assert memoized == fresh
