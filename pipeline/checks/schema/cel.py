"""CRD `x-kubernetes-validations` rules: compiled once with celpy, Kubernetes extensions, memoized results."""

from __future__ import annotations

import functools
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import celpy
import lark
from celpy import celtypes
from celpy.evaluation import CELEvalError

from gwpipe.checks.schema.celext import KUBERNETES_FUNCTIONS

# CEL keywords Kubernetes escapes as `__name__` when they are property names (apiserver cel/escaping.go)
RESERVED = frozenset(
    "true false null in as break const continue else for function if import let loop package namespace return var void while".split()  # noqa: SIM905
)
_EXPAND = re.compile(r"__|[./-]")
_EXPANSIONS = {"__": "__underscores__", ".": "__dot__", "-": "__dash__", "/": "__slash__"}
_UNEXPAND = re.compile(r"__(underscores|dot|dash|slash)__")
_UNEXPANSIONS = {"underscores": "__", "dot": ".", "dash": "-", "slash": "/"}
MEMO_LIMIT = 200_000

_MEMO: dict[tuple[RuleSet, Any], tuple[tuple[Rule, Outcome], ...]] = {}


@functools.cache
def _environment() -> celpy.Environment:
    """The CEL environment, its parser loaded from gwpipe's cache when an earlier process saved it there."""
    from celpy.celparser import CELParser

    if CELParser.CEL_PARSER is None:
        # building celpy's LALR tables takes about a second per process; lark can keep them on disk (it checks
        # that the file matches the grammar, lark and Python, and rebuilds from scratch when it does not)
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        cache: Path | None = Path(base) / "gwpipe" / "cel-parser.lark"
        try:
            Path(base, "gwpipe").mkdir(parents=True, exist_ok=True)
        except OSError:
            cache = None
        CELParser.CEL_PARSER = lark.Lark(
            (Path(celpy.__file__).parent / "cel.lark").read_text(encoding="utf-8"),
            parser="lalr",
            start="expr",
            debug=True,
            g_regex_flags=re.M,
            lexer_callbacks={"IDENT": CELParser.ambiguous_literals},
            propagate_positions=True,
            maybe_placeholders=False,
            priority="invert",
            tree_class=lark.Tree,
            cache=str(cache) if cache is not None else False,
        )
    return celpy.Environment()


@dataclass(frozen=True)
class Outcome:
    """A rule's verdict on one value: passed, or failed with a message; `error` when it could not be evaluated."""

    passed: bool
    message: str = ""
    error: bool = False


PASSED = Outcome(True)


class RuleError(Exception):
    """A rule that cannot be compiled, or a value it cannot be evaluated on."""


def escape(name: str) -> str:
    """The CEL identifier Kubernetes gives the property `name`."""
    if name in RESERVED:
        return f"__{name}__"
    return _EXPAND.sub(lambda m: _EXPANSIONS[m.group(0)], name)


def unescape(ident: str) -> str:
    """The property name behind a CEL identifier (inverse of `escape`)."""
    if ident.startswith("__") and ident.endswith("__") and ident[2:-2] in RESERVED:
        return ident[2:-2]
    return _UNEXPAND.sub(lambda m: _UNEXPANSIONS[m.group(1)], ident)


def to_cel(value: Any, schema: dict[str, Any]) -> Any:
    """`value` as CEL values typed by its structural `schema` (object properties escaped, map keys kept)."""
    if isinstance(value, dict):
        props = schema.get("properties")
        if props is not None:
            return celtypes.MapType(
                {celtypes.StringType(escape(k)): to_cel(v, props.get(k) or {}) for k, v in value.items()}
            )
        extra = schema.get("additionalProperties")
        sub = extra if isinstance(extra, dict) else {}
        return celtypes.MapType({celtypes.StringType(k): to_cel(v, sub) for k, v in value.items()})
    if isinstance(value, list):
        items = schema.get("items")
        return celtypes.ListType([to_cel(v, items if isinstance(items, dict) else {}) for v in value])
    if isinstance(value, bool):
        return celtypes.BoolType(value)
    if isinstance(value, int):
        return celtypes.IntType(value)
    if isinstance(value, float):
        return celtypes.DoubleType(value)
    if isinstance(value, str):
        return celtypes.StringType(value)
    return value


