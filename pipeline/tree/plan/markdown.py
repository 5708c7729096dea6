"""The ingress plan in markdown, for pull-request bodies: summarised to fit the forge's limit, never silently cut."""

from __future__ import annotations

import re

from gwpipe.tree.plan.model import CATEGORIES, SIGNS, TITLES, Change, IngressPlan


def _code(text: str) -> str:
    """Inline markdown code that the text cannot break out of."""
    run = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * (run + 1)
    return f"{ticks} {text} {ticks}" if run else f"`{text}`"


def _fence(text: str) -> str:
    run = max((len(m) for m in re.findall(r"`{3,}", text)), default=0)
    return "`" * max(3, run + 1)


def _md_change(c: Change) -> str:
    if c.action == "changed" and c.detail:
        return f"- {SIGNS[c.action]} {_code(c.subject)}: {_code(c.detail)}"
    if c.action == "changed":
        return f"- {SIGNS[c.action]} {_code(c.subject)}: {_code(c.before)} → {_code(c.after)}"
    value = c.after if c.action == "added" else c.before
    return f"- {SIGNS[c.action]} {_code(c.subject)}" + (f" ({_code(value)})" if value else "")


def plan_markdown(plan: IngressPlan, limit: int) -> str:
    """The plan as a pull-request body of at most `limit` characters; every change shown or counted."""
    head = [f"## gwpipe plan: {_code(plan.environment)}", ""]
    if plan.base_sha:
        head += [f"Base: {_code(plan.base_branch or '?')} at {_code(plan.base_sha)}", ""]
    if plan.empty:
        return "\n".join([*head, "No changes."]) + "\n"
    head += [f"**{plan.summary()}** (objects)", ""]
    head += [f"**Warning:** {_code(w)}" for w in plan.warnings] + ([""] if plan.warnings else [])
    sections = []
    for category in CATEGORIES:
        items = [_md_change(c) for c in plan.changes if c.category == category]
        if items:
            sections.append((TITLES[category], items))
    objects = [f"- {SIGNS[o.action]} {_code(o.ref)} ({_code(o.path)})" for o in plan.objects]
    budget = limit - 600
    summary = _summary_md(sections, objects, cap=None)
    if len("\n".join(head)) + len(summary) > budget:
        by_kind: dict[tuple[str, str], int] = {}
        for o in plan.objects:
            key = (o.ref.split(" ", 1)[0], o.action)
            by_kind[key] = by_kind.get(key, 0) + 1
        objects = [f"- {SIGNS[a]} {n} {_code(k)} {a}" for (k, a), n in sorted(by_kind.items())]
        summary = _summary_md(sections, objects, cap=None)
        cap = max((len(items) for _title, items in sections), default=1)
        while len("\n".join(head)) + len(summary) > budget and cap > 1:
            cap //= 2
            summary = _summary_md(sections, objects, cap=cap)
    out = "\n".join(head) + "\n" + summary
    tail_note = "\n</details>\n"
    details = ["", "<details><summary>Raw object diff</summary>", ""]
    left_out = 0
    used = len(out) + len("\n".join(details)) + len(tail_note) + 200
    for obj in plan.objects:
        fence = _fence(obj.diff)
        block = f"#### {SIGNS[obj.action]} {_code(obj.ref)}\n\n{fence}diff\n{obj.diff}{fence}\n"
        if used + len(block) + 1 > limit:
            left_out += 1
            continue
        details.append(block)
        used += len(block) + 1
    if left_out:
        details.append(
            f"**{left_out} more objects changed, see the commit** (diff left out to stay under {limit} characters)"
        )
    return out + "\n".join(details) + tail_note


def _summary_md(sections: list[tuple[str, list[str]]], objects: list[str], cap: int | None) -> str:
    lines: list[str] = []
    for title, items in sections:
        lines += [f"### {title}", ""]
        shown = items if cap is None else items[:cap]
        lines += shown
        if len(items) > len(shown):
            lines.append(f"- … and {len(items) - len(shown)} more {title.lower()} changes, see the commit")
        lines.append("")
    lines += ["### Objects", "", *objects, ""]
    return "\n".join(lines)
