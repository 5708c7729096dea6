"""Istio facts the core and the built-in plugins share: the `istio` spec key, host matching, TLS settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gwpipe.spec.load import Spec

# defaults of the core `istio` spec key
DEFAULT_VERSION = "1.28"
DEFAULT_NAMESPACE = "istio-system"

TLS_VERSIONS = ("TLS_AUTO", "TLSV1_0", "TLSV1_1", "TLSV1_2", "TLSV1_3")
# Istio's ValidCipherSuites (BoringSSL's names without the PSK suites); Istio drops others with a warning
CIPHER_SUITES = (
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-RSA-CHACHA20-POLY1305",
    "ECDHE-ECDSA-AES128-SHA",
    "ECDHE-RSA-AES128-SHA",
    "ECDHE-ECDSA-AES256-SHA",
    "ECDHE-RSA-AES256-SHA",
    "AES128-GCM-SHA256",
    "AES256-GCM-SHA384",
    "AES128-SHA",
    "AES256-SHA",
    "DES-CBC3-SHA",
)


def target_version(spec: Spec) -> tuple[int, int]:
    """The target Istio minor version (`istio.version`) as (1, minor)."""
    raw = str((spec.get("istio") or {}).get("version", DEFAULT_VERSION))
    major, minor = raw.split(".")[:2]
    return int(major), int(minor)


def control_namespace(spec: Spec) -> str:
    """The control plane's namespace (`istio.namespace`)."""
    return str((spec.get("istio") or {}).get("namespace", DEFAULT_NAMESPACE))


def host_matches(a: str, b: str) -> bool:
    """`host.Name.Matches`: the two names overlap (symmetric; `*` and `*.x` are wildcards)."""
    wa, wb = a.startswith("*"), b.startswith("*")
    if not wa and not wb:
        return a == b
    if wa and not wb:
        return b.endswith(a[1:])
    if wb and not wa:
        return a.endswith(b[1:])
    longer, shorter = (a, b) if len(a) >= len(b) else (b, a)
    return longer[1:].endswith(shorter[1:])


def host_subset_of(a: str, b: str) -> bool:
    """`host.Name.SubsetOf`: every name `a` covers is covered by `b`."""
    if b.startswith("*"):
        return a.endswith(b[1:])
    return not a.startswith("*") and a == b
