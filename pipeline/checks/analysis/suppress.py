"""Suppression as istioctl does it: the `galley.istio.io/analyze-suppress` annotation and `CODE=Kind ns/name` globs."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass

from gwpipe.checks.analysis.manifests import SUPPRESS_ANNOTATION, ManifestSet
from gwpipe.model import Finding

SUPPRESS_RE = re.compile(r"^(?P<code>[A-Z]{3}[0-9*?]{4}|\*)=(?P<resource>\S.*)$")


@dataclass(frozen=True)
class Suppression:
    """Drop findings whose code matches `code` and whose `Kind namespace/name` matches the glob `resource`."""

    code: str
    resource: str

    def covers(self, finding: Finding) -> bool:
        return fnmatch.fnmatchcase(finding.code, self.code) and fnmatch.fnmatchcase(finding.resource, self.resource)


def parse_suppression(text: str) -> Suppression | None:
    """`IST0101=Gateway istio-system/*` as a Suppression, or None when malformed."""
    found = SUPPRESS_RE.match(text.strip())
    return Suppression(found["code"], found["resource"].strip()) if found else None


def annotation_codes(manifests: ManifestSet) -> dict[tuple[str, str, str], set[str]]:
    """(kind, namespace, name) -> codes its suppress annotation names (`*` for all)."""
    out: dict[tuple[str, str, str], set[str]] = {}
    for m in manifests:
        value = m.annotations.get(SUPPRESS_ANNOTATION)
        if isinstance(value, str) and value.strip():
            out[(m.kind, m.namespace, m.name)] = {c.strip() for c in value.split(",") if c.strip()}
    return out


def unsuppressed(findings: list[Finding], manifests: ManifestSet, rules: list[Suppression]) -> list[Finding]:
    by_resource = annotation_codes(manifests)
    kept = []
    for f in findings:
        codes = by_resource.get((f.kind, f.namespace, f.name), set())
        if "*" in codes or f.code in codes or any(r.covers(f) for r in rules):
            continue
        kept.append(f)
    return kept
