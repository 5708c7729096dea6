"""Telemetry admission rules TL1-TL7."""

from __future__ import annotations

from typing import Any

from gwpipe.checks.analysis.context import Reporter
from gwpipe.checks.analysis.manifests import Manifest, Path_
from gwpipe.checks.analysis.rules.common import number

TARGET_KINDS = {
    ("", "Service"),
    ("networking.istio.io", "ServiceEntry"),
    ("gateway.networking.k8s.io", "Gateway"),
    ("gateway.networking.k8s.io", "GatewayClass"),
}
LOG_MODES = ("CLIENT_AND_SERVER", "CLIENT", "SERVER")


def cel_problem(expression: str) -> str | None:
    """Why a CEL expression does not parse, or None (parsed with cel-python, Envoy's dialect is a superset)."""
    import celpy

    try:
        celpy.Environment().compile(expression)
    except Exception as exc:  # noqa: BLE001 - cel-python raises several parser error types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return first
    return None


def check_telemetry(ctx: Reporter, m: Manifest) -> None:
    spec = m.spec
    set_ = [k for k in ("selector", "targetRef", "targetRefs") if spec.get(k) is not None]
    if len(set_) > 1:
        ctx.rule(m, "TL1", f"only one of targetRefs or workloadSelector can be set, got {', '.join(set_)}", ("spec",))
    selector = spec.get("selector")
    if selector is not None:
        labels = selector.get("matchLabels") if isinstance(selector, dict) else None
        if not labels:
            ctx.rule(m, "TL2", "workload selector specified without labels", ("spec", "selector"), warning=True)
        for k, v in labels.items() if isinstance(labels, dict) else []:
            if not str(k) or "*" in str(k) or "*" in str(v):
                ctx.rule(
                    m,
                    "TL2",
                    f"invalid selector label {k}={v}: empty keys and wildcards are not allowed",
                    ("spec", "selector", "matchLabels", str(k)),
                )
    refs = [spec["targetRef"]] if spec.get("targetRef") is not None else list(spec.get("targetRefs") or [])
    for i, ref in enumerate(refs):
        _check_ref(
            ctx, m, ref, ("spec", "targetRef") if spec.get("targetRef") is not None else ("spec", "targetRefs", i)
        )
    for i, entry in enumerate(spec.get("accessLogging") or []):
        _check_access_log(ctx, m, entry, ("spec", "accessLogging", i))
    _check_tracing(ctx, m, spec.get("tracing"))
    for i, entry in enumerate(spec.get("metrics") or []):
        _check_metrics(ctx, m, entry, ("spec", "metrics", i))


def _check_ref(ctx: Reporter, m: Manifest, ref: Any, path: Path_) -> None:
    if not isinstance(ref, dict) or not ref.get("name"):
        ctx.rule(m, "TL3", "targetRef name is required", path)
        return
    if ref.get("namespace"):
        ctx.rule(
            m, "TL3", "targetRef namespace must be empty (the Telemetry's own namespace is used)", (*path, "namespace")
        )
    if (str(ref.get("group") or ""), str(ref.get("kind") or "")) not in TARGET_KINDS:
        ctx.rule(
            m,
            "TL3",
            f"targetRef {ref.get('group') or ''}/{ref.get('kind')} is not a supported kind; allowed: "
            "Service, ServiceEntry, Gateway, GatewayClass",
            path,
        )


def _check_access_log(ctx: Reporter, m: Manifest, entry: Any, path: Path_) -> None:
    if not isinstance(entry, dict):
        return
    for j, p in enumerate(entry.get("providers") or []):
        if not isinstance(p, dict) or not p.get("name"):
            ctx.rule(m, "TL4", "access logging provider name must not be empty", (*path, "providers", j))
    flt = entry.get("filter")
    expr = flt.get("expression") if isinstance(flt, dict) else None
    if isinstance(expr, str) and expr:
        problem = cel_problem(expr)
        if problem:
            ctx.rule(
                m,
                "TL4",
                f"filter expression {expr!r} does not parse as CEL: {problem}",
                (*path, "filter", "expression"),
            )
    match = entry.get("match")
    mode = match.get("mode") if isinstance(match, dict) else None
    if mode is not None and mode not in LOG_MODES:
        ctx.rule(
            m, "TL7", f"unsupported match.mode {mode!r}; allowed: {', '.join(LOG_MODES)}", (*path, "match", "mode")
        )


def _check_tracing(ctx: Reporter, m: Manifest, tracing: Any) -> None:
    if not isinstance(tracing, list):
        return
    if len(tracing) > 1:
        ctx.rule(
            m, "TL5", "multiple tracing configurations are not currently supported", ("spec", "tracing"), warning=True
        )
    for i, entry in enumerate(tracing):
        path = ("spec", "tracing", i)
        if not isinstance(entry, dict):
            continue
        if len(entry.get("providers") or []) > 1:
            ctx.rule(m, "TL5", "multiple providers are not currently supported", (*path, "providers"), warning=True)
        pct = entry.get("randomSamplingPercentage")
        if pct is not None and (number(pct) is None or not 0 <= pct <= 100):
            ctx.rule(
                m,
                "TL5",
                f"randomSamplingPercentage must be in range 0..100, got {pct!r}",
                (*path, "randomSamplingPercentage"),
            )
        tags = entry.get("customTags")
        for name, tag in tags.items() if isinstance(tags, dict) else []:
            where = (*path, "customTags", str(name))
            if not str(name):
                ctx.rule(m, "TL5", "custom tag name must not be empty", where)
            kinds = (
                {k: v for k, v in tag.items() if k in ("literal", "header", "environment")}
                if isinstance(tag, dict)
                else {}
            )
            if not kinds:
                ctx.rule(m, "TL5", f"custom tag {name!r} needs literal, header or environment", where)
            for kind, value in kinds.items():
                key = "value" if kind == "literal" else "name"
                if not isinstance(value, dict) or not value.get(key):
                    ctx.rule(m, "TL5", f"custom tag {name!r}: {kind} {key} must not be empty", (*where, kind))


def _check_metrics(ctx: Reporter, m: Manifest, entry: Any, path: Path_) -> None:
    if not isinstance(entry, dict):
        return
    for j, p in enumerate(entry.get("providers") or []):
        if not isinstance(p, dict) or not p.get("name"):
            ctx.rule(m, "TL6", "metrics provider name must not be empty", (*path, "providers", j))
    for j, override in enumerate(entry.get("overrides") or []):
        where = (*path, "overrides", j)
        if not isinstance(override, dict):
            ctx.rule(m, "TL6", "metrics override must not be null", where)
            continue
        match = override.get("match")
        if isinstance(match, dict) and "customMetric" in match and not match["customMetric"]:
            ctx.rule(m, "TL6", "customMetric must not be empty", (*where, "match", "customMetric"))
        tags = override.get("tagOverrides")
        for name, tag in tags.items() if isinstance(tags, dict) else []:
            tag_path = (*where, "tagOverrides", str(name))
            if not str(name):
                ctx.rule(m, "TL6", "tag name must not be empty", tag_path, warning=True)
            op = (tag or {}).get("operation", "UPSERT") if isinstance(tag, dict) or tag is None else "UPSERT"
            value = tag.get("value") if isinstance(tag, dict) else None
            if op == "UPSERT" and not value:
                ctx.rule(m, "TL6", f"tag {name!r}: UPSERT needs a value", tag_path)
            if op == "REMOVE" and value:
                ctx.rule(m, "TL6", f"tag {name!r}: REMOVE must not have a value", tag_path)
