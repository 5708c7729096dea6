"""What rules and analyzers receive: a reporter, and for analyzers the manifests, cluster picture and target version."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from gwpipe.checks.analysis.cluster import Cluster
from gwpipe.checks.analysis.manifests import Manifest, ManifestSet, Path_
from gwpipe.checks.analysis.messages import level_of
from gwpipe.model import Finding


class Reporter:
    """Collects findings; all an admission rule, which judges one manifest alone, receives."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []

    def report(self, m: Manifest, code: str, message: str, path: Path_ = (), level: str | None = None) -> None:
        """Record a finding on manifest `m`, located at the field `path` when the source is known."""
        self.findings.append(
            Finding(code, level or level_of(code), m.kind, m.namespace, m.name, message, m.file, m.line_of(path))
        )

    def rule(self, m: Manifest, rule: str, message: str, path: Path_ = (), warning: bool = False) -> None:
        """An admission rule: errors are IST0106 (SchemaValidationError), warnings IST0133 (SchemaWarning)."""
        self.report(m, "IST0133" if warning else "IST0106", f"{rule}: {message}", path)


@dataclass
class Context(Reporter):
    """An analyzer's view of the whole set."""

    manifests: ManifestSet
    cluster: Cluster
    version: tuple[int, int]
    # whether the cluster picture holds Pods, Services and Secrets (see `analyze`)
    workloads: bool = True
    now: datetime.datetime = field(default_factory=lambda: datetime.datetime.now(datetime.UTC))
    findings: list[Finding] = field(default_factory=list)
