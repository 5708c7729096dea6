"""The built-in schema catalog: upstream CRDs (facts only, with provenance) shipped in the package, read lazily."""

from __future__ import annotations

import functools
import gzip
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

COMMON = "common"
ISTIO_PREFIX = "istio/"


@dataclass(frozen=True)
class Entry:
    """One CRD of the catalog: where it came from and the blob holding its schemas."""

    name: str
    group: str
    kind: str
    versions: tuple[str, ...]
    blob: str
    source: str
    set_name: str


@functools.cache
def index() -> dict[str, Any]:
    """The catalog index (a few kB): sets of CRDs and the provenance of every source file."""
    text = resources.files(__package__).joinpath("catalog", "index.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def istio_versions() -> list[str]:
    """The Istio minor versions the catalog has schemas for, oldest first."""
    found = [name[len(ISTIO_PREFIX) :] for name in index()["sets"] if name.startswith(ISTIO_PREFIX)]
    return sorted(found, key=_minor)


def _minor(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


def istio_version_for(wanted: tuple[int, int]) -> str:
    """The catalog's Istio version for a target: the same minor, else the nearest one the catalog has."""
    available = istio_versions()
    exact = f"{wanted[0]}.{wanted[1]}"
    if exact in available:
        return exact
    older = [v for v in available if _minor(v) < wanted]
    return older[-1] if older else available[0]


def provenance(source: str) -> dict[str, str]:
    """Repository, path, commit (and tag), sha256 of the upstream file a CRD was taken from."""
    found: dict[str, str] = index()["sources"][source]
    return found


def entries(istio_version: str) -> dict[tuple[str, str], Entry]:
    """The CRDs in force for one Istio version, by (group, kind): that version's Istio set plus the common set."""
    return _entries(istio_version)


@functools.cache
def _entries(istio_version: str) -> dict[tuple[str, str], Entry]:
    out: dict[tuple[str, str], Entry] = {}
    sets = index()["sets"]
    for set_name in (f"{ISTIO_PREFIX}{istio_version}", COMMON):
        for name, e in sorted(sets.get(set_name, {}).items()):
            entry = Entry(name, e["group"], e["kind"], tuple(e["versions"]), e["blob"], e["source"], set_name)
            out.setdefault((entry.group, entry.kind), entry)
    return out


@functools.cache
def document(blob: str) -> dict[str, Any]:
    """The compact CRD stored under `blob`, read and decompressed once per process."""
    data = resources.files(__package__).joinpath("catalog", f"{blob}.json.gz").read_bytes()
    loaded: dict[str, Any] = json.loads(gzip.decompress(data))
    return loaded


def origin(entry: Entry) -> str:
    """How a finding or listing names where a built-in schema came from."""
    p = provenance(entry.source)
    at = f"{p['tag']} ({p['commit'][:12]})" if "tag" in p else p["commit"][:12]
    return f"built-in catalog: {p['repository']} {p['path']} at {at}"
