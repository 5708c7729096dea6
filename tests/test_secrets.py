"""The key-material detector on real keys and keystores made with cryptography, and its redaction."""

from __future__ import annotations

import base64
import datetime
from collections.abc import Callable
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    NoEncryption,
    PrivateFormat,
    pkcs12,
)
from gwpipe.secrets import find_secrets, redact

KEYS: dict[str, Callable[[], Any]] = {
    "ec": lambda: ec.generate_private_key(ec.SECP256R1()),
    "rsa": lambda: rsa.generate_private_key(65537, 2048),
    "ed25519": ed25519.Ed25519PrivateKey.generate,
}


def _containers(key: Any) -> dict[str, bytes]:
    out = {
        "pkcs12": pkcs12.serialize_key_and_certificates(b"x", key, None, None, NoEncryption()),
        "pkcs12 with password": pkcs12.serialize_key_and_certificates(
            b"x", key, None, None, BestAvailableEncryption(b"p")
        ),
        "pkcs8 der": key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption()),
        "encrypted pkcs8 der": key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, BestAvailableEncryption(b"p")),
    }
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        out["traditional der"] = key.private_bytes(Encoding.DER, PrivateFormat.TraditionalOpenSSL, NoEncryption())
    return out


@pytest.mark.parametrize("algorithm", sorted(KEYS))
def test_every_der_and_keystore_form_is_found_and_redacted(algorithm: str) -> None:
    for form, blob in _containers(KEYS[algorithm]()).items():
        encoded = base64.b64encode(blob).decode()
        assert find_secrets(f"data: {encoded}\n"), form
        assert encoded not in redact(f"error: x: got {encoded!r}"), form


@pytest.mark.parametrize("algorithm", ["ec", "rsa"])
def test_certificates_are_public_and_not_flagged(algorithm: str) -> None:
    key = KEYS[algorithm]()
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "a.example.com")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(datetime.datetime(2026, 1, 1))
        .not_valid_after(datetime.datetime(2027, 1, 1))
        .sign(key, hashes.SHA256())
    )
    encoded = base64.b64encode(cert.public_bytes(Encoding.DER)).decode()
    assert find_secrets(encoded) == []
    assert redact(encoded) == encoded


@pytest.mark.parametrize(
    "text",
    [
        '"-----BEGIN PRIVATE KEY-----MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"',  # header without its END line
        "-----BEGIN EC PRIVATE KEY-----\\nMHcCAQEEIDeF\\n",  # escaped newlines, as repr() prints them
        base64.b64encode(b"-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\n").decode(),
    ],
)
def test_partial_and_encoded_pem_is_redacted(text: str) -> None:
    assert find_secrets(text)
    shown = redact(f"error: f.yaml:1:1: {text}")
    for material in ("MII", "MHc", "LS0t"):
        assert material not in shown
    assert "<redacted, " in shown
