"""One test per reproduced defect of the commit path that needs no fault injection."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from gwpipe.engine import Options, Pipeline
from gwpipe.errors import GitError, WriteError
from gwpipe.git.commit import commit_bundles
from gwpipe.hooks.manager import create_manager
from gwpipe.testing import git

from .harness import commit_in_process, leftovers, tree_of, write_specs


def _bundles(specs: Path, names: list[str]) -> list:  # type: ignore[type-arg]
    pipeline = Pipeline(Options(), pm=create_manager(entry_points=False))
    return [pipeline.build(pipeline.load(specs / f"{name}.yaml", specs)) for name in names]


def test_a_colon_in_the_repository_path_commits_every_time(tmp_path: Path) -> None:
    repo = tmp_path / "ci-2024-01-01T10:00" / "gitops"
    for version in (1, 2, 3):
        specs = write_specs(tmp_path / f"v{version}", version, ["dev"])
        commit_in_process(specs, repo, ["dev"])
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "3"
    reference = tmp_path / "reference"
    commit_in_process(tmp_path / "v3", reference, ["dev"])
    assert tree_of(repo) == tree_of(reference)


def _repo_with(tmp_path: Path) -> Path:
    repo = tmp_path / "gitops"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    (repo / "README").write_text("gitops\n")
    git(repo, "add", "README")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "init")
    return repo


def test_an_uninitialised_submodule_where_the_environment_goes_is_refused(tmp_path: Path) -> None:
    repo = _repo_with(tmp_path)
    head = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "update-index", "--add", "--cacheinfo", f"160000,{head},dev")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "submodule")
    (repo / "dev").mkdir()
    before = git(repo, "rev-parse", "HEAD")
    with pytest.raises(GitError) as info:
        commit_bundles(_bundles(write_specs(tmp_path / "s", 1, ["dev"]), ["dev"]), repo, Options(), create=False)
    assert [str(p) for p in info.value.problems] == [
        f"{repo}/dev: is a submodule in this repository; refusing to write an environment over it"
    ]
    assert git(repo, "rev-parse", "HEAD") == before
    assert leftovers(repo) == []


def test_a_clean_filter_on_gwpipes_paths_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    repo = _repo_with(tmp_path)
    (repo / ".gitattributes").write_text("*.yaml filter=upper\n")
    git(repo, "config", "filter.upper.clean", "tr a-z A-Z")
    git(repo, "add", ".gitattributes")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "filter")
    before = git(repo, "rev-parse", "HEAD")
    with pytest.raises(GitError) as info:
        commit_bundles(_bundles(write_specs(tmp_path / "s", 1, ["dev"]), ["dev"]), repo, Options(), create=False)
    (problem,) = info.value.problems
    assert problem.where.startswith(f"{repo}/dev/")
    assert problem.what.startswith("git would change this rendered file on commit through the `upper` filter (and ")
    assert git(repo, "rev-parse", "HEAD") == before
    assert leftovers(repo) == []


def test_a_filter_without_a_driver_changes_nothing_and_is_allowed(tmp_path: Path) -> None:
    repo = _repo_with(tmp_path)
    (repo / ".gitattributes").write_text("*.yaml filter=lfs-not-installed\n")
    git(repo, "add", ".gitattributes")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "attrs")
    specs = write_specs(tmp_path / "s", 1, ["dev"])
    commit_bundles(_bundles(specs, ["dev"]), repo, Options(), create=False)
    blob = git(repo, "cat-file", "-p", "HEAD:dev/shop/gateway-web.yaml")
    assert blob == (repo / "dev" / "shop" / "gateway-web.yaml").read_text()


@pytest.mark.parametrize("marker", ["REVERT_HEAD", "CHERRY_PICK_HEAD", "BISECT_LOG", "sequencer"])
def test_every_sequencer_state_is_refused(tmp_path: Path, marker: str) -> None:
    repo = _repo_with(tmp_path)
    head = git(repo, "rev-parse", "HEAD").strip()
    target = repo / ".git" / marker
    if marker == "sequencer":
        target.mkdir()
    else:
        target.write_text(head + "\n")
    with pytest.raises(GitError) as info:
        commit_bundles(_bundles(write_specs(tmp_path / "s", 1, ["dev"]), ["dev"]), repo, Options(), create=False)
    assert [str(p) for p in info.value.problems] == [
        f"{repo}: a merge, rebase, cherry-pick, revert or bisect is in progress ({marker}); finish it first"
    ]
    assert not (repo / "dev").exists()


def test_a_leftover_symlink_named_like_gwpipes_is_not_followed(tmp_path: Path) -> None:
    repo = _repo_with(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep")
    (repo / ".git" / "info" / "exclude").write_text(".gwpipe-*\n")  # hidden from the dirty-tree check
    (repo / ".gwpipe-old-dev").symlink_to(outside)
    (repo / ".git" / "gwpipe-run.json").write_text('{"pid": 0, "environments": ["dev"], "parent": null}')
    with pytest.raises(WriteError) as info:
        commit_bundles(_bundles(write_specs(tmp_path / "s", 1, ["dev"]), ["dev"]), repo, Options(), create=False)
    assert [str(p) for p in info.value.problems] == [
        f"{repo}/.gwpipe-old-dev: is not a folder gwpipe made; move it away"
    ]
    assert (outside / "keep.txt").read_text() == "keep"
    assert (repo / ".gwpipe-old-dev").is_symlink()
    assert not (repo / "dev").exists()


def test_a_private_key_as_a_mapping_key_keeps_every_error_on_one_line(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from gwpipe.cli.main import main

    key = (
        "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\n"
    )
    (tmp_path / "dev.yaml").write_text(
        "namespace: shop\ngateways:\n  web:\n    selector: {istio: ingressgateway}\nhosts:\n"
        f"  {json.dumps(key)}:\n    gateway: web\n    routes: [{{destination: {{host: a, port: 80}}}}]\n"
    )
    result = CliRunner().invoke(main, ["validate", "--specs", str(tmp_path), "dev"])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[-1] == (
        f'error: {tmp_path}/dev.yaml:7:5: hosts["<redacted, 106 bytes>\\n"]: invalid value, '
        "got <redacted, 112 bytes>; expected a lower-case FQDN, *.domain or *"
    )
    assert all(line.startswith(("error: ", "hint: ")) for line in lines)
    assert "MIIEvQ" not in result.stderr
