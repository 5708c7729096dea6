"""The key-material detector on real keys and keystores made with cryptography, and its redaction."""

from __future__ import annotations

import base64
import datetime
import re
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
from hypothesis import given, settings
from hypothesis import strategies as st

from gwpipe.checks.secrets import _der_kind, find_secrets, find_secrets_each, has_base64_run, redact

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


# The detectors as plain regex scans, without the substring gates find_secrets puts in front of them.
_REFERENCE_PEM = re.compile(r"-----BEGIN[ A-Z0-9]*PRIVATE KEY( BLOCK)?-----")
_REFERENCE_B64_PEM = re.compile("LS0tLS1CRUdJTi|0tLS0tQkVHSU4|tLS0tLUJFR0lO")
_REFERENCE_OPENSSH = re.compile("openssh-key-v1|b3BlbnNzaC1rZXktdjE")
_REFERENCE_RUN = re.compile(r"[A-Za-z0-9+/]{40,}={0,2}")


def reference_find_secrets(text: str) -> list[str]:
    found = []
    if _REFERENCE_PEM.search(text):
        found.append("PEM private key")
    if _REFERENCE_B64_PEM.search(text):
        found.append("base64-encoded PEM block")
    if _REFERENCE_OPENSSH.search(text):
        found.append("OpenSSH private key")
    for match in _REFERENCE_RUN.finditer(text):
        kind = _der_kind(match.group())
        if kind and kind not in found:
            found.append(kind)
    return found


def _b64(prefix: bytes) -> st.SearchStrategy[str]:
    return st.binary(min_size=20, max_size=40).map(lambda tail: base64.b64encode(prefix + tail).decode())


# pieces that sit on either side of every gate: markers whole and cut, base64 runs around 40 characters
# (digits, +, / and = included), key and keystore headers, non-ASCII and a lone surrogate
FRAGMENT = st.one_of(
    st.sampled_from(
        [
            "-----BEGIN",
            "-----BEGIN RSA PRIVATE KEY-----",
            "-----BEGIN PRIVATE KEY BLOCK-----",
            "-----BEGIN CERTIFICATE-----",
            "PRIVATE KEY-----",
            "LS0t",
            "LS0tLS1CRUdJTi",
            "0tLS0tQkVHSU4",
            "tLS0tLUJFR0lO",
            "openssh-key-v1",
            "openssh-key-v",
            "b3BlbnNzaC1rZXktdjE",
            "==",
            "\n",
            " ",
            ": ",
            "é",
            "\udc80",
            "\\n",
        ]
    ),
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", min_size=30, max_size=50),
    st.text(alphabet="A0+/=-\n é", max_size=12),
    _b64(b"\x30\x82\x04\xa4\x02\x01\x00\x02"),
    _b64(b"\x30\x81\x87\x02\x01\x00\x30\x13"),
    _b64(b"\x30\x77\x02\x01\x01\x04\x20"),
    _b64(b"\x30\x82\x09\x00\x02\x01\x03\x30"),
    _b64(b"\x30\x81\xa0\x30\x5c\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x05\x0d"),
)
TEXT = st.lists(FRAGMENT, max_size=8).map("".join)


@settings(max_examples=400)
@given(TEXT)
def test_gated_detectors_find_what_the_plain_scans_find(text: str) -> None:
    assert find_secrets(text) == reference_find_secrets(text)


@settings(max_examples=400)
@given(TEXT)
def test_base64_run_test_agrees_with_the_run_pattern(text: str) -> None:
    assert has_base64_run(text) == bool(_REFERENCE_RUN.search(text))


@settings(max_examples=200)
@given(st.lists(TEXT, max_size=6))
def test_one_scan_of_many_texts_finds_what_each_scan_finds(texts: list[str]) -> None:
    assert find_secrets_each(texts) == [reference_find_secrets(t) for t in texts]


def test_a_run_split_across_two_texts_is_not_a_run() -> None:
    half = "QUJD" * 6  # 24 base64 characters: a run only when joined without the newline
    assert find_secrets_each([half, half]) == [[], []]
    assert not has_base64_run("\n".join([half, half]))
    assert has_base64_run(half + half)
