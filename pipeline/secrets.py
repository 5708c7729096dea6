"""Find private-key material in any text gwpipe would write, commit, send or print."""

from __future__ import annotations

import re

# base64 of "-----BEGIN" at each of the three byte alignments, so an encoded PEM is caught too
_B64_BEGIN = ("LS0tLS1CRUdJTi", "0tLS0tQkVHSU4", "tLS0tLUJFR0lO")
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("PEM private key", re.compile(r"-----BEGIN[ A-Z0-9]*PRIVATE KEY( BLOCK)?-----")),
    ("base64-encoded PEM block", re.compile("|".join(_B64_BEGIN))),
    ("PKCS#12 keystore", re.compile(r"\bMII[A-Za-z0-9+/]{2}[A-Za-z0-9+/]{0,4}AgEDMII")),
    ("OpenSSH private key", re.compile(r"openssh-key-v1|b3BlbnNzaC1rZXktdjE")),
)
PRIVATE_FILE_SUFFIXES = (".key", ".p12", ".pfx", ".jks", ".keystore")


def find_secrets(text: str) -> list[str]:
    """Names of the kinds of key material in `text` (never the material itself)."""
    return [name for name, pattern in _PATTERNS if pattern.search(text)]


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """`text` with each known secret value and any PEM block replaced by `<redacted, N bytes>`."""
    for value in secrets:
        if value:
            text = text.replace(value, f"<redacted, {len(value.encode())} bytes>")
    return re.sub(
        r"-----BEGIN [^-]+-----.*?-----END [^-]+-----",
        lambda m: f"<redacted, {len(m.group().encode())} bytes>",
        text,
        flags=re.S,
    )
