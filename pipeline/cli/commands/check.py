"""The `gwpipe check` command: is the GitOps tree committed at HEAD what the specs at HEAD render?"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from gwpipe.cli import options

SYMLINK_MODE = 0o120000


@click.command(name="check")
@options.targets
@click.option(
    "--repo",
    type=click.Path(path_type=Path),
    envvar="GWPIPE_REPO",
    help="GitOps repository, or a folder inside one, whose HEAD holds the rendered tree [default: .gwpipe/gitops].",
)
@click.option(
    "--force", is_flag=True, help="Render every environment, also those recorded as rendered from the same inputs."
)
@options.common
def command(
    targets: tuple[str, ...],
    all_envs: bool,
    specs_dir: Path,
    repo: Path | None,
    blocked: tuple[str, ...],
    templates: tuple[str, ...],
    force: bool,
    output: str,
    debug: bool,
) -> None:
    """Fail (exit 1) when the committed GitOps tree is stale or hand-edited; compares commits, not working trees."""
    from gwpipe.cli.main import DEFAULT_REPO, _pipeline, _set_common, failures, resolve_specs

    _set_common(debug, output)
    with failures():
        specs = resolve_specs(targets, all_envs, specs_dir)
        pipeline = _pipeline(blocked, templates)
        gitops = committed_tree_reader(repo or DEFAULT_REPO)
        freshness = gitops.freshness(force)
        reports = []
        with tempfile.TemporaryDirectory(prefix="gwpipe-check-") as scratch:
            exported: dict[Path, tuple[Path, str]] = {}
            for path, root in specs:
                key = Path(os.path.abspath(root))
                if key not in exported:
                    exported[key] = export_head(key, Path(scratch) / str(len(exported)))
                head_root, spec_commit = exported[key]
                spec_file = head_root / Path(os.path.abspath(path)).relative_to(key)
                # recorded as rendered from the files its last load read, and those did not change
                unchanged = freshness.unchanged(pipeline, spec_file, head_root)
                if unchanged is not None:
                    reports.append(compare(unchanged, None, gitops, spec_commit, path))
                    continue
                with located_in(head_root, key):
                    spec = pipeline.load(spec_file, head_root)
                    if freshness.is_up_to_date(pipeline, spec)[0]:  # its committed tree is a render of these inputs
                        reports.append(compare(spec.name, None, gitops, spec_commit, path))
                        continue
                    bundle = pipeline.build(spec)
                reports.append(compare(bundle.spec.name, bundle.files, gitops, spec_commit, path))
        _report(reports, str(repo or DEFAULT_REPO), output)


@contextmanager
def located_in(exported: Path, root: Path) -> Iterator[None]:
    """Errors about the exported copy of the specs name the user's spec folder instead."""
    from gwpipe.errors import GwpipeError
    from gwpipe.spec.load import display_path

    try:
        yield
    except GwpipeError as exc:
        shown, real = str(exported), display_path(root)
        problems = [
            dataclasses.replace(
                p,
                where=p.where.replace(shown, real),
                what=p.what.replace(shown, real),
                file=p.file.replace(shown, real) if p.file else None,
            )
            for p in exc.problems
        ]
        raise type(exc)(*problems) from None


def export_head(root: Path, scratch: Path) -> tuple[Path, str]:
    """Write the files under `root` as committed at HEAD of its repository into `scratch/<root name>`."""
    import git

    from gwpipe.errors import GitError, Problem

    try:
        repo = git.Repo(root, search_parent_directories=True)
        commit = repo.head.commit
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise GitError(Problem(str(root), "specs are not in a git repository; check compares commits")) from None
    except ValueError:
        raise GitError(Problem(str(root), "the specs repository has no commits")) from None
    top = Path(repo.working_tree_dir or root).resolve()
    prefix = root.resolve().relative_to(top).as_posix()
    target = scratch / root.name
    target.mkdir(parents=True)
    try:
        tree = commit.tree / prefix if prefix != "." else commit.tree
    except KeyError:
        raise GitError(Problem(str(root), f"not committed at HEAD ({commit.hexsha[:12]})")) from None
    item: Any
    for item in tree.traverse():
        if item.type != "blob":
            continue
        rel = Path(item.path).relative_to(tree.path) if tree.path else Path(item.path)
        if item.mode == SYMLINK_MODE:
            raise GitError(Problem(f"{root / rel}", "a symlink among the specs at HEAD is refused"))
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        (target / rel).write_bytes(item.data_stream.read())
    return target, str(commit.hexsha)


