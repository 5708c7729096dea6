"""The fast commit (fast-import + compare-and-swap) makes the very commit `git add` + `git commit` would, or steps aside."""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gwpipe.engine import Bundle, Options
from gwpipe.errors import GitError, WriteError
from gwpipe.git import commit as engine
from gwpipe.git.commit import commit_bundles
from gwpipe.git.fastimport import GitSettings, blocker, parse_config_list, stripspace
from gwpipe.git.repo import FastCommit, GitopsRepo
from gwpipe.testing import build, git

pytestmark = pytest.mark.usefixtures("fast_paths")  # tests of the fast commit itself

SPEC = {
    "namespace": "shop",
    "gateways": {"web": {"selector": {"istio": "ingressgateway"}}},
    "hosts": {
        f"{h}.example.com": {"gateway": "web", "routes": [{"destination": {"host": h, "port": 80}}]}
        for h in ("a", "b", "c")
    },
}
DATE = "1700000000 +0100"
ALLOW = Options(allow_delete=True, allow_empty=True)


@pytest.fixture(autouse=True)
def fixed_dates(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both paths stamp the same time, so equal content means an equal commit id."""
    monkeypatch.setenv("GIT_AUTHOR_DATE", DATE)
    monkeypatch.setenv("GIT_COMMITTER_DATE", DATE)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    return build(tmp_path_factory.mktemp("spec"), SPEC, name="dev")


def bundle_with(base: Bundle, files: dict[str, bytes], name: str = "dev") -> Bundle:
    spec = dataclasses.replace(base.spec, name=name)
    return dataclasses.replace(base, spec=spec, files=dict(sorted(files.items())))


def make_repo(
    path: Path, identity: bool = True, born: bool = True, setup: Callable[[Path], None] | None = None
) -> Path:
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    if identity:
        git(path, "config", "user.name", "Ops Team")
        git(path, "config", "user.email", "ops@example.com")
    if setup:
        setup(path)
    if born:
        (path / "README.md").write_text("gitops\n")
        (path / "other").mkdir(exist_ok=True)
        (path / "other" / "keep.txt").write_text("not gwpipe's\n")
        git(path, "add", "-A")
        git(path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "init")
    return path


@contextmanager
def fast_path(monkeypatch: pytest.MonkeyPatch, enabled: bool) -> Iterator[list[str]]:
    """Record each commit the fast path lands; with `enabled` False, force today's `git add` path."""
    landed: list[str] = []
    real = GitopsRepo._move_branch

    def spy(self: GitopsRepo, commit: str, parent: str | None, message: str) -> str:
        landed.append(commit)
        return real(self, commit, parent, message)

    with monkeypatch.context() as mp:
        mp.setattr(GitopsRepo, "_move_branch", spy)
        if not enabled:
            mp.setattr(GitopsRepo, "_start_fast_commit", lambda *_a: None)
        yield landed


def run_steps(repo: Path, steps: list[list[Bundle]]) -> list[str | None]:
    return [commit_bundles(bundles, repo, ALLOW, create=False)[0].commit for bundles in steps]


def state(repo: Path) -> dict[str, str]:
    """Everything a user can see of the result: HEAD, its tree, the commit bytes, the reflog, `git status`."""
    return {
        "head": git(repo, "rev-parse", "HEAD"),
        "commit": git(repo, "cat-file", "commit", "HEAD"),
        "reflog": git(repo, "log", "-g", "--format=%gs", "main"),
        "status": git(repo, "status", "--porcelain", "--untracked-files=all"),
        "files": git(repo, "ls-files", "-s"),
    }


def junk(repo: Path) -> list[str]:
    """What a fast commit must never leave behind: crash reports, quarantines, tmp packs, scratch refs."""
    gitdir = repo / ".git"
    found = [p.name for p in gitdir.glob("fast_import_crash_*")]
    found += [p.name for p in (gitdir / "objects").glob("tmp_*")]
    found += [p.name for p in (gitdir / "objects" / "pack").glob("tmp_*")]
    found += [line for line in git(repo, "for-each-ref", "--format=%(refname)").splitlines() if "gwpipe" in line]
    return found


def compare(tmp: Path, monkeypatch: pytest.MonkeyPatch, steps: list[list[Bundle]], **repo: Any) -> list[str]:
    """Run `steps` through both paths in twin repositories; they must end in identical states."""
    with fast_path(monkeypatch, True) as landed:
        fast = run_steps(make_repo(tmp / "fast", **repo), steps)
    with fast_path(monkeypatch, False) as none:
        slow = run_steps(make_repo(tmp / "slow", **repo), steps)
    assert none == []
    assert fast == slow
    assert state(tmp / "fast") == state(tmp / "slow")
    assert state(tmp / "fast")["status"] == ""
    assert junk(tmp / "fast") == []
    return landed


def test_add_change_remove_match_git_add(base: Bundle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    changed = dict(base.files)
    changed["shop/virtualservice-a-example-com.yaml"] += b"# edited\n"
    del changed["shop/virtualservice-c-example-com.yaml"]
    changed["shop/virtualservice-d-example-com.yaml"] = b"kind: VirtualService\nmetadata: {name: d, namespace: shop}\n"
    steps = [[base], [bundle_with(base, changed)], [base]]
    landed = compare(tmp_path, monkeypatch, steps)
    assert len(landed) == 3
    assert git(tmp_path / "fast", "show", "--name-status", "--format=", "HEAD~1").splitlines() == [
        "M\tdev/shop/virtualservice-a-example-com.yaml",
        "D\tdev/shop/virtualservice-c-example-com.yaml",
        "A\tdev/shop/virtualservice-d-example-com.yaml",
    ]
    assert (tmp_path / "fast" / "other" / "keep.txt").read_text() == "not gwpipe's\n"
    assert git(tmp_path / "fast", "ls-tree", "--name-only", "HEAD").split() == ["README.md", "dev", "other"]


def test_unborn_branch_and_fallback_identity(base: Bundle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no user identity anywhere
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home"))
    landed = compare(tmp_path, monkeypatch, [[base]], identity=False, born=False)
    assert len(landed) == 1
    assert git(tmp_path / "fast", "log", "--format=%an <%ae>|%cn <%ce>|%P").strip() == (
        "gwpipe <gwpipe@localhost>|gwpipe <gwpipe@localhost>|"
    )
    assert (
        git(tmp_path / "fast", "log", "-g", "--format=%gs").strip().startswith("commit (initial): gwpipe: render dev")
    )


def test_non_utf8_config_values(base: Bundle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def setup(repo: Path) -> None:
        subprocess.run([b"git", b"-C", bytes(repo), b"config", b"user.name", b"Jos\xe9 Ops"], check=True)

    landed = compare(tmp_path, monkeypatch, [[base]], setup=setup)
    assert len(landed) == 1


def test_nested_shards_and_two_environments(base: Bundle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nested = {
        "kustomization.yaml": b"resources: [1-gateways-00, 2-routes-web-00]\n",
        "1-gateways-00/kustomization.yaml": b"resources: [shop/gateway-web.yaml]\n",
        "1-gateways-00/shop/gateway-web.yaml": base.files["shop/gateway-web.yaml"],
        "2-routes-web-00/shop/deep/er/virtualservice-x.yaml": b"kind: VirtualService\n",
        "2-routes-web-00/kustomization.yaml": b"resources: []\n",
    }
    steps = [[base, bundle_with(base, nested, "prod")], [bundle_with(base, nested), bundle_with(base, nested, "prod")]]
    landed = compare(tmp_path, monkeypatch, steps)
    assert len(landed) == 2
    assert "prod/2-routes-web-00/shop/deep/er/virtualservice-x.yaml" in git(tmp_path / "fast", "ls-files")


def test_unchanged_render_commits_nothing_on_either_path(
    base: Bundle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    landed = compare(tmp_path, monkeypatch, [[base], [base]])
    assert len(landed) == 1
    assert git(tmp_path / "fast", "rev-list", "--count", "HEAD").strip() == "2"


NAMES = st.sampled_from(["a", "b", "kustomization.yaml", "x-1.yaml", "sub", "Ünï.yaml", "sp ace.yaml"])
CONTENT = st.binary(max_size=40) | st.sampled_from([b"", b"a\r\nb\r\n", b"trailing  \n\n\n", b"\x00\xff"])
TREES = st.dictionaries(st.lists(NAMES, min_size=1, max_size=3).map("/".join), CONTENT, min_size=1, max_size=6)


def _consistent(*trees: dict[str, bytes]) -> bool:
    """No path is a file in one tree and a folder in another (`git commit -- <folder>` fails on that)."""
    paths = {path for files in trees for path in files}
    return not any(other.startswith(path + "/") for path in paths for other in paths)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=TREES, second=TREES)
def test_any_two_renders_match_git_add(
    base: Bundle, monkeypatch: pytest.MonkeyPatch, first: dict[str, bytes], second: dict[str, bytes]
) -> None:
    assume(_consistent(first, second))
    with tempfile.TemporaryDirectory() as tmp:
        steps = [[bundle_with(base, first)], [bundle_with(base, second)]]
        landed = compare(Path(tmp), monkeypatch, steps)
    assert len(landed) == (1 if first == second else 2)


# fallbacks: a repository whose `git add` stores other bytes than the files hold


def test_autocrlf_skips_the_fast_path(base: Bundle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    crlf = bundle_with(base, {**base.files, "shop/notes.yaml": b"a: 1\r\nb: 2\r\n"})
    started: list[object] = []
    real = GitopsRepo._start_fast_commit

    def spy(self: GitopsRepo, *args: Any) -> FastCommit | None:
        started.append(result := real(self, *args))
        return result

    monkeypatch.setattr(GitopsRepo, "_start_fast_commit", spy)
    landed = compare(tmp_path, monkeypatch, [[crlf]], setup=lambda r: git(r, "config", "core.autocrlf", "true"))
    assert landed == []
    assert started == [None]
    assert git(tmp_path / "fast", "cat-file", "blob", "HEAD:dev/shop/notes.yaml") == "a: 1\nb: 2\n"


@pytest.mark.parametrize(
    ("attributes", "where"),
    [("*.yaml text\n", ".gitattributes"), ("*.yaml text\n", ".git/info/attributes")],
)
def test_attributes_are_caught_by_the_tree_comparison(
    base: Bundle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, attributes: str, where: str
) -> None:
    crlf = bundle_with(base, {**base.files, "shop/notes.yaml": b"a: 1\r\n"})

    def setup(repo: Path) -> None:
        (repo / where).write_text(attributes)

    landed = compare(tmp_path, monkeypatch, [[crlf]], setup=setup)
    assert landed == []  # fast-import ran, its tree differed from the staged one: `git commit` made the commit
    assert git(tmp_path / "fast", "cat-file", "blob", "HEAD:dev/shop/notes.yaml") == "a: 1\n"


@pytest.mark.parametrize(
    ("config", "fast"),
    [
        ({"core.splitIndex": "true"}, True),  # git add writes the index in whatever form the repository keeps
        ({"index.version": "4"}, True),
        ({"feature.manyFiles": "true"}, True),
        ({"core.sparseCheckout": "true"}, False),
        ({"core.fileMode": "false"}, False),
    ],
)
def test_index_formats_and_sparse_checkout(
    base: Bundle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: dict[str, str], fast: bool
) -> None:
    def setup(repo: Path) -> None:
        for key, value in config.items():
            git(repo, "config", key, value)
        if "core.sparseCheckout" in config:
            (repo / ".git" / "info" / "sparse-checkout").write_text("/*\n")

    landed = compare(tmp_path, monkeypatch, [[base]], setup=setup)
    assert len(landed) == (1 if fast else 0)


def test_ignored_files_are_caught_by_the_tree_comparison(
    base: Bundle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    extra = bundle_with(base, {**base.files, "shop/scratch.tmp": b"x\n"})
    landed = compare(tmp_path, monkeypatch, [[extra]], setup=lambda r: (r / ".gitignore").write_text("*.tmp\n"))
    assert landed == []
    assert "dev/shop/scratch.tmp" not in git(tmp_path / "fast", "ls-files")


@pytest.mark.parametrize(
    ("config", "reason"),
    [
        ({}, None),
        ({"core.autocrlf": "input"}, "core.autocrlf"),
        ({"core.autocrlf": "false", "core.filemode": "true"}, None),
        ({"core.eol": "lf"}, "core.eol"),
        ({"core.attributesfile": "/x"}, "core.attributesfile"),
        ({"filter.lfs.clean": "git-lfs clean -- %f"}, "filter.lfs.clean"),
        ({"core.filemode": "false"}, "core.filemode"),
        ({"core.ignorecase": "true"}, "core.ignorecase"),
        ({"core.sparsecheckout": "true"}, "core.sparsecheckout"),
        ({"core.sharedrepository": "group"}, "core.sharedrepository"),
        ({"core.sharedrepository": "umask"}, None),
        ({"i18n.commitencoding": "ISO-8859-1"}, "i18n.commitencoding"),
        ({"i18n.commitencoding": "UTF-8"}, None),
        ({"commit.cleanup": "strip"}, "commit.cleanup"),
        ({"commit.cleanup": "whitespace"}, None),
    ],
)
def test_blocker(config: dict[str, str], reason: str | None) -> None:
    ident = "Ops <ops@example.com> 1700000000 +0100"
    assert blocker(GitSettings(config, ident, ident)) == reason


def test_blocker_needs_a_whole_identity() -> None:
    assert blocker(GitSettings({}, " <> 1 +0000", "a <b> 1 +0000")) == "no complete identity"
    assert blocker(GitSettings({}, "a <b> 1 +0000", "")) == "no complete identity"


def test_parse_config_list() -> None:
    text = "core.bare\nfalse\0core.logallrefupdates\0user.name\na=b\0x.note\na\ni18n.commitencoding=utf-8\0"
    assert parse_config_list(text) == {
        "core.bare": "false",
        "core.logallrefupdates": "true",
        "user.name": "a=b",
        "x.note": "a\ni18n.commitencoding=utf-8",  # a value with a newline stays one value
    }


def test_a_multi_line_config_value_cannot_hide_a_blocker(base: Bundle, tmp_path: Path) -> None:
    def settings(repo: Path) -> None:
        git(repo, "config", "i18n.commitEncoding", "ISO-8859-1")
        git(repo, "config", "x.note", "a\ni18n.commitencoding=utf-8")

    repo = make_repo(tmp_path / "r", setup=settings)
    with GitopsRepo.open(repo, create=False).fast_commit({"dev": base.files}, "m") as pending:
        assert pending is None  # the commit encoding sends this repository down the `git commit` path


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(["a", " ", "\t", "\n", "\r", "#", "é", "\v"]), max_size=30))
def test_stripspace_is_git_stripspace(text: str) -> None:
    real = subprocess.run(["git", "stripspace"], input=text.encode(), capture_output=True, check=True).stdout
    assert stripspace(text).encode() == real


# failures: HEAD unchanged, nothing staged, the tree put back, nothing left in .git


def assert_untouched(repo: Path, head: str) -> None:
    assert git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
    assert git(repo, "diff", "--cached", "--name-only") == ""
    assert not (repo / "dev").exists()
    assert junk(repo) == []


def test_fast_import_failure(base: Bundle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = make_repo(tmp_path / "r")
    head = git(repo, "rev-parse", "HEAD")
    from gwpipe.git import repo as gitrepo

    real = gitrepo.commit_stream
    monkeypatch.setattr(gitrepo, "commit_stream", lambda *a: (real(*a) or b"").replace(b"\nget-mark", b"\nbogus"))
    with pytest.raises(GitError) as info:
        commit_bundles([base], repo, Options(), create=False)
    assert [str(p) for p in info.value.problems] == [f"git: {repo}: fatal: Unsupported command: bogus :1"]
    assert_untouched(repo, head)


def test_fast_import_killed(base: Bundle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = make_repo(tmp_path / "r")
    head = git(repo, "rev-parse", "HEAD")
    real = FastCommit.__init__

    def killed(self: FastCommit, process: Any, *args: Any) -> None:
        real(self, process, *args)
        os.kill(process.proc.pid, signal.SIGKILL)

    monkeypatch.setattr(FastCommit, "__init__", killed)
    with pytest.raises(GitError, match=rf"^git: {re.escape(str(repo))}: git fast-import was killed by SIGKILL$"):
        commit_bundles([base], repo, Options(), create=False)
    assert_untouched(repo, head)


def test_branch_moved_by_someone_else(base: Bundle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = make_repo(tmp_path / "r")
    head = git(repo, "rev-parse", "HEAD").strip()
    intruder = git(repo, "commit-tree", "-p", "HEAD", "-m", "intruder", "HEAD^{tree}").strip()
    real = GitopsRepo._index_matches

    def race(self: GitopsRepo, tree: str) -> bool:
        git(repo, "update-ref", "refs/heads/main", intruder)
        return real(self, tree)

    monkeypatch.setattr(GitopsRepo, "_index_matches", race)
    with pytest.raises(GitError) as info:
        commit_bundles([base], repo, Options(), create=False)
    assert [str(p) for p in info.value.problems] == [
        f"git: {repo}: fatal: update_ref failed for ref 'refs/heads/main': "
        f"cannot lock ref 'refs/heads/main': is at {intruder} but expected {head}"
    ]
    assert_untouched(repo, intruder + "\n")


@pytest.mark.parametrize("step", ["stage_tree", "swap_tree"])
def test_write_failure_leaves_no_object(
    base: Bundle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    """The second environment fails while being staged, or while being put in place after the first one was."""
    repo = make_repo(tmp_path / "r")
    head = git(repo, "rev-parse", "HEAD")
    objects = git(repo, "count-objects", "-v")
    real = getattr(engine, step)

    def fail_second(root: Path, env: str, *rest: Any, **options: Any) -> Any:
        if env == "prod":
            raise WriteError(engine.Problem(str(root / env), "cannot write: No space left on device"))
        return real(root, env, *rest, **options)

    monkeypatch.setattr(engine, step, fail_second)
    with pytest.raises(WriteError, match=r"/prod: cannot write: No space left on device$"):
        commit_bundles([base, bundle_with(base, base.files, "prod")], repo, Options(), create=False)
    assert_untouched(repo, head)
    assert git(repo, "count-objects", "-v") == objects  # the quarantine went, and every object with it
    assert sorted(p.name for p in repo.iterdir() if p.name.startswith(".gwpipe")) == []


KILLED_RUN = """
import os, sys
from pathlib import Path
from gwpipe.git.repo import GitopsRepo
repo = GitopsRepo.open(Path(sys.argv[1]), create=False)
files = {f"shop/file-{i}.yaml": bytes(range(256)) * 64 + str(i).encode() for i in range(400)}
pending = repo._start_fast_commit({"dev": files}, "gwpipe: render dev")
assert pending is not None
print(pending.pid, flush=True)
os.kill(os.getpid(), 9)
"""


def wait_gone(pid: int) -> None:
    """Wait for the orphaned fast-import (now init's child, not ours) to end."""
    for _ in range(3000):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.01)
    raise AssertionError(f"fast-import {pid} still running")


def test_a_killed_run_leaves_nothing_the_next_run_keeps(base: Bundle, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r")
    head = git(repo, "rev-parse", "HEAD")
    killed = subprocess.run([sys.executable, "-c", KILLED_RUN, str(repo)], capture_output=True, check=False)
    assert killed.returncode == -9, killed.stderr
    wait_gone(int(killed.stdout))
    assert [p.name for p in (repo / ".git").glob("fast_import_crash_*")] == []
    assert len(list((repo / ".git" / "objects").glob("tmp_objdir-gwpipe-*"))) == 1  # what the killed run left
    assert git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
    result = commit_bundles([base], repo, Options(), create=False)
    assert result[0].commit == git(repo, "rev-parse", "HEAD").strip()
    assert junk(repo) == []
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""


def test_git_stays_pinned_to_the_repository(base: Bundle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo, other = make_repo(tmp_path / "r"), make_repo(tmp_path / "other")
    before = state(other)
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    monkeypatch.setenv("GIT_INDEX_FILE", str(other / ".git" / "index"))
    monkeypatch.setenv("GIT_OBJECT_DIRECTORY", str(other / ".git" / "objects"))
    with fast_path(monkeypatch, True) as landed:
        commit_bundles([base], repo, Options(), create=False)
    monkeypatch.delenv("GIT_DIR")
    monkeypatch.delenv("GIT_INDEX_FILE")
    monkeypatch.delenv("GIT_OBJECT_DIRECTORY")
    assert len(landed) == 1
    assert state(other) == before
    assert git(repo, "log", "-1", "--format=%s").startswith("gwpipe: render dev")
    assert git(repo, "status", "--porcelain") == ""


def test_a_change_git_does_not_see_commits_nothing_on_either_path(
    base: Bundle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An ignored file in the environment folder: the tree differs from the render, git's view does not."""

    def ignore_bak(repo: Path) -> None:
        (repo / ".gitignore").write_text("*.bak\n")

    def with_ignored(repo: Path) -> None:
        (repo / "dev" / "notes.bak").write_text("local\n")

    results = {}
    for enabled in (True, False):
        repo = make_repo(tmp_path / str(enabled), setup=ignore_bak)
        with fast_path(monkeypatch, enabled) as landed:
            first = commit_bundles([base], repo, ALLOW, create=False)[0]
            with_ignored(repo)
            again = commit_bundles([base], repo, ALLOW, create=False)[0]
        assert first.commit is not None
        assert again.commit is None, "a commit with no change"
        assert git(repo, "rev-list", "--count", "HEAD").strip() == "2"
        results[enabled] = (state(repo), landed)
    assert results[True][0] == results[False][0]
    assert len(results[True][1]) == 1  # the first render did take the fast path


def test_a_quarantine_in_use_is_no_leftover(base: Bundle, tmp_path: Path) -> None:
    """Worktrees share the object store but not gwpipe's lock: a live run's quarantine must survive another's clean-up."""
    repo = make_repo(tmp_path / "r")
    live = GitopsRepo.open(repo, create=False)
    with live.fast_commit({"dev": base.files}, "gwpipe: render dev") as pending:
        assert pending is not None
        dead = Path(tempfile.mkdtemp(prefix="tmp_objdir-gwpipe-", dir=repo / ".git" / "objects"))  # a killed run's
        GitopsRepo.open(repo, create=False).remove_quarantines()
        assert pending.quarantine.is_dir()
        assert not dead.exists()
    assert junk(repo) == []
