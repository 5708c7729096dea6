"""GWPIPE_FAST: the simple paths (0) and the fast ones (1) render and commit byte-identical trees."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from test_golden import EXAMPLES, GOLDEN, _golden_dir, _read

from gwpipe import fast
from gwpipe.engine import Options, Pipeline
from gwpipe.errors import UsageError
from gwpipe.hooks.manager import create_manager
from gwpipe.model import RenderedObject
from gwpipe.parallel import MIN_ITEMS
from gwpipe.render.environment import make_environment
from gwpipe.testing import git, write_spec

# one VirtualService per host: enough objects for the parallel render, parse-back and deferred checks
LARGE_HOSTS = MIN_ITEMS + 50


def large_spec(folder: Path) -> Path:
    hosts = {
        f"app{i}.example.com": {"gateway": "web", "routes": [{"destination": {"host": f"app{i}", "port": 80}}]}
        for i in range(LARGE_HOSTS)
    }
    data = {"namespace": "shop", "gateways": {"web": {"selector": {"istio": "ingressgateway"}}}, "hosts": hosts}
    return write_spec(folder, data, "large")


def gwpipe(switch: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GWPIPE_FAST": switch}
    gwpipe_exe = Path(sys.executable).parent / "gwpipe"
    return subprocess.run([str(gwpipe_exe), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def make_repo(path: Path) -> Path:
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    git(path, "config", "user.name", "Ops Team")
    git(path, "config", "user.email", "ops@example.com")
    (path / "README.md").write_text("gitops\n")
    git(path, "add", "README.md")
    git(path, "commit", "-q", "-m", "init")
    return path


@pytest.fixture(scope="module")
def targets(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Every golden environment, plus one large enough for every fast path."""
    return [str(p) for p in EXAMPLES] + [str(large_spec(tmp_path_factory.mktemp("specs")))]


