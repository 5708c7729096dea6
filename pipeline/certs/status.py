"""Inspect the Certificates and Secrets an environment expects in a cluster, one row per credential."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from gwpipe.certs.coverage import uncovered
from gwpipe.certs.expected import Credential, issuer_ref
from gwpipe.certs.kube import CERT_MANAGER, Cluster, ClusterError, call, clean_text
from gwpipe.certs.pem import dns_names, key_matches, load_certificates
from gwpipe.errors import Problem

NOT_SERVED = "the cert-manager.io/v1 Certificate API is not served; is cert-manager installed?"


@dataclass
class CertificateState:
    """What cert-manager reports about one Certificate."""

    ref: str
    found: bool
    ready: str | None = None  # the Ready condition's status: "True", "False", "Unknown", or None when absent
    reason: str | None = None
    not_after: dt.datetime | None = None
    renewal_time: dt.datetime | None = None
    issuer: str | None = None
    dns_names: list[str] = field(default_factory=list)


@dataclass
class SecretState:
    """What the credential Secret holds, never its key."""

    ref: str
    found: bool
    keys: list[str] = field(default_factory=list)
    not_after: dt.datetime | None = None
    dns_names: list[str] = field(default_factory=list)
    ca: str | None = None  # where the client CA was found, for MUTUAL credentials


@dataclass
class Row:
    """One credential: its Certificate, its Secret and every problem found."""

    credential: Credential
    certificate: CertificateState | None
    secret: SecretState
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def not_after(self) -> dt.datetime | None:
        return self.secret.not_after or (self.certificate.not_after if self.certificate else None)


def inspect(cluster: Cluster, credentials: list[Credential], threshold: dt.timedelta, now: dt.datetime) -> list[Row]:
    """Read every expected Certificate and Secret; API failures raise ClusterError, findings become problems."""
    return [_inspect_one(cluster, c, threshold, now) for c in credentials]


def _inspect_one(cluster: Cluster, credential: Credential, threshold: dt.timedelta, now: dt.datetime) -> Row:
    secret_ref = f"Secret {credential.ref}"
    problems = [Problem(secret_ref, p) for p in credential.problems]
    certificate = _certificate(cluster, credential, problems) if credential.certificate else None
    secret = _secret(cluster, credential, problems, threshold, now)
    if secret.not_after is None and certificate is not None and certificate.not_after is not None:
        where = f"Certificate {certificate.ref}"
        _expiry(problems, where, "status.notAfter", certificate.not_after, threshold, now)
    return Row(credential, certificate, secret, problems)


def _certificate(cluster: Cluster, credential: Credential, problems: list[Problem]) -> CertificateState:
    expected = credential.certificate
    assert expected is not None
    where = f"Certificate {expected.ref}"
    group, version, plural = CERT_MANAGER
    obj: dict[str, Any] | None = call(
        cluster,
        f"get {where}",
        cluster.custom().get_namespaced_custom_object,
        group,
        version,
        expected.namespace,
        plural,
        expected.name,
        missing_ok=expected.name,
        unserved=NOT_SERVED,
    )
    if obj is None:
        problems.append(Problem(where, "not found in the cluster"))
        return CertificateState(expected.ref, False)
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
    state = CertificateState(
        expected.ref,
        True,
        ready=str(ready.get("status")) if ready else None,
        reason=clean_text(str(ready.get("reason", "")), 100) if ready else None,
        not_after=_time(status.get("notAfter")),
        renewal_time=_time(status.get("renewalTime")),
        issuer=issuer_ref(spec.get("issuerRef")),
        dns_names=[str(n) for n in spec.get("dnsNames") or []],
    )
    if ready is None:
        problems.append(Problem(where, "not ready: no Ready condition yet"))
    elif state.ready != "True":
        message = clean_text(str(ready.get("message", "")))
        detail = (state.reason or "no reason") + (f": {message}" if message else "")
        problems.append(Problem(where, f"not ready (Ready={state.ready}): {detail}"))
    if state.issuer != expected.issuer:
        problems.append(Problem(where, f"issuerRef is {state.issuer}, the environment expects {expected.issuer}"))
    if spec.get("secretName") != credential.name:
        problems.append(
            Problem(where, f"secretName is {spec.get('secretName')!r}, the Gateway expects {credential.name!r}")
        )
    missing = uncovered(state.dns_names, credential.hosts)
    if missing:
        problems.append(Problem(where, f"dnsNames do not cover host(s) {', '.join(missing)}"))
    return state


def _secret(
    cluster: Cluster, credential: Credential, problems: list[Problem], threshold: dt.timedelta, now: dt.datetime
) -> SecretState:
    where = f"Secret {credential.ref}"
    obj = _read_secret(cluster, credential.namespace, credential.name)
    if obj is None:
        elsewhere = _found_elsewhere(cluster, credential)
        if elsewhere:
            problems.append(
                Problem(
                    where,
                    (
                        f"not found; a Secret {credential.name!r} exists in namespace(s) {', '.join(elsewhere)}, but istio reads "
                        f"credentials only from the gateway workload namespace {credential.namespace!r}"
                    ),
                )
            )
        else:
            problems.append(Problem(where, "not found in the gateway workload namespace"))
        return SecretState(credential.ref, False)
    data = obj.data or {}
    state = SecretState(credential.ref, True, keys=sorted(data))
    # istio accepts the generic form (cert/key) before the TLS form (tls.crt/tls.key)
    cert_key, key_key = ("cert", "key") if data.get("cert") and data.get("key") else ("tls.crt", "tls.key")
    cert_pem, key_pem = _decoded(data, cert_key), _decoded(data, key_key)
    if not cert_pem:
        problems.append(Problem(where, f"has no {cert_key}" if cert_key not in data else f"{cert_key} is empty"))
    if not key_pem:
        problems.append(Problem(where, f"has no {key_key}" if key_key not in data else f"{key_key} is empty"))
    if cert_pem:
        _leaf(state, problems, where, cert_key, cert_pem, key_pem, credential, threshold, now)
    if credential.mutual:
        _client_ca(cluster, credential, data, state, problems, now)
    return state


def _leaf(
    state: SecretState,
    problems: list[Problem],
    where: str,
    cert_key: str,
    cert_pem: bytes,
    key_pem: bytes | None,
    credential: Credential,
    threshold: dt.timedelta,
    now: dt.datetime,
) -> None:
    try:
        leaf = load_certificates(cert_pem)[0]
    except ValueError:
        problems.append(Problem(where, f"{cert_key} is not a PEM certificate"))
        return
    state.not_after = leaf.not_valid_after_utc
    state.dns_names = dns_names(leaf)
    if leaf.not_valid_before_utc > now:
        problems.append(
            Problem(where, f"certificate in {cert_key} is not valid before {_iso(leaf.not_valid_before_utc)}")
        )
    _expiry(problems, where, f"certificate in {cert_key}", leaf.not_valid_after_utc, threshold, now)
    missing = uncovered(state.dns_names, credential.hosts)
    if missing:
        problems.append(Problem(where, f"certificate in {cert_key} has no SAN covering host(s) {', '.join(missing)}"))
    if key_pem:
        matches = key_matches(leaf, key_pem)
        if matches is None:
            problems.append(Problem(where, "private key is not an unencrypted PEM key"))
        elif not matches:
            problems.append(Problem(where, f"private key does not belong to the certificate in {cert_key}"))


def _client_ca(
    cluster: Cluster,
    credential: Credential,
    data: dict[str, str],
    state: SecretState,
    problems: list[Problem],
    now: dt.datetime,
) -> None:
    where = f"Secret {credential.ref}"
    own = _decoded(data, "ca.crt") or _decoded(data, "cacert")
    separate_name = f"{credential.name}-cacert"
    separate = None
    if credential.ca_source in (None, "cacert-secret"):
        obj = _read_secret(cluster, credential.namespace, separate_name)
        if obj is not None:
            separate = _decoded(obj.data or {}, "ca.crt") or _decoded(obj.data or {}, "cacert")
            if not separate:
                problems.append(Problem(f"Secret {credential.namespace}/{separate_name}", "has no ca.crt or cacert"))
                return
    if credential.ca_source == "cacert-secret":
        candidates = [(f"Secret {credential.namespace}/{separate_name}", separate)]
        needed = f"{credential.mode} with caSource cacert-secret needs Secret {credential.namespace}/{separate_name} with ca.crt"
    elif credential.ca_source == "credential":
        candidates = [(where, own)]
        needed = f"{credential.mode} with caSource credential needs ca.crt in this Secret"
    else:
        candidates = [(f"Secret {credential.namespace}/{separate_name}", separate), (where, own)]
        needed = f"{credential.mode} needs a client CA: ca.crt in this Secret or a Secret {separate_name!r}"
    source, pem = next(((s, p) for s, p in candidates if p), (None, None))
    if source is None or pem is None:
        problems.append(Problem(where, needed))
        return
    state.ca = source
    try:
        cas = load_certificates(pem)
    except ValueError:
        problems.append(Problem(source, "client CA bundle is not PEM certificates"))
        return
    if all(c.not_valid_after_utc < now for c in cas):
        problems.append(
            Problem(
                source,
                f"every client CA certificate has expired (last on {_iso(max(c.not_valid_after_utc for c in cas))})",
            )
        )


def _expiry(
    problems: list[Problem], where: str, what: str, not_after: dt.datetime, threshold: dt.timedelta, now: dt.datetime
) -> None:
    left = not_after - now
    if left <= dt.timedelta(0):
        problems.append(Problem(where, f"{what} expired on {_iso(not_after)}"))
    elif left <= threshold:
        problems.append(
            Problem(
                where,
                (f"{what} expires on {_iso(not_after)}, in {_days(left)}, within the {_days(threshold)} threshold"),
            )
        )


def _read_secret(cluster: Cluster, namespace: str, name: str) -> Any:
    core = cluster.core()
    return call(
        cluster, f"get Secret {namespace}/{name}", core.read_namespaced_secret, name, namespace, missing_ok=name
    )


def _found_elsewhere(cluster: Cluster, credential: Credential) -> list[str]:
    """Namespaces where people often put the Secret by mistake: the Gateways' own and the Certificate's."""
    candidates = {g.split("/", 1)[0] for g in credential.gateways}
    if credential.certificate is not None:
        candidates.add(credential.certificate.namespace)
    candidates.discard(credential.namespace)
    found = []
    for namespace in sorted(candidates):
        try:
            if _read_secret(cluster, namespace, credential.name) is not None:
                found.append(namespace)
        except ClusterError:
            continue  # only a hint: not being allowed to look elsewhere is no failure
    return found


def _decoded(data: dict[str, str], key: str) -> bytes | None:
    raw = data.get(key)
    if not raw:
        return None
    try:
        return base64.b64decode(raw, validate=True) or None
    except (binascii.Error, ValueError):
        return None


def _time(value: Any) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _days(delta: dt.timedelta) -> str:
    if delta >= dt.timedelta(days=1):
        return f"{delta.days}d"
    return f"{int(delta.total_seconds() // 3600)}h"


def iso(value: dt.datetime | None) -> str | None:
    return _iso(value) if value else None
