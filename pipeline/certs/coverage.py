"""Whether certificate names cover Gateway hosts, with TLS (single-label) wildcard semantics."""

from __future__ import annotations

from collections.abc import Iterable


def bare_host(host: str) -> str:
    """A Gateway host without its `namespace/` prefix (`./a.example.com` -> `a.example.com`), lower case."""
    return host.rsplit("/", 1)[-1].lower().rstrip(".")


def covers(name: str, host: str) -> bool:
    """True when certificate name `name` (a dNSName) is valid for every client of Gateway host `host`.

    TLS wildcards are single-label (RFC 6125 6.4.3): `*.example.com` covers `a.example.com` but not
    `a.b.example.com` nor `example.com`, although Istio's own host matching would. A Gateway
    wildcard host is covered only by the same wildcard, and `*` by no certificate at all.
    """
    name, host = bare_host(name), bare_host(host)
    if host == "*":
        return False
    if name == host:
        return True
    if not name.startswith("*.") or host.startswith("*"):
        return False
    label, _, rest = host.partition(".")
    return bool(label) and rest == name[2:]


def uncovered(names: Iterable[str], hosts: Iterable[str]) -> list[str]:
    """The hosts no name in `names` covers, sorted and without duplicates."""
    listed = list(names)
    return sorted({bare_host(h) for h in hosts if not any(covers(n, h) for n in listed)})
