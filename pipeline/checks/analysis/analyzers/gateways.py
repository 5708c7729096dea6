"""Gateway analyzers: IST0101 (selector, credentialName), IST0162, IST0161, IST0145 and IST0138."""

from __future__ import annotations

import datetime
from collections import defaultdict
from typing import Any

from gwpipe.checks.analysis.cluster import Secret
from gwpipe.checks.analysis.context import Context
from gwpipe.checks.analysis.hosts import HostIndex, short_or_full
from gwpipe.checks.analysis.manifests import Manifest
from gwpipe.checks.analysis.selectors import as_labels, is_subset, selector_string, selects

_PEM_BEGIN = b"-----BEGIN CERTIFICATE-----"
_PEM_END = b"-----END CERTIFICATE-----"


_SELECTORS: dict[int, tuple[Manifest, dict[str, str]]] = {}


def gateway_selector(m: Manifest) -> dict[str, str]:
    """The Gateway's selector labels (memoized per manifest object: the analyzers ask many times)."""
    cached = _SELECTORS.get(id(m))
    if cached is not None and cached[0] is m:
        return cached[1]
    labels = as_labels(m.spec.get("selector"))
    if len(_SELECTORS) > 100_000:
        _SELECTORS.clear()
    _SELECTORS[id(m)] = (m, labels)
    return labels


def servers(m: Manifest) -> list[tuple[int, dict[str, Any]]]:
    raw = m.spec.get("servers")
    return [(i, s) for i, s in enumerate(raw) if isinstance(s, dict)] if isinstance(raw, list) else []


def port_number(server: dict[str, Any]) -> int | None:
    port = server.get("port")
    number = port.get("number") if isinstance(port, dict) else None
    return number if isinstance(number, int) and not isinstance(number, bool) else None


def check_gateways(ctx: Context) -> None:
    gateways = ctx.manifests.of("Gateway")
    ports_by_selector: dict[str, tuple[set[int], set[int]]] = {}
    for m in gateways if ctx.workloads else []:
        selector = gateway_selector(m)
        pods = ctx.cluster.pods.matching(selector)
        if not pods:
            ctx.report(
                m, "IST0101", f'Referenced selector not found: "{selector_string(selector)}"', ("spec", "selector")
            )
            continue
        key = selector_string(selector)
        if key not in ports_by_selector:
            ports_by_selector[key] = _service_ports(ctx, pods)
        _check_ports(ctx, m, selector, *ports_by_selector[key])
        _check_credentials(ctx, m, sorted({ctx.cluster.pods.namespace_of(i) for i in pods}))
    if ctx.workloads:
        _check_conflicts(ctx, gateways)
    _check_duplicate_certificates(ctx, gateways)


def _service_ports(ctx: Context, pods: frozenset[int]) -> tuple[set[int], set[int]]:
    """(target ports, Service ports) of TCP ports on every Service in front of the selected pods."""
    targets: set[int] = set()
    service_ports: set[int] = set()
    for i in pods:
        ns, labels = ctx.cluster.pods.pods[i]
        for svc in ctx.cluster.services_in(ns):
            if not selects(svc.selector, labels):
                continue
            for p in svc.ports:
                if p.protocol != "TCP":
                    continue
                if p.target_port:
                    targets.add(p.target_port)
                    service_ports.add(p.port)
                else:
                    targets.add(p.port)
    return targets, service_ports


def _check_ports(
    ctx: Context, m: Manifest, selector: dict[str, str], targets: set[int], service_ports: set[int]
) -> None:
    # istiod has always translated a Service port to its targetPort (resolvePorts); the analyzer learned it only
    # in 1.21.4/1.22.2/1.23, so older releases' warning was a false positive and is not reproduced
    reported: set[int] = set()
    for i, server in servers(m):
        number = port_number(server)
        if number is None or number in reported:
            continue
        if number in targets or number in service_ports:
            continue
        reported.add(number)
        ctx.report(
            m,
            "IST0162",
            f"The gateway is listening on a target port (port {number}) that is not defined in the Service associated "
            f"with its workload instances (Pod selector {selector_string(selector)}). If you need to access the gateway "
            "port through the gateway Service, it will not be available.",
            ("spec", "servers", i, "port", "number"),
        )


def _credential_names(tls: dict[str, Any]) -> list[str]:
    names = [tls["credentialName"]] if isinstance(tls.get("credentialName"), str) and tls["credentialName"] else []
    names += [str(n) for n in tls.get("credentialNames") or [] if n]
    return names


