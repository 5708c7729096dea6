"""The `gwpipe import` command: existing manifests (files or a cluster) to a spec, written only after a round trip."""

from __future__ import annotations

import json
from pathlib import Path

import click

from gwpipe.cli import options
from gwpipe.cli.main import STATE, _pipeline, _set_common, failures

CLUSTER_PREFIX = "cluster:"


@click.command(name="import")
@click.argument("sources", nargs=-1, required=True)
@click.option("--env", "environment", required=True, help="Name of the environment the spec describes.")
@click.option("-o", "--out", "out", required=True, type=click.Path(path_type=Path), help="Spec file to write.")
@click.option(
    "--namespace",
    "namespaces",
    multiple=True,
    help="Namespace of objects without one; with cluster:, the namespaces to read.",
)
@click.option(
    "--base",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="Write only what differs from this base spec.",
)
@click.option("--passthrough", is_flag=True, help="Carry objects no plugin models unchanged (spec key passthrough).")
@click.option("--allow-lossy", is_flag=True, help="Write the spec even though some fields are not reproduced.")
@click.option("--kubeconfig", default=None, help="Kubeconfig file for cluster: (default: $KUBECONFIG, ~/.kube/config).")
@click.option("--timeout", default=10.0, show_default=True, help="Seconds per Kubernetes API request.")
@options.plugins
@options.output(short=False)
@options.debug
def command(
    sources: tuple[str, ...],
    environment: str,
    out: Path,
    namespaces: tuple[str, ...],
    base: Path | None,
    passthrough: bool,
    allow_lossy: bool,
    kubeconfig: str | None,
    timeout: float,
    blocked: tuple[str, ...],
    templates: tuple[str, ...],
    debug: bool,
    output: str,
) -> None:
    """Import Istio manifests (files, folders or cluster:CONTEXT) as the spec of one environment."""
    _set_common(debug, output)
    with failures():
        from gwpipe.errors import Problem, UsageError
        from gwpipe.importer.read import read_manifests
        from gwpipe.importer.report import text_report
        from gwpipe.importer.run import import_objects
        from gwpipe.spec.load import check_name
        from gwpipe.tree.files import write_file_atomically

        check_name(environment, "environment name", "--env")
        clusters = [s for s in sources if s.startswith(CLUSTER_PREFIX)]
        if clusters and (len(sources) > 1 or not namespaces):
            raise UsageError(Problem("cluster:", "import one cluster at a time, with at least one --namespace"))
        if clusters:
            from gwpipe.importer.cluster import read_cluster

            raw = read_cluster(clusters[0][len(CLUSTER_PREFIX) :], list(namespaces), kubeconfig, timeout)
            default_namespace = namespaces[0]
        else:
            raw = [obj for obj, _where in read_manifests(list(sources))]
            default_namespace = namespaces[0] if namespaces else "default"
        if not raw:  # an empty spec would "round-trip" nothing and look like success
            where = f"{sources[0]} (namespaces {', '.join(namespaces)})" if clusters else ", ".join(sources)
            raise UsageError(Problem(where, "no Kubernetes objects to import"))
        if not out.parent.is_dir():
            raise UsageError(Problem(str(out), "its folder does not exist"))
        result = import_objects(
            _pipeline(blocked, templates), raw, environment, out, default_namespace, passthrough, base
        )
        ok = (result.exact or allow_lossy) and not result.unrendered
        if ok:
            write_file_atomically(out, result.text.encode("utf-8"))
        if STATE.output == "json":
            click.echo(json.dumps({"ok": ok, "written": str(out) if ok else None, **result.as_dict()}, indent=2))
        else:
            click.echo(text_report(result, out, ok))
        if not ok:
            raise SystemExit(1)
