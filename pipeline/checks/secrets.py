"""Find private-key material in any text gwpipe would write, commit, send or print, and redact it."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence

from gwpipe import fast

_PEM_KEY = re.compile(r"-----BEGIN[ A-Z0-9]*PRIVATE KEY( BLOCK)?-----")
# base64 of "-----BEGIN" at each of the three byte alignments, so an encoded PEM is caught too
_B64_PEM = re.compile("LS0tLS1CRUdJTi|0tLS0tQkVHSU4|tLS0tLUJFR0lO")
# the OpenSSH key format's magic, plain and base64-encoded
_OPENSSH = ("openssh-key-v1", "b3BlbnNzaC1rZXktdjE")
# a run of base64 long enough to hold a DER key; its first bytes say what it is
_B64_RUN = re.compile(r"[A-Za-z0-9+/]{40,}={0,2}")
# what follows a DER SEQUENCE header in each kind of private key container
_DER_KINDS = (
    (b"\x02\x01\x03\x30", "PKCS#12 keystore"),  # PFX: version 3, then authSafe
    (b"\x02\x01\x00\x30", "DER private key (PKCS#8)"),  # version 0, then the algorithm
    (b"\x02\x01\x01\x04", "DER EC private key"),  # SEC1: version 1, then the key octets
    (b"\x02\x01\x00\x02", "DER RSA private key"),  # PKCS#1: version 0, then the modulus
)
# PKCS#5 (PBES2) and PKCS#12 PBE algorithm OIDs: an encrypted PKCS#8 key starts with one
_ENCRYPTED_OIDS = (b"\x2a\x86\x48\x86\xf7\x0d\x01\x05", b"\x2a\x86\x48\x86\xf7\x0d\x01\x0c\x01")
# a PEM header without its END line (truncated or quoted with escaped newlines) up to the last key char
_PEM_PARTIAL = re.compile(r"-----BEGIN[ A-Z0-9]*PRIVATE KEY( BLOCK)?-----(?:[A-Za-z0-9+/=\s]|\\n)*")
_PEM_BLOCK = re.compile(r"-----BEGIN [^-]+-----.*?-----END [^-]+-----", re.S)
PRIVATE_FILE_SUFFIXES = (".key", ".p12", ".pfx", ".jks", ".keystore")
# a substring of each of _B64_PEM's three alternatives
_B64_PEM_MARK = "LS0t"
# every base64 character folds to "+" and every other byte to a newline, so a run is a plain substring search
_RUN_LENGTH = 40
_BASE64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_FOLD = bytes(0x2B if c in _BASE64 else 0x0A for c in range(256))
_RUN = b"+" * _RUN_LENGTH
# a regex every text holding key material matches: each detector above needs one of these substrings
# (fastvalidate hands it to jsonschema-rs; plain ASCII alternatives read the same in its regex engine)
SECRET_HINT = "|".join(["BEGIN", _B64_PEM.pattern, *_OPENSSH, f"[A-Za-z0-9+/]{{{_RUN_LENGTH}}}"])


def _der_kind(run: str) -> str | None:
    """The kind of private-key container a base64 run starts with, if any."""
    try:
        head = base64.b64decode(run[:32])
    except (binascii.Error, ValueError):
        return None
    if len(head) < 8 or head[0] != 0x30:
        return None
    offset = {0x81: 3, 0x82: 4, 0x83: 5}.get(head[1], 2 if head[1] < 0x80 else 0)
    if not offset:
        return None
    rest = head[offset:]
    for prefix, kind in _DER_KINDS:
        if rest.startswith(prefix):
            return kind
    if rest[:1] == b"\x30" and any(oid in head for oid in _ENCRYPTED_OIDS):
        return "encrypted DER private key (PKCS#8)"
    return None


def find_secrets(text: str) -> list[str]:
    """Names of the kinds of key material in `text` (never the material itself)."""
    # gated: each detector runs only when a substring its pattern cannot match without is present (most
    # text has none); ungated, GWPIPE_FAST=0, every detector runs
    gated = fast.enabled()
    found = []
    if (not gated or "-----BEGIN" in text) and _PEM_KEY.search(text):
        found.append("PEM private key")
    if (not gated or _B64_PEM_MARK in text) and _B64_PEM.search(text):
        found.append("base64-encoded PEM block")
    if _OPENSSH[0] in text or _OPENSSH[1] in text:
        found.append("OpenSSH private key")
    if not gated or has_base64_run(text):
        for match in _B64_RUN.finditer(text):
            kind = _der_kind(match.group())
            if kind and kind not in found:
                found.append(kind)
    return found


def find_secrets_each(texts: Sequence[str]) -> list[list[str]]:
    """`find_secrets` of each text; one scan of them all when, as usual, none holds anything."""
    if not fast.enabled():
        return [find_secrets(text) for text in texts]
    # no marker and no base64 run contains a newline, so none can straddle two joined texts
    joined = "\n".join(texts)
    if (
        "-----BEGIN" in joined
        or _B64_PEM_MARK in joined
        or _OPENSSH[0] in joined
        or _OPENSSH[1] in joined
        or has_base64_run(joined)
    ):
        return [find_secrets(text) for text in texts]
    return [[] for _ in texts]


def has_base64_run(text: str) -> bool:
    """True when `text` holds a run `_B64_RUN` matches (40 base64 characters in a row), found without a regex scan."""
    return len(text) >= _RUN_LENGTH and _RUN in text.encode("utf-8", "surrogatepass").translate(_FOLD)


def _sized(match: re.Match[str]) -> str:
    return f"<redacted, {len(match.group().encode())} bytes>"


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """`text` with known secret values, PEM blocks and base64 key material replaced by `<redacted, N bytes>`."""
    for value in secrets:
        if value:
            text = text.replace(value, f"<redacted, {len(value.encode())} bytes>")
    text = _PEM_BLOCK.sub(_sized, text)
    text = _PEM_PARTIAL.sub(_sized, text)
    return _B64_RUN.sub(lambda m: _sized(m) if _B64_PEM.search(m.group()) or _der_kind(m.group()) else m.group(), text)
