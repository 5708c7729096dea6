"""Read certificates and check private keys from PEM bytes without ever returning key material."""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import serialization


def load_certificates(data: bytes) -> list[x509.Certificate]:
    """Every certificate in a PEM bundle, in order; ValueError when there is none or one is malformed."""
    certs = x509.load_pem_x509_certificates(data)
    if not certs:
        raise ValueError("no certificate")
    return certs


def dns_names(cert: x509.Certificate) -> list[str]:
    """The certificate's subjectAltName DNS names (clients ignore the common name when SANs exist)."""
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return [str(n) for n in ext.value.get_values_for_type(x509.DNSName)]


def key_matches(cert: x509.Certificate, key_pem: bytes) -> bool | None:
    """Whether an unencrypted PEM private key belongs to `cert`; None when it cannot be read.

    The parse error is dropped on purpose: its text could quote the input.
    """
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):
        return None
    except Exception:  # noqa: BLE001 - e.g. an unsupported algorithm: still "cannot be read", never the bytes
        return None
    fmt = serialization.PublicFormat.SubjectPublicKeyInfo
    enc = serialization.Encoding.DER
    try:
        return bool(key.public_key().public_bytes(enc, fmt) == cert.public_key().public_bytes(enc, fmt))
    except Exception:  # noqa: BLE001 - key types without a SubjectPublicKeyInfo form cannot match a certificate
        return False


def not_after(cert: x509.Certificate) -> dt.datetime:
    return cert.not_valid_after_utc


def not_before(cert: x509.Certificate) -> dt.datetime:
    return cert.not_valid_before_utc
