"""Spec variables: a `vars` mapping (inherited through `extends`, overridden by `--var`) interpolated as `${name}`."""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from gwpipe.checks.secrets import find_secrets
from gwpipe.errors import Problem, SpecError
from gwpipe.spec.yamlload import LazyLocations, Location, Path_

VARS_KEY = "vars"
NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MARKER = "${"
# `$${` is a literal `${`; `${name}` a reference; any other `${` is malformed
_TOKEN = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$\{")
_SCALARS = (str, bool, int, float)
COMMAND_LINE = "--var"


@dataclass(frozen=True)
class Variable:
    """A variable's final value, and whether it came from the command line (else from `vars` in a spec file)."""

    name: str
    value: Any
    from_command_line: bool = False


@dataclass
class Resolved:
    """The spec data with every reference replaced, and what each replacement used."""

    data: dict[str, Any]
    variables: dict[str, Variable]
    # original path -> the key it was renamed to (keys holding references)
    renamed: dict[Path_, str] = field(default_factory=dict)
    # resolved path -> the variables its value (or, for ("key",) + path, its key) referenced
    uses: dict[Path_, tuple[str, ...]] = field(default_factory=dict)


Locate = Callable[..., Problem]  # Spec.problem: (path, what, hint=None)


def resolve(
    data: dict[str, Any],
    locate: Locate,
    own_vars: frozenset[str],
    overrides: Mapping[str, str],
    references: bool,
) -> Resolved:
    """Interpolate every `${name}` in `data` (keys and values); raise one SpecError with every problem."""
    problems: list[Problem] = []
    declared = data.get(VARS_KEY)
    body = {k: v for k, v in data.items() if k != VARS_KEY}
    if declared is not None and not isinstance(declared, dict):
        raise SpecError(locate((VARS_KEY,), "expected a mapping of variable names to values"))
    declared = declared or {}
    raw: dict[str, Any] = {}
    for name, value in declared.items():
        if not NAME_RE.fullmatch(name):
            problems.append(locate((VARS_KEY, name), "invalid variable name; use letters, digits and '_'"))
        elif not isinstance(value, _SCALARS):
            problems.append(locate((VARS_KEY, name), "a variable holds a string, number or boolean"))
        elif isinstance(value, str) and find_secrets(value):
            # `vars` never reaches the spec's own secret scan, and a base's variable may be used nowhere
            what = f"contains a {find_secrets(value)[0]} (value redacted, {len(value.encode())} bytes)"
            problems.append(locate((VARS_KEY, name), what, "keys never go in a spec"))
        else:
            raw[name] = value
    for name, text in sorted(overrides.items()):
        if not NAME_RE.fullmatch(name):
            problems.append(Problem(f"{COMMAND_LINE} {name}", "invalid variable name; use letters, digits and '_'"))
            continue
        converted = _typed_like(declared.get(name), text)
        if isinstance(converted, Problem):
            problems.append(Problem(f"{COMMAND_LINE} {name}", converted.what))
        else:
            raw[name] = converted
    resolver = _Resolver(raw, set(overrides), locate, problems)
    variables = resolver.variables()
    result = Resolved(body, variables)
    if references:
        result.data = resolver.walk(body, (), (), result)
    for name in sorted(set(raw) & own_vars - resolver.used - set(overrides)):
        problems.append(
            locate(
                (VARS_KEY, name),
                f"unused variable {name!r}: this file defines it and nothing references it",
                "remove it, or reference it as ${" + name + "}",
            )
        )
    for name in sorted(set(overrides) - resolver.used - set(declared)):
        problems.append(Problem(f"{COMMAND_LINE} {name}", f"unknown variable {name!r}{_guess(name, declared)}"))
    if problems:
        raise SpecError(*sorted(problems, key=_position))
    return result


def _position(problem: Problem) -> tuple[int, str, int, int]:
    """Spec problems in file and line order; command-line ones last."""
    file, _, rest = problem.where.partition(":")
    line, _, rest = rest.partition(":")
    column = rest.partition(":")[0]
    if not line.isdigit():
        return (1, problem.where, 0, 0)
    return (0, file, int(line), int(column) if column.isdigit() else 0)


def _typed_like(default: Any, text: str) -> Any:
    """A command-line value as the type of the spec's own value for that variable (a string if none)."""
    if isinstance(default, bool):
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        return Problem("", f"expected true or false (the spec's value is a boolean), got {text!r}")
    if isinstance(default, int | float):
        try:
            return type(default)(text)
        except ValueError:
            kind = "an integer" if isinstance(default, int) else "a number"
            return Problem("", f"expected {kind} (the spec's value is one), got {text!r}")
    return text


def _guess(name: str, known: Mapping[str, Any]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f"; defined: {', '.join(sorted(known))}" if known else "; no variables are defined"


def as_text(value: Any) -> str:
    """A variable's value inside a longer string: YAML's spelling for booleans."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class _Resolver:
    def __init__(self, raw: dict[str, Any], overridden: set[str], locate: Locate, problems: list[Problem]) -> None:
        self.raw = raw
        self.overridden = overridden
        self.locate = locate
        self.problems = problems
        self.used: set[str] = set()
        self._values: dict[str, Any] = {}
        self._broken: set[str] = set()

    def variables(self) -> dict[str, Variable]:
        for name in sorted(self.raw):
            self._value(name, [])
        return {
            name: Variable(name, value, name in self.overridden)
            for name, value in sorted(self._values.items())
            if name not in self._broken
        }

    def _value(self, name: str, chain: list[str]) -> Any:
        """The value of variable `name`, its own references resolved; a cycle is reported once, where it closes."""
        if name in self._values:
            return self._values[name]
        if name in chain:
            cycle = " -> ".join([*chain[chain.index(name) :], name])
            self.problems.append(self.locate((VARS_KEY, name), f"variable cycle: {cycle}"))
            self._broken.update(chain)
            return None
        value = self.raw[name]
        if isinstance(value, str) and MARKER in value and name not in self.overridden:
            path: Path_ = (VARS_KEY, name)
            value, _ = self.text(value, path, lambda ref: self._reference(ref, [*chain, name], path))
        self._values[name] = value
        return value

    def _reference(self, ref: str, chain: list[str], path: Path_) -> Any:
        self.used.add(ref)
        if ref not in self.raw:
            self.problems.append(self.locate(path, f"undefined variable {ref!r}{_guess(ref, self.raw)}"))
            return None
        return self._value(ref, chain)

    def text(self, text: str, path: Path_, lookup: Callable[[str], Any]) -> tuple[Any, tuple[str, ...]]:
        """`text` with its references replaced; exactly one reference keeps the variable's type."""
        names: list[str] = []
        failed = False

        def replace(match: re.Match[str]) -> str:
            nonlocal failed
            token = match.group(0)
            if token == "$${":
                return "${"
            ref = match.group(1)
            if ref is None:
                self.problems.append(
                    self.locate(path, f"malformed reference in {text!r}; write ${{name}}, or $${{ for a literal ${{")
                )
                failed = True
                return token
            names.append(ref)
            value = lookup(ref)
            if value is None:
                failed = True
                return token
            return as_text(value)

        whole = _TOKEN.fullmatch(text)
        if whole is not None and whole.group(1) is not None:
            value = lookup(whole.group(1))
            return (text if value is None else value), (whole.group(1),)
        replaced = _TOKEN.sub(replace, text)
        return (text if failed else replaced), tuple(names)

    def walk(self, value: Any, old: Path_, new: Path_, result: Resolved) -> Any:
        if isinstance(value, str):
            if MARKER not in value:
                return value
            resolved, names = self.text(value, old, lambda ref: self._reference(ref, [], old))
            if names:
                result.uses[new] = names
            return resolved
        if isinstance(value, dict):
            out: dict[str, Any] = {}
            first: dict[str, str] = {}
            for key, item in value.items():
                new_key = key
                if MARKER in key:
                    at: Path_ = (*old, key)
                    resolved, names = self.text(key, at, functools.partial(self._reference, chain=[], path=at))
                    new_key = as_text(resolved)
                    if new_key != key:
                        result.renamed[(*old, key)] = new_key
                    if names:
                        result.uses[("key", *new, new_key)] = names
                if new_key in out:
                    self.problems.append(
                        self.locate(
                            (*old, key),
                            f"keys {first[new_key]!r} and {key!r} both resolve to {new_key!r}",
                        )
                    )
                    continue
                first[new_key] = key
                out[new_key] = self.walk(item, (*old, key), (*new, new_key), result)
            return out
        if isinstance(value, list):
            return [self.walk(item, (*old, i), (*new, i), result) for i, item in enumerate(value)]
        return value


def renamed_locations(original: Mapping[Path_, Location], renamed: dict[Path_, str]) -> LazyLocations:
    """The locations of the original data, under the paths of the resolved data; worked out on first use."""

    def translate(path: Path_) -> Path_:
        return tuple(renamed.get(path[: i + 1], part) for i, part in enumerate(path))

    return LazyLocations(lambda: {translate(path): loc for path, loc in original.items()})


def scalar_text(value: Any) -> str:
    """A scalar as YAML would print it inline."""
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=1 << 20)
    return text.removesuffix("\n").removesuffix("\n...")