def _check_credentials(ctx: Context, m: Manifest, pod_namespaces: list[str]) -> None:
    for i, server in servers(m):
        tls = server.get("tls")
        if not isinstance(tls, dict):
            continue
        path = ("spec", "servers", i, "tls")
        mutual = str(tls.get("mode") or "") in ("MUTUAL", "OPTIONAL_MUTUAL") and not tls.get("caCertCredentialName")
        for name in _credential_names(tls):
            for gw_ns in pod_namespaces:
                ns, secret_name = short_or_full(gw_ns, name)
                if ns != gw_ns:
                    ctx.report(
                        m,
                        "IST0161",
                        f"The credential {name!r} referenced by the Gateway {m.name} is in namespace "
                        f"{ns}, but the gateway workload runs in {gw_ns}; cross-namespace references are denied "
                        "at runtime.",
                        path,
                    )
                    continue
                secret = ctx.cluster.secrets.get((ns, secret_name))
                if secret is None:
                    ctx.report(
                        m,
                        "IST0101",
                        f'Referenced credentialName not found: "{name}" (looked in namespace {ns}, '
                        "where the gateway workload runs)",
                        path,
                    )
                    continue
                problem = secret_problem(secret, ctx.now)
                if problem is None and mutual and not _has_ca(ctx, secret):
                    problem = (
                        f"it has no client CA for {tls.get('mode')} (no ca.crt or cacert key, no "
                        f"{secret.name}-cacert Secret)"
                    )
                if problem:
                    ctx.report(
                        m,
                        "IST0161",
                        f"The credential referenced by the Gateway {m.name} in namespace {gw_ns} "
                        f"is invalid: {problem}.",
                        path,
                    )


def _has_ca(ctx: Context, secret: Secret) -> bool:
    if secret.keys & {"ca.crt", "cacert"}:
        return True
    return (secret.namespace, f"{secret.name}-cacert") in ctx.cluster.secrets


def secret_problem(secret: Secret, now: datetime.datetime) -> str | None:
    """Why a credential Secret is unusable (`ExtractCertInfo` + `ValidateCertificate`), or None."""
    keys = None
    for cert_key, key_key in (("cert", "key"), ("tls.crt", "tls.key")):
        if (
            cert_key in secret.keys
            and key_key in secret.keys
            and (secret.data is None or (secret.data.get(cert_key) and secret.data.get(key_key)))
        ):
            keys = cert_key
            break
    if keys is None:
        return f"it needs non-empty tls.crt and tls.key (or cert and key), has {', '.join(sorted(secret.keys)) or 'no keys'}"
    if secret.data is not None:
        return _certificate_problem(secret.data[keys], now)
    if secret.not_after is not None and now > secret.not_after:
        return f"its certificate expired at {secret.not_after.isoformat()}"
    if secret.not_before is not None and now < secret.not_before:
        return f"its certificate is not valid before {secret.not_before.isoformat()}"
    return None


def _certificate_problem(pem: bytes, now: datetime.datetime) -> str | None:
    from cryptography import x509

    start = pem.find(_PEM_BEGIN)
    end = pem.find(_PEM_END, start)
    if start < 0 or end < 0:
        return "the certificate is not PEM"
    try:
        cert = x509.load_pem_x509_certificate(pem[start : end + len(_PEM_END)])
    except ValueError:
        return "the first PEM block is not an X.509 certificate"
    if now < cert.not_valid_before_utc:
        return f"its certificate is not valid before {cert.not_valid_before_utc.isoformat()}"
    if now > cert.not_valid_after_utc:
        return f"its certificate expired at {cert.not_valid_after_utc.isoformat()}"
    return None


def _related(ctx: Context, a: Manifest, b: Manifest, pods: dict[int, frozenset[int]]) -> bool:
    """Two Gateways apply to a common pod (or carry the same selector)."""
    if selector_string(gateway_selector(a)) == selector_string(gateway_selector(b)):
        return True
    return bool(pods[id(a)] & pods[id(b)])


