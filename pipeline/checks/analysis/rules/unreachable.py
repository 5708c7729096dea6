"""V9: VirtualService rules that can never match (IST0130) and matches shadowed by earlier ones (IST0131)."""

from __future__ import annotations

import json
from typing import Any

from gwpipe import fast
from gwpipe.checks.analysis.context import Reporter
from gwpipe.checks.analysis.manifests import Manifest


def _as_string(match: Any) -> str:
    if not isinstance(match, dict) or not match:
        return ""
    kind = next(iter(sorted(match)))
    return f"{kind}:{match[kind]}"


def _map_covers(a: Any, b: Any) -> bool:
    a = a if isinstance(a, dict) else {}
    b = b if isinstance(b, dict) else {}
    if set(a) != set(b):
        return False
    return all(_as_string(b[k]).startswith(_as_string(a[k])) for k in a)


def _covers(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Earlier prefix match `a` covers later prefix match `b` (`b` is never reached)."""
    pa, pb = a["uri"]["prefix"], b["uri"]["prefix"]
    if pa == pb or not str(pb).startswith(str(pa)) or a.get("port") != b.get("port"):
        return False
    ma = _as_string(a.get("method")) or "exact:GET"
    mb = _as_string(b.get("method")) or "exact:GET"
    if not mb.startswith(ma) or not _as_string(b.get("authority")).startswith(_as_string(a.get("authority"))):
        return False
    return all(_map_covers(a.get(k), b.get(k)) for k in ("headers", "queryParams", "withoutHeaders"))


def _has_prefix(match: Any) -> bool:
    return isinstance(match, dict) and isinstance(match.get("uri"), dict) and "prefix" in match["uri"]


def _canonical(match: Any) -> str:
    body = {k: v for k, v in match.items() if k != "name"} if isinstance(match, dict) else match
    return json.dumps(body, sort_keys=True, default=str)


def _analyze(ctx: Reporter, m: Manifest, key: str, rules: list[Any]) -> None:
    matchless_before = False
    seen: dict[str, str] = {}
    # the first match can duplicate nothing: it is canonicalised only when a second one needs comparing
    first: tuple[Any, str] | None = None
    prefixes: list[tuple[dict[str, Any], str]] = []
    for i, rule in enumerate(rules):
        if not isinstance(rule, dict):
            continue
        name = str(rule.get("name") or i)
        path = ("spec", key, i)
        matches = rule.get("match") or []
        if not matches:
            if matchless_before:
                ctx.report(
                    m,
                    "IST0130",
                    f"V9: VirtualService rule {name} not used (only the last rule can have no matches).",
                    path,
                )
            matchless_before = True
            continue
        if matchless_before:
            ctx.report(
                m, "IST0130", f"V9: VirtualService rule {name} not used (route without matches defined before).", path
            )
            continue
        duplicates = 0
        for j, match in enumerate(matches):
            where = (*path, "match", j)
            if first is None and not seen:
                first = (match, name)
            else:
                if first is not None:
                    seen[_canonical(first[0])] = first[1]
                    first = None
                text = _canonical(match)
                if text in seen:
                    duplicates += 1
                    ctx.report(
                        m,
                        "IST0131",
                        f"V9: VirtualService rule {name} match {j} is not used "
                        f"(duplicate/overlapping match in rule {seen[text]}).",
                        where,
                    )
                    continue
                seen[text] = name
            if key == "http" and _has_prefix(match):
                earlier = next((n for a, n in prefixes if _covers(a, match)), None)
                if earlier is not None:
                    ctx.report(
                        m,
                        "IST0131",
                        f"V9: VirtualService rule {name} match {j} is not used "
                        f"(duplicate/overlapping match in rule {earlier}).",
                        where,
                    )
                prefixes.append((match, name))
        if duplicates == len(matches):
            ctx.report(
                m, "IST0130", f"V9: VirtualService rule {name} not used (all matches used by prior rules).", path
            )


def _shadows_nothing(rules: list[Any]) -> bool:
    """A lone rule with at most one match can neither be shadowed nor shadow anything."""
    if len(rules) != 1 or not isinstance(rules[0], dict):
        return len(rules) == 0 or (len(rules) == 1 and not isinstance(rules[0], dict))
    matches = rules[0].get("match")
    return not matches or (isinstance(matches, list) and len(matches) == 1)


def check_unreachable(ctx: Reporter, m: Manifest) -> None:
    for key in ("http", "tcp", "tls"):
        rules = m.spec.get(key)
        if isinstance(rules, list) and not (fast.enabled() and _shadows_nothing(rules)):
            _analyze(ctx, m, key, rules)
