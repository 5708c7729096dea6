"""Run every admission rule and analyzer over a manifest set, then dedupe, sort and apply suppressions."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from gwpipe.checks.analysis.analyzers.gateways import check_gateways
from gwpipe.checks.analysis.analyzers.jwtclaims import check_jwt_claim_routes
from gwpipe.checks.analysis.analyzers.telemetry import check_telemetries
from gwpipe.checks.analysis.analyzers.virtualservices import check_virtual_services
from gwpipe.checks.analysis.cluster import build_cluster
from gwpipe.checks.analysis.context import Context, Reporter
from gwpipe.checks.analysis.manifests import Manifest, ManifestSet
from gwpipe.checks.analysis.rules.gateway import check_gateway
from gwpipe.checks.analysis.rules.istiooperator import check_istio_operator
from gwpipe.checks.analysis.rules.telemetry import check_telemetry
from gwpipe.checks.analysis.rules.virtualservice import check_virtual_service
from gwpipe.checks.analysis.suppress import Suppression, unsuppressed
from gwpipe.model import Finding

RULES: dict[str, Callable[[Reporter, Manifest], None]] = {
    "Gateway": check_gateway,
    "VirtualService": check_virtual_service,
    "Telemetry": check_telemetry,
    "IstioOperator": check_istio_operator,
}
ANALYZERS: tuple[Callable[[Context], None], ...] = (
    check_gateways,
    check_virtual_services,
    check_jwt_claim_routes,
    check_telemetries,
)


def rule_findings(m: Manifest) -> list[Finding]:
    """The admission rule's findings for one manifest (before suppression, which needs the whole set)."""
    rule = RULES.get(m.kind)
    if rule is None or m.api_version.split("/")[0] not in _GROUPS[m.kind]:
        return []
    reporter = Reporter()
    rule(reporter, m)
    return reporter.findings


def analyze(
    manifests: ManifestSet,
    inventory: list[dict[str, Any]],
    version: tuple[int, int],
    suppressions: list[Suppression] | None = None,
    now: datetime.datetime | None = None,
    services_declared: bool = True,
    structure: tuple[list[Finding], set[int]] | None = None,
    workloads: bool = True,
) -> list[Finding]:
    """Every admission-rule and analyzer finding for the set, deduplicated, sorted, suppressions applied.

    `services_declared`: Service manifests in the set describe their namespace's Services (files given to
    `gwpipe analyze`); a render's own gateway Services do not, only inventory Services do.
    `structure`: the schema findings and the ids of the manifests with a structural error (`structure_findings`);
    rules and analyzers say nothing about those objects, whose fields may not mean what they read as.
    `workloads`: run the analyzers that need the cluster's Pods, Services and Secrets (gateway and telemetry
    selectors, gateway ports, credentials and conflicts, destination hosts, JWT claim routes). `istioctl analyze
    --use-kube=false` skips them on files, whatever kinds the files hold; a render or an inventory knows them.
    """
    cluster = build_cluster(manifests, inventory, services_declared)
    ctx = Context(manifests, cluster, version, workloads=workloads)
    if now is not None:
        ctx.now = now
    invalid = structure[1] if structure is not None else set()
    for m in manifests:
        if id(m) not in invalid:
            ctx.findings.extend(rule_findings(m))
    for analyzer in ANALYZERS:
        analyzer(ctx)
    if invalid:
        broken = {(m.kind, m.namespace, m.name, m.file) for m in manifests if id(m) in invalid}
        ctx.findings = [f for f in ctx.findings if (f.kind, f.namespace, f.name, f.file) not in broken]
    if structure is not None:
        ctx.findings = structure[0] + ctx.findings
    if not ctx.findings:
        return []
    found = unsuppressed(list(dict.fromkeys(ctx.findings)), manifests, suppressions or [])
    return sorted(found, key=lambda f: (f.file or "", f.line or 0, f.kind, f.namespace, f.name, f.code, f.message))


_GROUPS = {
    "Gateway": {"networking.istio.io"},
    "VirtualService": {"networking.istio.io"},
    "Telemetry": {"telemetry.istio.io"},
    "IstioOperator": {"install.istio.io"},
}
