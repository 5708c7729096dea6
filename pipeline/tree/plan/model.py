"""The ingress plan's values: one semantic change, one object file change, and the plan with its text and JSON forms."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

COMMENT_LIMIT = 65_536
CATEGORIES = (
    "hosts",
    "ports",
    "tls",
    "certificates",
    "redirects",
    "routes",
    "logging",
    "installs",
    "control-plane",
    "fields",
    "route-tests",
)
TITLES = {
    "hosts": "Hosts",
    "ports": "Ports",
    "tls": "TLS",
    "certificates": "Certificates",
    "redirects": "Redirects",
    "routes": "Routes",
    "logging": "Logging",
    "installs": "Gateway installs",
    "control-plane": "Control plane",
    "fields": "Other fields",  # the field-path fallback: every change no category above describes
    "route-tests": "Route test outcomes",  # filled by gwpipe.routes.behaviour from the spec's `tests:`
}
SIGNS = {"added": "+", "removed": "-", "changed": "~"}


@dataclass(frozen=True)
class Change:
    """One semantic change: category, added/removed/changed, what it is about, before and after.

    `detail` is a compact per-part account of a change (`api-v1 95→90, api-v2 5→10`) shown instead
    of the whole before and after values.
    """

    category: str
    action: str
    subject: str
    before: str = ""
    after: str = ""
    detail: str = ""

    def line(self) -> str:
        if self.action == "changed":
            shown = self.detail or f"{self.before} -> {self.after}"
            return f"{SIGNS[self.action]} {self.subject}: {shown}"
        value = self.after if self.action == "added" else self.before
        return f"{SIGNS[self.action]} {self.subject}" + (f" ({value})" if value else "")

    def as_dict(self) -> dict[str, str]:
        return {
            "category": self.category,
            "action": self.action,
            "subject": self.subject,
            "before": self.before,
            "after": self.after,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class ObjectChange:
    """One object file added, removed or changed, with its unified diff."""

    ref: str
    path: str
    action: str
    diff: str

    def as_dict(self) -> dict[str, str]:
        return {"ref": self.ref, "path": self.path, "action": self.action, "diff": self.diff}


@dataclass
class IngressPlan:
    """Everything a reviewer needs to judge a render: semantic changes first, raw object diffs after."""

    environment: str
    changes: list[Change] = field(default_factory=list)
    objects: list[ObjectChange] = field(default_factory=list)
    base_branch: str | None = None
    base_sha: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.objects

    def counts(self) -> dict[str, int]:
        return {a: sum(1 for o in self.objects if o.action == a) for a in ("added", "changed", "removed")}

    def summary(self) -> str:
        c = self.counts()
        return f"{c['added']} to add, {c['changed']} to change, {c['removed']} to remove"

    def as_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "base": {"branch": self.base_branch, "sha": self.base_sha},
            "counts": self.counts(),
            "changes": [c.as_dict() for c in self.changes],
            "objects": [o.as_dict() for o in self.objects],
            "warnings": self.warnings,
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, sort_keys=True)

    def to_text(self) -> str:
        """For a terminal: the semantic summary and the list of objects (no raw diff)."""
        if self.empty:
            return f"{self.environment}: no changes\n"
        lines = [f"{self.environment}: {self.summary()}"]
        if self.base_sha:
            lines.append(f"  base: {self.base_branch} at {self.base_sha}")
        lines.extend(f"  warning: {w}" for w in self.warnings)
        for category in CATEGORIES:
            items = [c for c in self.changes if c.category == category]
            if items:
                lines.append(f"  {TITLES[category].lower()}:")
                lines.extend(f"    {c.line()}" for c in items)
        lines.append("  objects:")
        lines.extend(f"    {SIGNS[o.action]} {o.ref} ({o.path})" for o in self.objects)
        return "\n".join(lines) + "\n"

    def to_diff(self) -> str:
        """Every changed file's unified diff, in path order (what `gwpipe plan --diff` prints)."""
        return "".join(o.diff if o.diff.endswith("\n") or not o.diff else o.diff + "\n" for o in self.objects)

    def to_markdown(self, limit: int = COMMENT_LIMIT) -> str:
        """For a pull request: under `limit` characters by summarising, never by dropping a change silently."""
        from gwpipe.tree.plan.markdown import plan_markdown

        return plan_markdown(self, limit)
