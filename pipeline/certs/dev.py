"""`certs dev`: a dev chain per credential of an environment, written outside git, optionally applied."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gwpipe.certs.devca import issue_chain
from gwpipe.certs.devfiles import refuse_repositories, write_files
from gwpipe.certs.expected import Credential, expected_from_bundle
from gwpipe.errors import Problem, UsageError

_STRENGTH = ("SIMPLE", "OPTIONAL_MUTUAL", "MUTUAL")


@dataclass
class Planned:
    """One credential name across every namespace that expects it."""

    name: str
    mode: str
    ca_source: str | None
    hosts: list[str] = field(default_factory=list)
    namespaces: list[str] = field(default_factory=list)

    @property
    def mutual(self) -> bool:
        return self.mode != "SIMPLE"


def plan_credentials(credentials: list[Credential]) -> list[Planned]:
    """Group by credential name (one folder each), refusing names or hosts no dev certificate can serve."""
    problems = [
        Problem(f"Secret {c.ref}", p) for c in credentials for p in c.problems if "not a valid Secret name" in p
    ]
    if problems:
        raise UsageError(*problems)
    planned: dict[str, Planned] = {}
    for c in credentials:
        item = planned.setdefault(c.name, Planned(c.name, c.mode, c.ca_source))
        item.mode = max(item.mode, c.mode, key=_STRENGTH.index)
        item.ca_source = item.ca_source or c.ca_source
        item.hosts = sorted(set(item.hosts) | set(c.hosts))
        item.namespaces = sorted({*item.namespaces, c.namespace})
    for item in planned.values():
        # a certificate cannot name every host; `*` has no SAN form
        item.hosts = [h for h in item.hosts if h != "*"]
        if not item.hosts:
            problems.append(Problem(f"credential {item.name!r}", "serves only host '*', which no certificate can name"))
    if problems:
        raise UsageError(*problems)
    return [planned[name] for name in sorted(planned)]


def generate(
    bundle: Any, out: Path, gitops: Path, days: int, apply: bool, cluster_args: tuple[str | None, str | None, float]
) -> list[dict[str, Any]]:
    """Write DIR/<credential>/ for each credential; with `apply`, create or update its Secrets."""
    target = refuse_repositories(out, gitops)
    planned = plan_credentials(expected_from_bundle(bundle))
    if not planned:
        return []
    chains = {p.name: issue_chain(f"{bundle.spec.name} {p.name}", p.hosts, days, p.mutual) for p in planned}
    files = {p.name: chains[p.name].files() for p in planned}
    requests: list[tuple[str, dict[str, Any]]] = []
    cluster = None
    if apply:
        from gwpipe.certs.apply import apply_secret, plan_secret, secrets_for
        from gwpipe.certs.kube import connect

        # every refusal (kubeconfig, permissions, a cert-manager Secret) comes before any file is written
        cluster = connect(*cluster_args)
        for item in planned:
            for namespace in item.namespaces:
                for body in secrets_for(item.name, namespace, files[item.name], item.mutual, item.ca_source):
                    requests.append((item.name, plan_secret(cluster, body)))
        for _name, request in requests:
            apply_secret(cluster, request, dry_run=True)  # the API server's permission and validation answer
    results: list[dict[str, Any]] = []
    applied: dict[str, list[str]] = {p.name: [] for p in planned}
    for item in planned:
        written = write_files(target / item.name, files[item.name])
        results.append(
            {
                "name": item.name,
                "hosts": item.hosts,
                "namespaces": item.namespaces,
                "mode": item.mode,
                "folder": str(target / item.name),
                "files": [p.name for p in written],
                "applied": applied[item.name],
            }
        )
    if cluster is not None:
        for name, request in requests:
            applied[name].append(apply_secret(cluster, request))
    return results
