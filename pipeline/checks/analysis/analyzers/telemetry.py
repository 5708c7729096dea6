"""Telemetry analyzers: IST0157 (empty providers), IST0160 (several selector-less), IST0101(selector), IST0159."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from gwpipe.checks.analysis.context import Context
from gwpipe.checks.analysis.manifests import Manifest
from gwpipe.checks.analysis.selectors import as_labels, selector_string


def default_log_providers(ctx: Context) -> bool:
    """True when an IstioOperator in the set names meshConfig.defaultProviders.accessLogging."""
    for io in ctx.manifests.of("IstioOperator"):
        mesh = io.spec.get("meshConfig")
        defaults = mesh.get("defaultProviders") if isinstance(mesh, dict) else None
        if isinstance(defaults, dict) and defaults.get("accessLogging"):
            return True
    return False


def _match_labels(m: Manifest) -> dict[str, str]:
    selector = m.spec.get("selector")
    return as_labels(selector.get("matchLabels")) if isinstance(selector, dict) else {}


def check_telemetries(ctx: Context) -> None:
    telemetries = ctx.manifests.of("Telemetry")
    if not default_log_providers(ctx):
        for m in telemetries:
            for i, entry in enumerate(m.spec.get("accessLogging") or []):
                if isinstance(entry, dict) and entry.get("disabled") is not True and not entry.get("providers"):
                    ctx.report(
                        m,
                        "IST0157",
                        f'The Telemetry {m.name} in namespace "{m.namespace}" with empty providers will be ignored.',
                        ("spec", "accessLogging", i),
                    )
    selectorless: dict[str, list[Manifest]] = defaultdict(list)
    for m in telemetries:
        if m.spec.get("selector") is None:
            selectorless[m.namespace].append(m)
    for ns, group in selectorless.items():
        if len(group) > 1:
            names = ", ".join(sorted(t.name for t in group))
            for m in group:
                ctx.report(
                    m,
                    "IST0160",
                    f'The Telemetry {m.name} in namespace "{ns}" is one of several Telemetries '
                    f"without a workload selector ({names}); only the oldest applies.",
                    ("spec",),
                )
    if ctx.workloads:
        _check_selectors(ctx, telemetries)


def _check_selectors(ctx: Context, telemetries: list[Manifest]) -> None:
    by_pod: dict[int, list[Manifest]] = defaultdict(list)
    for m in telemetries:
        labels = _match_labels(m)
        if not labels:
            continue
        pods = ctx.cluster.pods.matching(labels, m.namespace)
        if not pods:
            ctx.report(
                m,
                "IST0101",
                f'Referenced selector not found: "{selector_string(labels)}" (no workload in '
                f"namespace {m.namespace} carries these labels)",
                ("spec", "selector"),
            )
        for pod in pods:
            by_pod[pod].append(m)
    flagged: dict[int, tuple[Manifest, set[str], Any]] = {}
    for pod, group in sorted(by_pod.items()):
        if len(group) < 2:
            continue
        for m in group:
            entry = flagged.setdefault(id(m), (m, set(), ctx.cluster.pod_origins[pod]))
            entry[1].update(t.name for t in group)
    for m, names, pod in sorted(flagged.values(), key=lambda e: e[0].full_name):
        ctx.report(
            m,
            "IST0159",
            f'The Telemetries {", ".join(sorted(names))} in namespace "{m.namespace}" select the '
            f"same workload ({pod}), which leads to undefined behavior.",
            ("spec", "selector"),
        )