def canonical(value: Any) -> Any:
    """A hashable stand-in for `value` that differs whenever the value (or its JSON type) differs."""
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return (type(value).__name__, value)


_ABSENT = ("absent",)


@dataclass
class Rule:
    """One compiled rule of one schema node; `fields` is the projection of `self` its result depends on."""

    rule: str
    message: str | None
    message_expression: str | None
    field_path: str | None
    reason: str | None
    schema: dict[str, Any]
    program: Any = None
    message_program: Any = None
    # None: the whole of `self`; otherwise (raw property name, presence only) pairs
    fields: tuple[tuple[str, bool], ...] | None = None
    transition: bool = False

    def evaluate(self, value: Any) -> Outcome:
        """The verdict for `self` = `value` (not memoized; RuleSet memoizes a node's rules together)."""
        return self._evaluate(value)

    def _evaluate(self, value: Any) -> Outcome:
        activation = {"self": to_cel(value, self.schema)}
        result = _run(self.program, activation)
        if isinstance(result, CELEvalError | RuleError):
            return Outcome(False, f"rule evaluation error: {_reason(result)} (rule: {self.rule})", True)
        if not isinstance(result, celtypes.BoolType):
            return Outcome(
                False,
                f"rule evaluation error: rule returned {type(result).__name__}, not bool (rule: {self.rule})",
                True,
            )
        return PASSED if result else Outcome(False, self._failure_message(activation))

    def _failure_message(self, activation: dict[str, Any]) -> str:
        if self.message_program is not None:
            text = _run(self.message_program, activation)
            if isinstance(text, str) and text.strip():
                return str(text)
        return self.message or f"failed rule: {self.rule}"


def project(fields: tuple[tuple[str, bool], ...] | None, value: Any) -> Any:
    """The part of `value` that rules reading `fields` depend on: presence or canonical value per field."""
    if fields is None or not isinstance(value, dict):
        return canonical(value)
    return tuple((name in value) if presence else canonical(value.get(name, _ABSENT)) for name, presence in fields)


@dataclass(eq=False)  # hashed by identity: the memo keys on the rule set itself
class RuleSet:
    """The rules of one schema node, evaluated together and memoized on the projection of `self` they read."""

    rules: list[Rule]
    fields: tuple[tuple[str, bool], ...] | None = None

    @classmethod
    def of(cls, rules: list[Rule]) -> RuleSet:
        fields: tuple[tuple[str, bool], ...] | None = ()
        for rule in rules:
            fields = _merge(fields, rule.fields)
        return cls(rules, fields)

    def failures(self, value: Any) -> tuple[tuple[Rule, Outcome], ...]:
        """Every rule that fails on `self` = `value`, with its outcome."""
        memo_key = (self, project(self.fields, value))
        hit = _MEMO.get(memo_key)
        if hit is not None:
            return hit
        found = []
        for rule in self.rules:
            outcome = rule.evaluate(value)
            if not outcome.passed:
                found.append((rule, outcome))
        result = tuple(found)
        if len(_MEMO) >= MEMO_LIMIT:
            _MEMO.clear()
        _MEMO[memo_key] = result
        return result


def _run(program: Any, activation: dict[str, Any]) -> Any:
    try:
        return program.evaluate(activation)
    except CELEvalError as exc:
        return exc
    except (ArithmeticError, KeyError, TypeError, ValueError, IndexError) as exc:
        return RuleError(str(exc))


def _reason(error: Exception) -> str:
    args = getattr(error, "args", ())
    return str(args[0]) if args else str(error)


