"""The `gwpipe propose` command: render, commit on a gwpipe/ branch, push with a lease, open or update one PR."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import click

from gwpipe.cli import options

_REMOTE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


@click.command(name="propose")
@options.targets
@click.option(
    "--remote", default=None, help="Remote URL, or a remote name in --checkout [default: the branch's remote]."
)
@click.option(
    "--checkout",
    "repo",
    type=click.Path(path_type=Path),
    envvar="GWPIPE_REPO",
    default=Path("."),
    show_default=True,
    help="Local checkout of the GitOps repository whose configuration names the remote (read only) [env: GWPIPE_REPO].",
)
@options.renamed("--repo", "--checkout", "legacy_checkout", type=click.Path(path_type=Path))
@click.option("--base", default="main", show_default=True, help="Branch the pull request targets.")
@click.option(
    "--forge", type=click.Choice(["github", "gitlab", "gitea"]), help="Forge API that opens the pull request."
)
@click.option("--api-url", help="Forge API root (default: api.github.com, gitlab.com/api/v4).")
@click.option("--repo-slug", help="owner/name on the forge [default: from the remote URL].")
@click.option("--push-to-base", is_flag=True, help="Push straight to the base branch instead of proposing (no PR).")
@click.option("--allow-empty", is_flag=True, help="Allow a render that empties an environment.")
@click.option("--allow-delete", is_flag=True, help="Allow deleting most of an environment, or a Gateway.")
@click.option("--allow-move", is_flag=True, help="Allow repointing the Argo CD/Flux objects at another folder.")
@click.option(
    "--max-clone-mb", type=click.IntRange(1), default=512, show_default=True, help="Size budget of the clone."
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print the branch, the files and the pull-request body; commit, push and call the forge not at all.",
)
@options.common
def command(
    targets: tuple[str, ...],
    all_envs: bool,
    specs_dir: Path,
    remote: str | None,
    repo: Path,
    legacy_checkout: Path | None,
    base: str,
    forge: str | None,
    api_url: str | None,
    repo_slug: str | None,
    push_to_base: bool,
    allow_empty: bool,
    allow_delete: bool,
    allow_move: bool,
    max_clone_mb: int,
    dry_run: bool,
    blocked: tuple[str, ...],
    templates: tuple[str, ...],
    output: str,
    debug: bool,
) -> None:
    """Propose environments as pull requests: one gwpipe/<env>-<hash> branch and one PR each."""
    from gwpipe.cli.main import _pipeline, _set_common, failures, resolve_specs

    _set_common(debug, output)
    with failures():
        from gwpipe.git.delivery.forge import make_forge, slug_from_remote
        from gwpipe.git.delivery.proposal import Target, dry_run_bundle, propose_bundle
        from gwpipe.git.delivery.remote import (
            check_branch_name,
            check_environment,
            proposal_branch,
            redact_url,
            validate_remote_url,
        )

        check_branch_name(base, "--base")
        raw, checkout = _remote_url(remote, legacy_checkout or repo)
        url = validate_remote_url(raw)
        if checkout is not None and "://" not in url and "@" not in url.split("/", 1)[0] and not os.path.isabs(url):
            url = os.path.normpath(checkout / url)  # git reads a relative remote path from the checkout

        specs = resolve_specs(targets, all_envs, specs_dir)
        for path, _root in specs:
            check_environment(path.name.rsplit(".", 1)[0])
        pipeline = _pipeline(blocked, templates)
        bundles = [pipeline.build(pipeline.load(path, root)) for path, root in specs]
        for bundle in bundles:
            proposal_branch(bundle.spec.name, bundle.files)
        forge_name = forge or _forge_of(url)
        client, token, username = None, None, None
        if forge_name and not push_to_base and not dry_run:
            slug = repo_slug or slug_from_remote(url)
            if not slug:
                from gwpipe.errors import Problem, UsageError

                raise UsageError(Problem("--repo-slug", "cannot tell owner/name from the remote; pass --repo-slug"))
            client = make_forge(forge_name, api_url, slug)
        if forge_name:
            from gwpipe.git.delivery.forge import token_for

            token = token_for(forge_name) if url.startswith(("https://", "http://")) else None
            username = {"github": "x-access-token", "gitlab": "oauth2"}.get(forge_name, "gwpipe")
        target = Target(
            url,
            redact_url(url),
            base,
            client,
            token,
            username,
            push_to_base,
            allow_empty,
            allow_delete,
            max_clone_mb,
            allow_move=allow_move,
        )
        if dry_run:
            _report_dry_run([dry_run_bundle(bundle, target) for bundle in bundles], output)
            return
        results = [propose_bundle(bundle, target) for bundle in bundles]
        _report(results, output)


def _remote_url(remote: str | None, repo: Path) -> tuple[str, Path | None]:
    """A URL as given, or the URL of a named remote read from the checkout's config (no git process)."""
    if remote is not None and (not _REMOTE_NAME.match(remote) or Path(remote).exists()):
        return remote, None
    from gwpipe.git.delivery.checkout import remote_url_of

    checkout = Path(os.path.abspath(repo))
    return remote_url_of(checkout, remote), checkout


def _forge_of(url: str) -> str | None:
    from urllib.parse import urlsplit

    host = urlsplit(url).hostname if "://" in url else url.partition("@")[2].partition(":")[0]
    return {"github.com": "github", "gitlab.com": "gitlab"}.get(host or "")


def _report(results: list[Any], output: str) -> None:
    if output == "json":
        click.echo(json.dumps({"ok": True, "proposals": [r.as_dict() for r in results]}, indent=2, sort_keys=True))
        return
    for r in results:
        if r.status == "no changes" and not r.pushed and r.pr is None:
            click.echo(f"{r.environment}: no changes")
        elif r.status == "pushed to base":
            click.echo(f"{r.environment}: pushed {r.commit[:12]} to {r.base} ({r.plan.summary()})")
        else:
            done = (
                f"pushed {r.commit[:12]} to {r.branch} ({r.plan.summary()})" if r.pushed else f"{r.branch} is current"
            )
            click.echo(f"{r.environment}: {r.status}; {done}")
        if r.pr is not None:
            click.echo(f"{r.environment}: pull request #{r.pr.number} {r.pr_action}: {r.pr.url}")
        for note in r.notes:
            click.echo(f"{r.environment}: {note}")


def _report_dry_run(results: list[Any], output: str) -> None:
    if output == "json":
        click.echo(json.dumps({"ok": True, "proposals": [r.as_dict() for r in results]}, indent=2, sort_keys=True))
        return
    for r in results:
        if r.plan.empty:
            click.echo(f"{r.environment}: no changes against {r.base} at {r.base_sha}; nothing would be proposed")
            continue
        what = f"push to {r.base}" if r.branch == r.base else f"push {r.branch} and propose it against {r.base}"
        click.echo(f"{r.environment}: dry run; would {what} ({r.plan.summary()})")
        click.echo(f"branch: {r.branch}")
        for verb in ("added", "changed", "removed"):
            for path in getattr(r.files, verb):
                click.echo(f"{verb}: {r.environment}/{path}")
        click.echo(f"title: {r.title}")
        click.echo("")
        click.echo(r.body, nl=False)
