"""Status rows as a table for people and JSON for machines; neither ever holds key material."""

from __future__ import annotations

import datetime as dt
from typing import IO, Any

from gwpipe.certs.status import Row, iso


def as_json(environment: str, where: str, threshold: str, rows: list[Row]) -> dict[str, Any]:
    """A stable document: sorted rows, ISO-8601 UTC times, problems as error objects (`Problem.as_dict`)."""
    return {
        "ok": all(r.ok for r in rows),
        "environment": environment,
        "context": where,
        "threshold": threshold,
        "credentials": [_row(r) for r in rows],
        "errors": [p.as_dict() for r in rows for p in r.problems],
    }


def _row(row: Row) -> dict[str, Any]:
    c = row.credential
    cert = row.certificate
    return {
        "name": c.name,
        "namespace": c.namespace,
        "mode": c.mode,
        "hosts": c.hosts,
        "gateways": c.gateways,
        "caSource": c.ca_source,
        "certificate": None
        if cert is None
        else {
            "name": cert.ref.split("/", 1)[1],
            "namespace": cert.ref.split("/", 1)[0],
            "found": cert.found,
            "ready": cert.ready,
            "reason": cert.reason,
            "notAfter": iso(cert.not_after),
            "renewalTime": iso(cert.renewal_time),
            "issuer": cert.issuer,
            "dnsNames": cert.dns_names,
        },
        "secret": {
            "found": row.secret.found,
            "keys": row.secret.keys,
            "notAfter": iso(row.secret.not_after),
            "dnsNames": row.secret.dns_names,
            "clientCA": row.secret.ca,
        },
        "ok": row.ok,
        "problems": [str(p) for p in row.problems],
    }


def print_table(rows: list[Row], where: str, now: dt.datetime, file: IO[str] | None = None) -> None:
    """One line per credential; problems follow as `error:` lines from the caller."""
    from rich.console import Console
    from rich.table import Table

    console = Console(file=file, highlight=False, soft_wrap=False)
    if not console.is_terminal:
        console = Console(file=file, highlight=False, width=200, no_color=True)
    console.print(f"certificates in {where}")
    table = Table(show_lines=False)
    for column in ("CREDENTIAL", "MODE", "HOSTS", "CERTIFICATE", "NOT AFTER", "RENEWAL", "ISSUER", "STATUS"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row.credential.ref,
            row.credential.mode,
            ", ".join(row.credential.hosts),
            _certificate_cell(row),
            _expiry_cell(row, now),
            _date(row.certificate.renewal_time) if row.certificate else "-",
            (row.certificate.issuer or "-") if row.certificate else "-",
            "ok" if row.ok else f"{len(row.problems)} problem{'s' if len(row.problems) > 1 else ''}",
            style=None if row.ok else "red",
        )
    console.print(table)


def _certificate_cell(row: Row) -> str:
    cert = row.certificate
    if cert is None:
        return "- (none rendered)"
    if not cert.found:
        return "missing"
    if cert.ready == "True":
        return "Ready"
    return f"not ready: {cert.reason or 'no reason'}" if cert.ready else "no Ready condition"


def _expiry_cell(row: Row, now: dt.datetime) -> str:
    when = row.not_after
    if when is None:
        return "-"
    left = when - now
    if left.total_seconds() <= 0:
        return f"{_date(when)} (expired)"
    return f"{_date(when)} ({left.days}d)"


def _date(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value else "-"