def compile_rule(spec: dict[str, Any], schema: dict[str, Any]) -> Rule:
    """Compile one `x-kubernetes-validations` entry of the schema node `schema`; transition rules stay unevaluated."""
    text = str(spec.get("rule", ""))
    rule = Rule(
        rule=text,
        message=spec.get("message"),
        message_expression=spec.get("messageExpression"),
        field_path=spec.get("fieldPath"),
        reason=spec.get("reason"),
        schema=schema,
    )
    try:
        ast = _environment().compile(text)
    except Exception as exc:  # noqa: BLE001 - celpy raises parser-specific types
        raise RuleError(f"cannot compile rule {text!r}: {str(exc).splitlines()[0]}") from None
    if _mentions(ast, "oldSelf"):
        rule.transition = True
        return rule
    rule.program = _environment().program(ast, functions=KUBERNETES_FUNCTIONS)
    rule.fields = _self_projection(ast)
    if rule.message_expression:
        try:
            message_ast = _environment().compile(rule.message_expression)
        except Exception:  # noqa: BLE001 - a broken messageExpression falls back to message, as the apiserver does
            return rule
        rule.message_program = _environment().program(message_ast, functions=KUBERNETES_FUNCTIONS)
        # the memoized failure carries the message, so the key must cover what the message reads too
        rule.fields = _merge(rule.fields, _self_projection(message_ast))
    return rule


def _merge(
    a: tuple[tuple[str, bool], ...] | None, b: tuple[tuple[str, bool], ...] | None
) -> tuple[tuple[str, bool], ...] | None:
    """The projection covering both `a` and `b` (a value read beats a presence test; None is all of self)."""
    if a is None or b is None:
        return None
    merged: dict[str, bool] = {}
    for name, presence in (*a, *b):
        merged[name] = merged.get(name, True) and presence
    return tuple(sorted(merged.items()))


def _mentions(tree: lark.Tree[Any], name: str) -> bool:
    return any(
        isinstance(tok, lark.Token) and tok.type == "IDENT" and tok == name for tok in tree.scan_values(lambda _: True)
    )


def _core(tree: Any) -> Any:
    """The innermost node under a chain of single-child wrappers (expr > conditionalor > ... > member)."""
    while isinstance(tree, lark.Tree) and len(tree.children) == 1 and tree.data != "ident":
        tree = tree.children[0]
    return tree


def _is_self(tree: Any) -> bool:
    core = _core(tree)
    return isinstance(core, lark.Tree) and core.data == "ident" and core.children[0] == "self"


def _self_projection(ast: lark.Tree[Any]) -> tuple[tuple[str, bool], ...] | None:
    """The fields of `self` the rule reads, and whether only their presence (`has`) matters; None if all of it."""
    uses: dict[str, bool] = {}
    whole = False

    def visit(node: Any) -> None:
        nonlocal whole
        if not isinstance(node, lark.Tree):
            return
        if node.data == "ident_arg" and node.children and node.children[0] == "has":
            args = node.children[1] if len(node.children) > 1 else None
            target = _core(args.children[0]) if isinstance(args, lark.Tree) and len(args.children) == 1 else None
            if isinstance(target, lark.Tree) and target.data == "member_dot" and _is_self(target.children[0]):
                name = unescape(str(target.children[1]))
                uses.setdefault(name, True)
                return
        if node.data == "member_dot" and _is_self(node.children[0]):
            uses[unescape(str(node.children[1]))] = False
            return
        if node.data == "ident" and node.children and node.children[0] == "self":
            whole = True
            return
        for child in node.children:
            visit(child)

    visit(ast)
    if whole:
        return None
    return tuple(sorted(uses.items()))


def memo_size() -> int:
    return len(_MEMO)


def clear_memo() -> None:
    """Forget memoized rule results (benchmarks and tests measure cold evaluation)."""
    _MEMO.clear()
