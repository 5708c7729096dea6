"""The `gwpipe status` command: is every Argo CD Application gwpipe renders Synced at HEAD of the GitOps repo and Healthy?"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from gwpipe.cli import options

# the git directory generator's fields gwpipe's ApplicationSet template uses (plugins/gitops/__init__.py)
_BASENAME, _PATH = "{{ .path.basename }}", "{{ .path.path }}"


@dataclass(frozen=True)
class Expected:
    """One Application gwpipe renders (or its ApplicationSet generates): where it lives and what it syncs."""

    environment: str
    name: str
    namespace: str
    path: str

    @property
    def shown(self) -> str:
        """`name`, or `namespace/name` outside the control-plane namespace, as the argocd CLI names them."""
        from gwpipe.plugins.gitops.argocd import DEFAULT_NAMESPACE

        return self.name if self.namespace == DEFAULT_NAMESPACE else f"{self.namespace}/{self.name}"


@click.command(name="status")
@options.targets
@click.option("--server", envvar="ARGOCD_SERVER", help="Argo CD API server, https://host[:port] [env: ARGOCD_SERVER].")
@click.option(
    "--repo",
    type=click.Path(path_type=Path),
    envvar="GWPIPE_REPO",
    help="GitOps repository whose HEAD Argo CD should have synced [default: .gwpipe/gitops].",
)
@click.option(
    "--timeout", type=click.FloatRange(min=0.1), default=10.0, show_default=True, help="Seconds per API request."
)
@click.option("--insecure", is_flag=True, help="Do not verify the API server's TLS certificate.")
@click.option(
    "--ca-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CA bundle that verifies the API server's certificate.",
)
@options.common
def command(
    targets: tuple[str, ...],
    all_envs: bool,
    specs_dir: Path,
    blocked: tuple[str, ...],
    templates: tuple[str, ...],
    server: str | None,
    repo: Path | None,
    timeout: float,
    insecure: bool,
    ca_file: Path | None,
    output: str,
    debug: bool,
) -> None:
    """Fail (exit 1) unless every Argo CD Application of the environments is Synced at HEAD and Healthy.

    The token is read from ARGOCD_AUTH_TOKEN only, and never printed.
    """
    from gwpipe.cli.main import DEFAULT_REPO, _pipeline, _set_common, failures, resolve_specs

    _set_common(debug, output)
    with failures():
        from gwpipe.cli.commands.check import committed_tree_reader
        from gwpipe.errors import Problem, UsageError
        from gwpipe.plugins.gitops.argocd import ArgoCD, server_url, token_from_environment

        url = server_url(server)
        token = token_from_environment()
        specs = resolve_specs(targets, all_envs, specs_dir)
        pipeline = _pipeline(blocked, templates)
        gitops_repo = repo or DEFAULT_REPO
        head = committed_tree_reader(gitops_repo).commit
        expected: list[Expected] = []
        skipped: list[str] = []
        for path, root in specs:
            spec = pipeline.load(path, root)
            apps = expected_applications(spec.name, pipeline.render(spec))
            expected += apps
            if not apps:
                skipped.append(spec.name)
        if not expected:
            raise UsageError(
                Problem(", ".join(skipped), "renders no Argo CD Application (gitops.argocd); nothing to check")
            )
        client = ArgoCD(url, token, timeout, str(ca_file) if ca_file else not insecure)
        try:
            reports = [judge(app, client, head) for app in expected]
        finally:
            client.close()
        _report(url, str(gitops_repo), head, skipped, reports, output)


def expected_applications(env: str, objects: list[Any]) -> list[Expected]:
    """The Applications of one render: each Application object, or the names its ApplicationSet generates.

    gwpipe's ApplicationSet uses a git directory generator over the environment's shard folders, so
    the generated names follow from the rendered layout; the ApplicationSet's own conditions are
    not checked.
    """
    from gwpipe.errors import Problem, RenderError
    from gwpipe.plugins.gitops import ARGO_API
    from gwpipe.tree.layout import environment_folders

    folders = [f for f in environment_folders(o.request for o in objects) if f]
    apps: list[Expected] = []
    for obj in objects:
        request = obj.request
        if request.api_version != ARGO_API:
            continue
        if request.kind == "Application":
            apps.append(Expected(env, request.name, request.namespace, obj.obj["spec"]["source"]["path"]))
        elif request.kind == "ApplicationSet":
            template = obj.obj["spec"]["template"]
            for directory in _directories(obj.obj, folders):
                basename = directory.rsplit("/", 1)[-1]
                name = str(template["metadata"]["name"]).replace(_BASENAME, basename)
                path = str(template["spec"]["source"]["path"]).replace(_PATH, directory)
                if "{{" in name or "{{" in path:
                    where = f"{env}: ApplicationSet {request.namespace}/{request.name}"
                    raise RenderError(Problem(where, f"cannot tell the names it generates from template {name!r}"))
                apps.append(Expected(env, name, request.namespace, path))
    return sorted(apps, key=lambda a: (a.namespace, a.name))


def _directories(appset: dict[str, Any], folders: list[str]) -> list[str]:
    """The folders the git directory generator matches in the rendered tree (`<path>/*` means the shard folders)."""
    found: list[str] = []
    for generator in appset["spec"]["generators"]:
        for entry in (generator.get("git") or {}).get("directories") or []:
            if entry.get("exclude"):
                continue
            pattern = str(entry["path"])
            if pattern.endswith("/*"):
                found += [f"{pattern[:-2]}/{folder}" for folder in folders]
            else:
                found.append(pattern)
    return found


def judge(app: Expected, client: Any, head: str) -> dict[str, Any]:
    """Ask the API about one Application and list what keeps it from being Synced at HEAD and Healthy."""
    from gwpipe.plugins.gitops.argocd import FAILED_PHASES, ApiFailure

    row: dict[str, Any] = {
        "environment": app.environment,
        "application": app.shown,
        "name": app.name,
        "namespace": app.namespace,
        "path": app.path,
    }
    try:
        state = client.application(app.name, app.namespace)
    except ApiFailure as exc:
        return {**row, "reachable": False, "problems": [exc.what]}
    problems = []
    if state.sync != "Synced":
        problems.append(f"sync status is {state.sync}, not Synced")
    if state.revision != head:
        seen = state.revision[:12] if state.revision else "no revision"
        problems.append(f"synced revision {seen} is not HEAD {head[:12]}; Argo CD has not caught up")
    if state.health != "Healthy":
        problems.append(
            f"health is {state.health}, not Healthy" + (f": {state.health_message}" if state.health_message else "")
        )
    if state.phase in FAILED_PHASES:
        problems.append(
            f"last sync {state.phase}" + (f": {state.operation_message}" if state.operation_message else "")
        )
    if state.source_path is not None and state.source_path != app.path:
        problems.append(f"syncs path {state.source_path!r}, gwpipe renders {app.path!r}; apply the _gitops folder")
    return {
        **row,
        "reachable": True,
        "sync": state.sync,
        "revision": state.revision,
        "at_head": state.revision == head,
        "health": state.health,
        "health_message": state.health_message,
        "operation": {"phase": state.phase, "message": state.operation_message} if state.phase else None,
        "problems": problems,
    }


def _report(server: str, repo: str, head: str, skipped: list[str], reports: list[dict[str, Any]], output: str) -> None:
    from gwpipe.cli.main import say
    from gwpipe.errors import Problem

    errors = [Problem(f"{server}/{r['application']}", what) for r in reports for what in r["problems"]]
    for env in skipped:
        say("info", f"{env}: renders no Argo CD Application; skipped")
    for problem in errors:
        say("error", str(problem))
    ok = not errors
    if output == "json":
        objects = [p.as_dict() for p in errors]
        document = {"ok": ok, "server": server, "repo": repo, "head": head, "applications": reports, "errors": objects}
        click.echo(json.dumps(document, indent=2, sort_keys=True))
    else:
        for r in reports:
            click.echo(f"{r['environment']}: {r['application']}: {_summary(r, head)}")
    if not ok:
        sys.exit(1)


def _summary(r: dict[str, Any], head: str) -> str:
    if not r["reachable"]:
        return "unknown (the API did not answer it)"
    where = f"HEAD {head[:12]}" if r["at_head"] else (r["revision"] or "no revision")[:12]
    text = f"{r['sync']} at {where}, {r['health']}"
    if r["operation"] and r["operation"]["phase"] not in ("Succeeded", "Running"):
        text += f", last sync {r['operation']['phase']}"
    return text