def _check_conflicts(ctx: Context, gateways: list[Manifest]) -> None:
    """IST0145: different Gateways on a common pod declaring the same host on the same port and bind."""
    pods = {id(m): ctx.cluster.pods.matching(gateway_selector(m)) for m in gateways}
    # (gateway, server index) -> {other gateway full name: hosts}
    conflicts: dict[tuple[int, int], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    if ctx.version <= (1, 23):
        _legacy_conflicts(ctx, gateways, conflicts)
    else:
        with_port = ctx.version >= (1, 25)
        index: dict[tuple[int | None, str, str], list[tuple[Manifest, int]]] = defaultdict(list)
        for m in gateways:
            for i, server in servers(m):
                number = port_number(server)
                if number is None:
                    continue
                for h in {str(h) for h in server.get("hosts") or []}:
                    index[(number if with_port else None, h, str(server.get("bind") or ""))].append((m, i))
        for (_port, host, _bind), entries in index.items():
            if len(entries) < 2 or len({id(m) for m, _ in entries}) < 2:
                continue
            for a, ai in entries:
                for b, _bi in entries:
                    if a is not b and _related(ctx, a, b, pods):
                        conflicts[(id(a), ai)][b.full_name].add(host)
    by_id = {id(m): m for m in gateways}
    for (gid, i), others in sorted(conflicts.items(), key=lambda kv: (by_id[kv[0][0]].full_name, kv[0][1])):
        m = by_id[gid]
        server = servers_by_index(m)[i]
        hosts = sorted(set().union(*others.values()))
        ctx.report(
            m,
            "IST0145",
            f"Conflict with gateways {','.join(sorted(others))} (workload selector "
            f"{selector_string(gateway_selector(m))}, port {port_number(server)}, hosts {','.join(hosts)}).",
            ("spec", "servers", i),
        )


def servers_by_index(m: Manifest) -> dict[int, dict[str, Any]]:
    return dict(servers(m))


def _legacy_conflicts(
    ctx: Context, gateways: list[Manifest], conflicts: dict[tuple[int, int], dict[str, set[str]]]
) -> None:
    """Istio <= 1.23: identical selector and port, hosts overlapping by wildcard, bind ignored."""
    buckets: dict[tuple[str, int], list[tuple[Manifest, int, str]]] = defaultdict(list)
    for m in gateways:
        sel = selector_string(gateway_selector(m))
        for i, server in servers(m):
            number = port_number(server)
            if number is not None:
                buckets[(sel, number)].extend((m, i, str(h)) for h in server.get("hosts") or [])
    for entries in buckets.values():
        if len({id(m) for m, _, _ in entries}) < 2:
            continue
        owners = {id(m): m for m, _, _ in entries}
        index: HostIndex[int] = HostIndex([(h, id(m)) for m, _, h in entries])
        for m, i, h in entries:
            for other in index.overlapping(h) - {id(m)}:
                conflicts[(id(m), i)][owners[other].full_name].add(h)


def _certificate_key(tls: dict[str, Any]) -> tuple[str, ...] | None:
    if tls.get("credentialName"):
        return ("credentialName", str(tls["credentialName"]))
    if not tls.get("credentialName") and tls.get("serverCertificate") and tls.get("privateKey"):
        return ("files", str(tls["serverCertificate"]), str(tls["privateKey"]))
    return None


def _check_duplicate_certificates(ctx: Context, gateways: list[Manifest]) -> None:
    """IST0138: Gateway A shares a certificate with a Gateway B whose selector includes all of A's."""
    groups: dict[tuple[str, ...], dict[int, Manifest]] = defaultdict(dict)
    for m in gateways:
        for _i, server in servers(m):
            tls = server.get("tls")
            key = _certificate_key(tls) if isinstance(tls, dict) else None
            if key is not None:
                groups[key][id(m)] = m
    flagged: dict[int, set[str]] = defaultdict(set)
    for members in groups.values():
        if len(members) < 2:
            continue
        by_selector: dict[str, list[Manifest]] = defaultdict(list)
        for m in members.values():
            by_selector[selector_string(gateway_selector(m))].append(m)
        selectors = {s: gateway_selector(ms[0]) for s, ms in by_selector.items()}
        for sel_a, group_a in by_selector.items():
            wider = [
                m
                for s, ms in by_selector.items()
                if s != sel_a and is_subset(selectors[sel_a], selectors[s])
                for m in ms
            ]
            for a in group_a:
                partners = [b for b in group_a if b is not a] + wider
                if partners:
                    flagged[id(a)].update(b.full_name for b in partners)
    for m in gateways:
        if id(m) in flagged:
            names = " ".join([m.full_name, *sorted(flagged[id(m)])])
            ctx.report(
                m,
                "IST0138",
                f"Duplicate certificate in multiple gateways [{names}] may cause 404s if clients "
                "re-use HTTP2 connections.",
                ("spec", "servers"),
            )
