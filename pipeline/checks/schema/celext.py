"""The Kubernetes CEL extension functions the CRD rules use (strings, URLs, IPs), for celpy."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any

from celpy import celtypes
from celpy.evaluation import CELEvalError

_SCHEME_REST = re.compile(r"[A-Za-z0-9+.-]")
_HOST_OK = re.compile(r"^[A-Za-z0-9\-_.~!$&'()*+,;=:\[\]<>\"]*$")
_USERINFO_OK = re.compile(r"^[A-Za-z0-9\-_.~!$&'()*+,;=:@%]*$")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


@dataclass(frozen=True)
class URL:
    """The result of `url()`: a URL Go's `url.ParseRequestURI` accepts."""

    scheme: str
    host: str
    path: str
    query: str


def parse_request_uri(text: str) -> URL | None:
    """Go's `url.ParseRequestURI` acceptance rules (the ones `isURL` and `url` use), or None when it rejects."""
    if not text or any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        return None
    scheme, rest = "", text
    for i, c in enumerate(text):
        if c.isascii() and c.isalpha():
            continue
        if c == ":":
            if i == 0:
                return None
            scheme, rest = text[:i].lower(), text[i + 1 :]
            break
        if i > 0 and _SCHEME_REST.match(c):
            continue
        break
    rest, _, query = rest.partition("?")
    if not rest.startswith("/"):
        return URL(scheme, "", rest, query) if scheme else None
    host = ""
    if scheme and rest.startswith("//"):
        authority, slash, path = rest[2:].partition("/")
        rest = slash + path
        userinfo, at, host = authority.rpartition("@")
        if at and not _USERINFO_OK.match(userinfo):
            return None
        if not _valid_host(host):
            return None
    if _BAD_ESCAPE.search(rest):
        return None
    return URL(scheme, host, rest, query)


def _valid_host(host: str) -> bool:
    if host.startswith("["):
        end = host.find("]")
        port = host[end + 1 :]
        return end > 0 and (port == "" or (port.startswith(":") and (port == ":" or port[1:].isdigit())))
    name, colon, port = host.rpartition(":")
    if colon and port and not port.isdigit():
        return False
    return bool(_HOST_OK.match(name if colon else host)) and not _BAD_ESCAPE.search(host)


def is_ip(text: str) -> bool:
    """Kubernetes `isIP`: an IPv4 or IPv6 address, no zone, no leading zeros."""
    if "%" in text:
        return False
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _is_url(text: Any) -> Any:
    return celtypes.BoolType(isinstance(text, str) and parse_request_uri(str(text)) is not None)


def _url(text: Any) -> Any:
    parsed = parse_request_uri(str(text))
    if parsed is None:
        return CELEvalError(f"url() requires a valid URL, got {str(text)!r}", ValueError, None)
    return parsed


def _get_scheme(url: Any) -> Any:
    if not isinstance(url, URL):
        return CELEvalError("getScheme() needs a URL", TypeError, None)
    return celtypes.StringType(url.scheme)


def _is_ip(text: Any) -> Any:
    return celtypes.BoolType(isinstance(text, str) and is_ip(str(text)))


def _substring(text: Any, start: Any, end: Any = None) -> Any:
    stop = len(text) if end is None else int(end)
    if not 0 <= int(start) <= stop <= len(text):
        return CELEvalError(
            f"substring({start}, {stop}) out of range for a string of length {len(text)}", IndexError, None
        )
    return celtypes.StringType(str(text)[int(start) : stop])


def _split(text: Any, separator: Any, limit: Any = None) -> Any:
    n = -1 if limit is None else int(limit)
    if n == 0:
        return celtypes.ListType([])
    value, sep = str(text), str(separator)
    if not sep:
        chars = list(value)
        parts = chars if n < 0 or n >= len(chars) else [*chars[: n - 1], "".join(chars[n - 1 :])]
    else:
        parts = value.split(sep, n - 1) if n > 0 else value.split(sep)
    return celtypes.ListType([celtypes.StringType(p) for p in parts])


# every extension function a rule in the reference CRDs calls; celpy supplies the standard ones
KUBERNETES_FUNCTIONS: dict[str, Any] = {
    "isURL": _is_url,
    "url": _url,
    "getScheme": _get_scheme,
    "isIP": _is_ip,
    "substring": _substring,
    "split": _split,
}