class CommittedTree:
    """Files of one environment folder as committed at HEAD of the GitOps repository."""

    def __init__(self, repo: Any, prefix: str, shown: str) -> None:
        self.repo, self.prefix, self.shown = repo, prefix, shown.rstrip("/")
        self.commit = str(repo.head.commit.hexsha)

    def freshness(self, force: bool) -> Any:
        """Which environments are recorded as rendered, from which inputs, into the trees at HEAD."""
        from gwpipe.record import Freshness

        return Freshness(self.repo.git, Path(self.repo.git_dir), self.commit, self.prefix, force=force)

    def files(self, env: str) -> dict[str, bytes]:
        folder = f"{self.prefix}/{env}" if self.prefix else env
        try:
            tree = self.repo.head.commit.tree / folder
        except KeyError:
            return {}
        if tree.type != "tree":
            from gwpipe.errors import GitError, Problem

            raise GitError(Problem(f"{self.shown}/{env}", f"is not a folder at HEAD ({self.commit[:12]})"))
        return {
            item.path[len(folder) + 1 :]: item.data_stream.read() for item in tree.traverse() if item.type == "blob"
        }


def committed_tree_reader(repo_path: Path) -> CommittedTree:
    """The GitOps repository (or a folder inside one) at HEAD; refuses a missing repository or no commits."""
    import git

    from gwpipe.errors import GitError, Problem

    folder = repo_path.resolve()
    try:
        repo = git.Repo(folder, search_parent_directories=True)
        repo.head.commit  # noqa: B018 - raises ValueError without commits
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise GitError(Problem(str(repo_path), "not a git repository (pass the GitOps checkout with --repo)")) from None
    except ValueError:
        raise GitError(Problem(str(repo_path), "the GitOps repository has no commits")) from None
    prefix = folder.relative_to(Path(repo.working_tree_dir or folder).resolve()).as_posix()
    return CommittedTree(repo, "" if prefix == "." else prefix, str(repo_path))


def compare(
    env: str, desired: dict[str, bytes] | None, gitops: CommittedTree, spec_commit: str, spec: Path
) -> dict[str, Any]:
    """What differs between the committed environment folder and a fresh render (None: known to be the same)."""
    from gwpipe.tree.guards import TreeChange, diff_tree

    change = TreeChange() if desired is None else diff_tree(gitops.files(env), desired)
    return {
        "environment": env,
        "spec": str(spec),
        "spec_commit": spec_commit,
        "gitops_commit": gitops.commit,
        "up_to_date": change.empty,
        "missing": change.added,
        "changed": change.changed,
        "unexpected": change.removed,
    }


def _report(reports: list[dict[str, Any]], repo: str, output: str) -> None:
    from gwpipe.cli.main import say
    from gwpipe.errors import Problem

    errors = []
    for r in reports:
        where = f"{repo.rstrip('/')}/{r['environment']}"
        errors += [
            Problem(f"{where}/{p}", f"committed file differs from the render of {r['spec']} at HEAD")
            for p in r["changed"]
        ]
        errors += [
            Problem(f"{where}/{p}", "missing from the committed tree; render and commit it") for p in r["missing"]
        ]
        errors += [
            Problem(f"{where}/{p}", f"committed but not rendered from {r['spec']} at HEAD") for p in r["unexpected"]
        ]
    for problem in errors:
        say("error", str(problem))
    ok = not errors
    if output == "json":
        document = {"ok": ok, "environments": reports, "errors": [p.as_dict() for p in errors]}
        click.echo(json.dumps(document, indent=2, sort_keys=True))
    else:
        for r in reports:
            state = "up to date" if r["up_to_date"] else "stale or hand-edited"
            counts = f"{len(r['changed'])} differ, {len(r['missing'])} missing, {len(r['unexpected'])} unexpected"
            click.echo(f"{r['environment']}: {state}" + ("" if r["up_to_date"] else f" ({counts})"))
    if not ok:
        sys.exit(1)
