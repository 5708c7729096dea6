"""IST0149: a VirtualService routes on JWT claims through a Gateway whose pods no RequestAuthentication covers."""

from __future__ import annotations

from gwpipe.checks.analysis.analyzers.gateways import gateway_selector
from gwpipe.checks.analysis.context import Context
from gwpipe.checks.analysis.hosts import short_or_full
from gwpipe.checks.analysis.manifests import Manifest
from gwpipe.checks.analysis.selectors import as_labels, selects

# the header-name prefix of claim routing, compared as istioctl's analyzer compares it (case-sensitive)
CLAIM_PREFIX = "@request.auth.claims"
# RequestAuthentications here apply to pods of every namespace
ROOT_NAMESPACE = "istio-system"


def claim_key(m: Manifest) -> str | None:
    """The first header match key (headers, then withoutHeaders, per match) that routes on a JWT claim."""
    for route in m.spec.get("http") or []:
        for match in route.get("match") or [] if isinstance(route, dict) else []:
            if not isinstance(match, dict):
                continue
            for key in ("headers", "withoutHeaders"):
                headers = match.get(key)
                for name in headers if isinstance(headers, dict) else {}:
                    if str(name).startswith(CLAIM_PREFIX):
                        return str(name)
    return None


def check_jwt_claim_routes(ctx: Context) -> None:
    routing = [(m, key) for m in ctx.manifests.of("VirtualService") if (key := claim_key(m)) is not None]
    if not routing or not ctx.workloads:
        return
    # an absent selector is the empty selector, which selects every pod
    authn: dict[str, list[dict[str, str]]] = {}
    for ra in ctx.manifests.of("RequestAuthentication"):
        selector = ra.spec.get("selector")
        labels = as_labels(selector.get("matchLabels")) if isinstance(selector, dict) else {}
        authn.setdefault(ra.namespace, []).append(labels)
    pods = ctx.cluster.pods
    for m, key in routing:
        for i, ref in enumerate(m.spec.get("gateways") or []):
            ref = str(ref)
            if ref == "mesh":
                continue
            ns, name = short_or_full(m.namespace, ref)
            gateway = ctx.manifests.get("Gateway", ns, name)
            if gateway is None:
                continue  # IST0101 says the Gateway is missing
            for pod in sorted(pods.matching(gateway_selector(gateway))):
                pod_ns, labels = pods.pods[pod]
                candidates = authn.get(ROOT_NAMESPACE, []) + (authn.get(pod_ns, []) if pod_ns != ROOT_NAMESPACE else [])
                if any(selects(s, labels) for s in candidates):
                    continue
                ctx.report(
                    m,
                    "IST0149",
                    f"This VirtualService routes on the JWT claim {key!r} through Gateway {ns}/{name}, but no "
                    f"RequestAuthentication applies to its pod ({ctx.cluster.pod_origins[pod]}): without one the "
                    "claims are never validated nor available for routing.",
                    ("spec", "gateways", i),
                )
