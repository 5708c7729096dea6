"""Istio's host-name primitives: overlap, subset, namespace scoping, FQDN expansion and domain syntax."""

from __future__ import annotations

import bisect
import functools
import ipaddress
import re
from typing import Generic, TypeVar

from gwpipe import fast
from gwpipe.istio import host_matches, host_subset_of

T = TypeVar("T")

CLUSTER_DOMAIN = "cluster.local"
_LABEL = re.compile(r"^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$")
_WILDCARD_FIRST = re.compile(r"^\*?[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$|^\*-[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$")


matches = host_matches
subset_of = host_subset_of


def names_for_namespace(hosts: list[str], namespace: str) -> list[str]:
    """`host.NamesForNamespace`: `x/h` keeps `h` only when `x` is the namespace or `*`."""
    out = []
    for h in hosts:
        if "/" not in h:
            out.append(h)
            continue
        ns, name = h.split("/", 1)
        if ns in (namespace, "*"):
            out.append(name)
    return out


def sanitize_server_hosts(hosts: list[str], gateway_namespace: str) -> list[str]:
    """`sanitizeServerHostNamespace`: `./h` is the Gateway's namespace, `*/h` any, `*/*` everything."""
    out = []
    for h in hosts:
        if "/" not in h:
            out.append(h)
            continue
        ns, name = h.split("/", 1)
        if ns == ".":
            out.append(f"{gateway_namespace}/{name}")
        elif ns == "*":
            if name == "*":
                return ["*"]
            out.append(name)
        else:
            out.append(h)
    return out


def to_fqdn(namespace: str, host: str) -> str:
    """`ConvertHostToFQDN`: only a dot-less, non-wildcard name is a short Service name."""
    if "." in host or host.startswith("*"):
        return host
    return f"{host}.{namespace}.svc.{CLUSTER_DOMAIN}"


def resource_of_host(namespace: str, host: str) -> tuple[str, str]:
    """`GetResourceNameFromHost`: `name.ns.svc.cluster.local` is (ns, name); anything else is literal."""
    suffix = f".svc.{CLUSTER_DOMAIN}"
    if host.endswith(suffix):
        parts = host[: -len(suffix)].split(".")
        if len(parts) == 2:
            return parts[1], parts[0]
    return namespace, host


def short_or_full(default_namespace: str, ref: str) -> tuple[str, str]:
    """`NewShortOrFullName`: `a/b` is (a, b), anything else (default namespace, ref)."""
    if "/" in ref:
        ns, name = ref.split("/", 1)
        return ns, name
    return default_namespace, ref


@functools.lru_cache(maxsize=65536)
def is_dns_label(value: str) -> bool:
    return len(value) <= 63 and bool(_LABEL.match(value))


_IP_CHARS = re.compile(r"^[0-9a-fA-F.:%]+$")
_PLAIN_DOMAIN = re.compile(
    r"[a-zA-Z0-9](?:[-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?)*"
)


def is_ip(value: str) -> bool:
    if not _IP_CHARS.match(value) or ("." not in value and ":" not in value):
        return False
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


@functools.lru_cache(maxsize=65536)
def domain_problem(host: str, allow_wildcard: bool = True) -> str | None:
    """Why `host` is not a valid (wildcard) domain name (`ValidateWildcardDomain`), or None."""
    # the usual host, plain labels and a top-level label not all digits, is valid without the walk below
    if fast.enabled() and len(host) <= 255 and _PLAIN_DOMAIN.fullmatch(host) and not host.rpartition(".")[2].isdigit():
        return None
    return _domain_problem(host, allow_wildcard)


def _domain_problem(host: str, allow_wildcard: bool) -> str | None:
    if not host or len(host) > 255:
        return f"domain name {host!r} too long (max 255)" if host else "domain name empty"
    if is_ip(host):
        return None
    name = host[:-1] if host.endswith(".") else host
    labels = name.split(".")
    first, rest = labels[0], labels[1:]
    if first == "*":
        if not allow_wildcard:
            return f"wildcard {host!r} not allowed"
    elif not _WILDCARD_FIRST.match(first) or len(first) > 63 or (first.startswith("*") and not allow_wildcard):
        return f"domain name {host!r} invalid (label {first!r})"
    for label in rest:
        if not is_dns_label(label):
            return f"domain name {host!r} invalid (label {label!r})"
    if rest and labels[-1].isdigit():
        return f"domain name {host!r} invalid (top-level label all numeric)"
    return None


class HostIndex(Generic[T]):
    """Host names with owners, answering `which owners have a host overlapping this name?` without a full scan."""

    def __init__(self, items: list[tuple[str, T]]) -> None:
        self.items = items
        self.exact: dict[str, set[T]] = {}
        self.wild: dict[str, set[T]] = {}  # ".x.com" for "*.x.com" (and "x" for a partial "*x")
        self.everything: set[T] = set()
        self.owners: set[T] = set()
        ends: list[tuple[str, T]] = []
        for h, owner in items:
            self.owners.add(owner)
            if h == "*":
                self.everything.add(owner)
            elif h.startswith("*"):
                self.wild.setdefault(h[1:], set()).add(owner)
                ends.append((h[1:][::-1], owner))
            else:
                self.exact.setdefault(h, set()).add(owner)
                ends.append((h[::-1], owner))
        ends.sort(key=lambda e: e[0])
        self._wild_lengths = sorted({len(key) for key in self.wild})
        self._ends = ends
        self._keys = [e[0] for e in ends]

    def overlapping(self, name: str) -> set[T]:
        """Owners of every indexed host that `matches` `name`."""
        if not fast.enabled():
            return {owner for host, owner in self.items if matches(host, name)}
        if name == "*":
            return set(self.owners)
        found = set(self.everything)
        if not name.startswith("*"):
            owners = self.exact.get(name)
            if owners:
                found |= owners
            self._add_wild_suffixes(name, found)
            return found
        suffix = name[1:]
        self._add_wild_suffixes(suffix, found)
        # indexed names and wildcard suffixes that end with this wildcard's suffix
        key = suffix[::-1]
        pos = bisect.bisect_left(self._keys, key)
        while pos < len(self._keys) and self._keys[pos].startswith(key):
            found.add(self._ends[pos][1])
            pos += 1
        return found

    def _add_wild_suffixes(self, name: str, found: set[T]) -> None:
        """Add the owners of every wildcard whose suffix is a non-empty suffix of `name`."""
        # only suffix lengths some wildcard has can be keys: far fewer lookups than one per character
        size = len(name)
        for length in self._wild_lengths:
            if length <= size:
                owners = self.wild.get(name[size - length :])
                if owners:
                    found |= owners

    def overlaps(self, name: str) -> bool:
        if fast.enabled() and name != "*" and not name.startswith("*"):
            # the usual question (a plain name against a plain index) answered without building a set
            if self.everything or name in self.exact:
                return True
            if not self._wild_lengths:
                return False
        return bool(self.overlapping(name))