def test_every_golden_renders_byte_identical_both_ways(tmp_path: Path, targets: list[str]) -> None:
    trees = {}
    for switch in ("0", "1"):
        out = tmp_path / f"out{switch}"
        done = gwpipe(switch, "render", *targets, "--out", str(out), cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        trees[switch] = {env.name: _read(env) for env in sorted(out.iterdir())}
    assert sorted(trees["0"]) == sorted(Path(t).stem for t in targets)
    assert trees["0"] == trees["1"]
    assert len(trees["0"]["large"]) > LARGE_HOSTS
    for spec in EXAMPLES:  # and both are the golden trees
        assert trees["0"][spec.stem] == _read(_golden_dir(spec)), spec
    assert GOLDEN.is_dir()


def test_every_golden_commits_the_same_tree_both_ways(tmp_path: Path, targets: list[str]) -> None:
    trees, files = [], []
    for switch in ("0", "1"):
        repo = make_repo(tmp_path / f"gitops{switch}")
        done = gwpipe(switch, "render", *targets, "--repo", str(repo), cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
        assert git(repo, "rev-list", "--count", "HEAD").strip() == "2"  # one commit for the whole run
        trees.append(git(repo, "rev-parse", "HEAD^{tree}").strip())
        files.append(git(repo, "ls-tree", "-r", "--name-only", "HEAD").splitlines())
    assert trees[0] == trees[1]
    assert len(files[0]) > LARGE_HOSTS


def test_a_failing_check_is_reported_the_same_both_ways(tmp_path: Path) -> None:
    """A template that leaks key material: an Error finding of the secret scan, deferred on the fast path."""
    spec = large_spec(tmp_path / "specs")
    spec.write_text(spec.read_text() + "templates: tpl\n")
    builtin = Path(__file__).resolve().parent.parent / "templates" / "http" / "gateway.yaml.j2"
    key = (
        "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC"
        + "NOTAREALKEY" * 8
        + "\n-----END PRIVATE KEY-----\n"
    )
    (tmp_path / "specs" / "tpl" / "http").mkdir(parents=True)
    leak = f"# {base64.b64encode(key.encode()).decode()}\n"
    (tmp_path / "specs" / "tpl" / "http" / "gateway.yaml.j2").write_text(builtin.read_text() + leak)
    outcomes = []
    for switch in ("0", "1"):
        repo = make_repo(tmp_path / f"gitops{switch}")
        done = gwpipe(switch, "render", str(spec), "--repo", str(repo), cwd=tmp_path)
        outcomes.append((done.returncode, done.stdout, done.stderr))
        assert git(repo, "rev-list", "--count", "HEAD").strip() == "1"
        assert sorted(p.name for p in repo.iterdir()) == [".git", "README.md"]
    assert outcomes[0] == outcomes[1]
    assert outcomes[0] == (
        1,
        "",
        "error: 1-gateways-00/shop/gateway-web.yaml: GWP0003 Gateway shop/web: output contains a base64-encoded PEM block; "
        "private keys never enter the GitOps tree\n",
    )


@pytest.mark.parametrize(("raw", "expected"), [(None, True), ("1", True), ("0", False)])
def test_the_switch_reads_0_and_1(monkeypatch: pytest.MonkeyPatch, raw: str | None, expected: bool) -> None:
    if raw is None:
        monkeypatch.delenv("GWPIPE_FAST", raising=False)
    else:
        monkeypatch.setenv("GWPIPE_FAST", raw)
    assert fast.enabled() is expected


@pytest.mark.parametrize("raw", ["", "yes", "true", "2", " 1"])
def test_any_other_value_is_refused(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("GWPIPE_FAST", raw)
    with pytest.raises(UsageError) as caught:
        fast.enabled()
    assert [str(p) for p in caught.value.problems] == [f"GWPIPE_FAST: expected 0 or 1, got {raw!r}"]


def test_a_bad_value_stops_every_command_at_start_up(tmp_path: Path) -> None:
    for args in (["plugins"], ["render", "--all", "--out", str(tmp_path / "out")]):
        done = gwpipe("on", *args, cwd=tmp_path)
        assert (done.returncode, done.stdout, done.stderr) == (2, "", "error: GWPIPE_FAST: expected 0 or 1, got 'on'\n")
    assert not (tmp_path / "out").exists()


class Refused(Exception):
    """Raised by a fast path that must not run."""


def refuse(*args: object, **kwargs: object) -> object:
    raise Refused


SMALL_SPEC = {
    "namespace": "shop",
    "gateways": {"web": {"selector": {"istio": "ingressgateway"}}},
    "hosts": {"a.example.com": {"gateway": "web", "routes": [{"destination": {"host": "a", "port": 80}}]}},
}


def on_both_paths(monkeypatch: pytest.MonkeyPatch, run: Callable[[], object]) -> object:
    """`run()` with GWPIPE_FAST=0 (its result), after checking that with GWPIPE_FAST=1 it meets the refused path."""
    monkeypatch.setenv("GWPIPE_FAST", "1")
    with pytest.raises(Refused):
        run()
    monkeypatch.setenv("GWPIPE_FAST", "0")
    return run()


def test_off_spec_yaml_is_read_by_pyyaml_with_locations(monkeypatch: pytest.MonkeyPatch) -> None:
    from gwpipe.spec import yamlload

    monkeypatch.setattr(yamlload, "read_block", refuse)
    monkeypatch.setattr(yamlload, "load_documents", refuse)
    loaded = on_both_paths(monkeypatch, lambda: yamlload.load_yaml_bytes(b"a:\n  b: 1\n", "x.yaml"))
    assert isinstance(loaded, yamlload.Loaded)
    assert loaded.data == {"a": {"b": 1}}
    assert loaded.locations[("a", "b")] == yamlload.Location("x.yaml", 2, 6, "1")


def test_off_validation_is_cerberus_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    from gwpipe.spec import validate

    monkeypatch.setattr(validate, "FastValidator", refuse)
    schema = on_both_paths(monkeypatch, lambda: Pipeline(Options(), pm=create_manager(entry_points=False)).schema)
    assert isinstance(schema, validate.SpecSchema)
    assert schema.fast is None


def test_off_parse_back_reads_each_object_alone_and_tojson_is_jinja2s(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from gwpipe.render import environment, parseback

    monkeypatch.setattr(parseback, "read_many", refuse)
    path = write_spec(tmp_path, SMALL_SPEC, "dev")

    def render() -> list[RenderedObject]:
        p = Pipeline(Options(), pm=create_manager(entry_points=False))
        return p.render(p.load(path, tmp_path))

    objects = on_both_paths(monkeypatch, render)
    assert isinstance(objects, list)
    assert [o.request.kind for o in objects] == ["Gateway", "VirtualService"]
    assert make_environment([], {}).filters["tojson"] is not environment.tojson
    monkeypatch.setenv("GWPIPE_FAST", "1")
    assert make_environment([], {}).filters["tojson"] is environment.tojson


def test_off_work_is_not_split_across_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    from gwpipe import parallel

    if parallel._workers() < 2:
        pytest.skip("one core: nothing is split either way")
    pids = lambda chunk: [os.getpid()] * len(chunk)  # noqa: E731
    monkeypatch.setenv("GWPIPE_FAST", "1")
    assert set(parallel.fork_map(pids, range(MIN_ITEMS))) != {os.getpid()}
    monkeypatch.setenv("GWPIPE_FAST", "0")
    assert parallel.fork_map(pids, range(MIN_ITEMS)) == [os.getpid()] * MIN_ITEMS
    assert parallel.start(lambda: os.getpid()).result() == os.getpid()


def test_off_the_commit_is_git_add_and_git_commit(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from gwpipe.git.repo import GitopsRepo

    repo = GitopsRepo.open(make_repo(tmp_path / "gitops"), create=False)
    monkeypatch.setattr(GitopsRepo, "_start_fast_commit", refuse)

    def pending() -> object:
        with repo.fast_commit({"dev": {"a.yaml": b"a: 1\n"}}, "render dev\n") as started:
            return started

    assert on_both_paths(monkeypatch, pending) is None


def test_off_files_are_written_without_threads(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from gwpipe.tree import files

    monkeypatch.setattr(files, "SLOW_FILE_SECONDS", -1.0)  # every disk counts as slow
    monkeypatch.setattr(files, "ThreadPoolExecutor", refuse)
    tree = {f"{folder}/{i}.yaml": b"a: 1\n" for folder in "abcd" for i in range(3)}
    shutil.rmtree(tmp_path / "out", ignore_errors=True)
    monkeypatch.setenv("GWPIPE_FAST", "1")
    with pytest.raises(Refused):
        files.write_tree(tmp_path / "out", "dev", tree)
    shutil.rmtree(tmp_path / "out")
    monkeypatch.setenv("GWPIPE_FAST", "0")
    files.write_tree(tmp_path / "out", "dev", tree)
    assert files.read_tree(tmp_path / "out" / "dev") == tree


def test_off_every_secret_detector_runs_ungated(monkeypatch: pytest.MonkeyPatch) -> None:
    from gwpipe.checks import secrets

    monkeypatch.setattr(secrets, "has_base64_run", refuse)
    assert on_both_paths(monkeypatch, lambda: secrets.find_secrets_each(["a: 1\n", "b: 2\n"])) == [[], []]


def test_off_host_overlaps_are_found_by_a_full_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    from gwpipe.checks.analysis.hosts import HostIndex

    monkeypatch.setattr(HostIndex, "_add_wild_suffixes", refuse)
    index = HostIndex([("*.example.com", 1), ("a.example.com", 2), ("b.example.org", 3)])
    assert on_both_paths(monkeypatch, lambda: index.overlapping("a.example.com")) == {1, 2}
    assert index.overlaps("c.example.com")
    assert not index.overlaps("c.example.org")
