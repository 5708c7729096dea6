"""The `gwpipe certs` commands: the TLS credentials an environment's Gateways need, in a cluster or for dev."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from gwpipe.cli import options

F = TypeVar("F", bound=Callable[..., Any])
_DURATION = re.compile(r"([0-9]{1,6})([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@click.group(name="certs")
def command() -> None:
    """Check or create the TLS credentials an environment's Gateways reference."""


def _environment(func: F) -> F:
    func = options.specs(options.block(func))
    return click.argument("environment", shell_complete=options.environment_names)(func)


def _cluster(func: F) -> F:
    func = click.option(
        "--timeout",
        type=click.FloatRange(min=0.05, max=600),
        default=10.0,
        show_default=True,
        help="Seconds to wait for each API request.",
    )(func)
    func = click.option("--context", help="Kubeconfig context [default: current-context].")(func)
    func = click.option("--kubeconfig", help="Kubeconfig file [default: $KUBECONFIG, then ~/.kube/config].")(func)
    return func


def parse_duration(text: str) -> int:
    """Seconds in `14d`, `36h`, `2w`, `90m` or `30s`; ValueError otherwise."""
    match = _DURATION.fullmatch(text.strip())
    if not match:
        raise ValueError(text)
    return int(match.group(1)) * _UNITS[match.group(2)]


def _rendered(environment: str, specs_dir: Path, blocked: tuple[str, ...]) -> Any:
    from gwpipe.certs.environment import render_environment
    from gwpipe.cli.main import _pipeline, resolve_specs

    (path, root), *_ = resolve_specs((environment,), False, specs_dir)
    return render_environment(_pipeline(blocked, ()), path, root)


@command.command()
@_environment
@_cluster
@click.option("--threshold", default="14d", show_default=True, help="Fail when a certificate expires within this.")
@options.common
def status(
    environment: str,
    specs_dir: Path,
    blocked: tuple[str, ...],
    kubeconfig: str | None,
    context: str | None,
    timeout: float,
    threshold: str,
    output: str,
    debug: bool,
) -> None:
    """Check the Certificates and Secrets ENVIRONMENT expects in a cluster; exit 1 on any problem."""
    from gwpipe.cli.main import STATE, _set_common, failures, say

    _set_common(debug, output)
    with failures():
        import datetime as dt

        from gwpipe.certs import report
        from gwpipe.certs.expected import expected_from_bundle
        from gwpipe.certs.kube import connect
        from gwpipe.certs.status import inspect
        from gwpipe.errors import Problem, UsageError

        try:
            window = dt.timedelta(seconds=parse_duration(threshold))
        except ValueError:
            raise UsageError(
                Problem("--threshold", f"expected a duration such as 14d, 36h or 2w, got {threshold!r}")
            ) from None
        bundle = _rendered(environment, specs_dir, blocked)
        credentials = expected_from_bundle(bundle)
        if not credentials:
            nothing = f"{bundle.spec.name}: no Gateway server references a credentialName; nothing to check"
            click.echo(
                json.dumps({"ok": True, "environment": bundle.spec.name, "credentials": []})
                if output == "json"
                else nothing
            )
            return
        cluster = connect(kubeconfig, context, timeout)
        now = dt.datetime.now(dt.UTC)
        rows = inspect(cluster, credentials, window, now)
        problems = [p for r in rows for p in r.problems]
        if STATE.output == "json":
            doc = report.as_json(bundle.spec.name, cluster.where, threshold, rows)
            click.echo(json.dumps(doc, indent=2, sort_keys=True))
        else:
            report.print_table(rows, cluster.where, now, file=sys.stdout)
        for problem in problems:
            say("error", str(problem))
        if problems:
            sys.exit(1)


@command.command()
@_environment
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="Folder for keys and certificates (outside any git repository).",
)
@click.option(
    "--days",
    type=click.IntRange(1, 3650),
    default=90,
    show_default=True,
    help="Validity of server and client certificates.",
)
@click.option(
    "--apply", "apply_", is_flag=True, help="Create or update the Secrets in the gateway workload namespaces."
)
@click.option(
    "--repo",
    type=click.Path(path_type=Path),
    envvar="GWPIPE_REPO",
    help="GitOps repository the keys must stay out of [default: .gwpipe/gitops].",
)
@_cluster
@options.common
def dev(
    environment: str,
    specs_dir: Path,
    blocked: tuple[str, ...],
    out: Path,
    days: int,
    apply_: bool,
    repo: Path | None,
    kubeconfig: str | None,
    context: str | None,
    timeout: float,
    output: str,
    debug: bool,
) -> None:
    """Make a dev CA chain and certificates for each credential of ENVIRONMENT (kind/minikube), optionally apply them."""
    from gwpipe.cli.main import DEFAULT_REPO, STATE, _set_common, failures

    _set_common(debug, output)
    with failures():
        from gwpipe.certs.dev import generate

        target_repo = repo or DEFAULT_REPO
        bundle = _rendered(environment, specs_dir, blocked)
        results = generate(bundle, out, target_repo, days, apply_, (kubeconfig, context, timeout))
        if STATE.output == "json":
            click.echo(
                json.dumps(
                    {"ok": True, "environment": bundle.spec.name, "credentials": results}, indent=2, sort_keys=True
                )
            )
            return
        if not results:
            click.echo(f"{bundle.spec.name}: no Gateway server references a credentialName; nothing to generate")
        for item in results:
            click.echo(
                f"{item['name']}: wrote {item['folder']} ({', '.join(item['files'])}) for {', '.join(item['hosts'])}"
            )
            for done in item["applied"]:
                click.echo(f"{item['name']}: {done}")
