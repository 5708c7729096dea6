"""What an upgrade changes in a CRD's schema: fields, enum values and CEL rules added or removed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Shape:
    """The facts of one schema an upgrade can change, keyed by dotted field (`[]` for list items, `{}` for values)."""

    fields: dict[str, str] = field(default_factory=dict)  # field -> type
    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)
    rules: set[tuple[str, str, str]] = field(default_factory=set)  # (field, rule, message)


@dataclass
class Change:
    """One difference: `what` is field, type, enum or rule; `sign` + added, - removed, ~ changed."""

    sign: str
    what: str
    path: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.sign} {self.what} {self.path}{': ' + self.detail if self.detail else ''}"

    def as_dict(self) -> dict[str, str]:
        return {"change": {"+": "added", "-": "removed", "~": "changed"}[self.sign], "what": self.what,
                "field": self.path, "detail": self.detail}  # fmt: skip


def shape(schema: dict[str, Any]) -> Shape:
    """Collect the facts of a structural schema."""
    out = Shape()
    _visit(schema, "", out)
    return out


def _visit(node: dict[str, Any], path: str, out: Shape) -> None:
    if path:
        kind = node.get("type") or ("int-or-string" if node.get("x-kubernetes-int-or-string") else "any")
        out.fields[path] = str(kind)
    if "enum" in node:
        out.enums[path or "(object)"] = tuple(str(v) for v in node["enum"])
    for rule in node.get("x-kubernetes-validations") or []:
        message = str(rule.get("message") or rule.get("messageExpression") or "")
        out.rules.add((path or "(object)", str(rule.get("rule", "")), message))
    for name, child in (node.get("properties") or {}).items():
        if isinstance(child, dict):
            _visit(child, f"{path}.{name}" if path else name, out)
    if isinstance(node.get("items"), dict):
        _visit(node["items"], f"{path}[]", out)
    if isinstance(node.get("additionalProperties"), dict):
        _visit(node["additionalProperties"], f"{path}{{}}", out)


def diff(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """The changes from schema `old` to schema `new`, in field order."""
    a, b = shape(old), shape(new)
    changes: list[Change] = []
    for path in sorted(b.fields.keys() - a.fields.keys()):
        changes.append(Change("+", "field", path, b.fields[path]))
    for path in sorted(a.fields.keys() - b.fields.keys()):
        changes.append(Change("-", "field", path, a.fields[path]))
    for path in sorted(a.fields.keys() & b.fields.keys()):
        if a.fields[path] != b.fields[path]:
            changes.append(Change("~", "type", path, f"{a.fields[path]} -> {b.fields[path]}"))
    for path in sorted(a.enums.keys() | b.enums.keys()):
        before, after = a.enums.get(path, ()), b.enums.get(path, ())
        added = [v for v in after if v not in before]
        removed = [v for v in before if v not in after]
        if added:
            changes.append(Change("+", "enum", path, ", ".join(added)))
        if removed:
            changes.append(Change("-", "enum", path, ", ".join(removed)))
    for path, rule, message in sorted(b.rules - a.rules):
        changes.append(Change("+", "rule", path, f"{rule} ({message})" if message else rule))
    for path, rule, message in sorted(a.rules - b.rules):
        changes.append(Change("-", "rule", path, f"{rule} ({message})" if message else rule))
    return sorted(changes, key=lambda c: (c.path, c.what, c.sign))
