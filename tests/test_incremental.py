"""Incremental renders: environments whose inputs did not change are skipped, any changed input renders again."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_env import GOOD
from click.testing import CliRunner, Result

from gwpipe import incremental
from gwpipe.cli.main import main
from gwpipe.engine import Options, Pipeline
from gwpipe.hooks.manager import create_manager
from gwpipe.spec.load import load_spec

IDENTITY = ["-c", "user.name=test", "-c", "user.email=test@localhost"]
SKIPPED = "no changes; inputs unchanged, not rendered again"
OTHER = GOOD.replace("namespace: shop", "namespace: other")


def run(*args: str, **env: str) -> Result:
    return CliRunner(env=env or None).invoke(main, list(args))


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def fleet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two environments (dev extends a base) rendered once into .gwpipe/gitops; the working folder."""
    return make_fleet(tmp_path, monkeypatch)


def make_fleet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    specs = tmp_path / "environments"
    specs.mkdir()
    (specs / "_base.yaml").write_text("namespace: shop\n")
    (specs / "dev.yaml").write_text("extends: _base.yaml\n" + GOOD.replace("namespace: shop\n", ""))
    (specs / "prod.yaml").write_text(OTHER)
    monkeypatch.chdir(tmp_path)
    first = run("render", "--all")
    assert first.exit_code == 0, first.stderr
    return tmp_path


def lines(result: Result) -> dict[str, str]:
    assert result.exit_code == 0, result.stderr
    return {line.split(":", 1)[0]: line.split(":", 1)[1] for line in result.stdout.splitlines()}


def skipped(result: Result) -> list[str]:
    return sorted(env for env, line in lines(result).items() if SKIPPED in line)


def test_an_unchanged_fleet_is_not_rendered_again(fleet: Path) -> None:
    again = run("render", "--all")
    assert again.stdout.splitlines() == [
        f"dev: 2 objects, {SKIPPED} ({fleet}/.gwpipe/gitops/dev)",
        f"prod: 2 objects, {SKIPPED} ({fleet}/.gwpipe/gitops/prod)",
    ]
    payload = json.loads(run("render", "--all", "--output", "json").stdout)
    assert [(r["environment"], r["skipped"], r["objects"]) for r in payload["results"]] == [
        ("dev", True, 2),
        ("prod", True, 2),
    ]


def test_force_renders_every_environment(fleet: Path) -> None:
    forced = run("render", "--all", "--force")
    assert skipped(forced) == []
    assert lines(forced)["dev"].endswith(f"2 objects, no changes ({fleet}/.gwpipe/gitops/dev)")


def _edit_spec(root: Path) -> None:
    spec = root / "environments" / "dev.yaml"
    spec.write_text(spec.read_text().replace("port: 80", "port: 81"))


def _edit_base(root: Path) -> None:
    another_host = (
        "hosts:\n  b.example.com:\n    gateway: web\n    routes:\n      - destination: {host: app, port: 80}\n"
    )
    (root / "environments" / "_base.yaml").write_text("namespace: shop\n" + another_host)


def _rename_base(root: Path) -> None:
    specs = root / "environments"
    (specs / "_base.yaml").rename(specs / "_common.yaml")
    (specs / "dev.yaml").write_text((specs / "dev.yaml").read_text().replace("_base.yaml", "_common.yaml"))


def _base_of_base(root: Path) -> None:
    _edit_base(root)
    specs = root / "environments"
    (specs / "_root.yaml").write_text((specs / "_base.yaml").read_text())
    (specs / "_base.yaml").write_text("extends: _root.yaml\n")


def _template_override(root: Path) -> list[str]:
    folder = root / "overrides" / "http"
    folder.mkdir(parents=True)
    source = Path(incremental.__file__).parent.parent / "templates" / "http" / "gateway.yaml.j2"
    if not source.exists():
        import gwpipe.templates

        source = Path(next(iter(gwpipe.templates.__path__))) / "http" / "gateway.yaml.j2"
    (folder / "gateway.yaml.j2").write_text(source.read_text() + "# override\n")
    return ["--templates", str(root / "overrides")]


CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
    - {name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}
"""


def _crd_source(root: Path) -> dict[str, str]:
    crds = root / "crds"
    crds.mkdir(exist_ok=True)
    (crds / "widgets.yaml").write_text(CRD)
    return {"GWPIPE_CRDS": str(crds)}


def _inventory(root: Path) -> None:
    spec = root / "environments" / "dev.yaml"
    inventory = (
        "checks:\n  inventory:\n    - {kind: Service, name: app, namespace: shop, ports: [{name: http, port: 80}]}\n"
    )
    spec.write_text(spec.read_text() + inventory)


def _istioctl(root: Path) -> dict[str, str]:
    """Another istioctl on PATH (what `checks.istioctl` would run): its verdict may differ."""
    folder = root / "bin"
    folder.mkdir()
    (folder / "istioctl").write_text("#!/bin/sh\nexit 0\n")
    (folder / "istioctl").chmod(0o755)
    return {"PATH": f"{folder}{os.pathsep}{os.environ['PATH']}"}


CHANGES: dict[str, Callable[[Path], object]] = {
    "spec": _edit_spec,
    "base": _edit_base,
    "renamed base": _rename_base,
    "base of a base": _base_of_base,
    "template override": _template_override,
    "crd source": _crd_source,
    "inventory": _inventory,
    "blocked plugin": lambda root: ["--block", "logging"],
    "fail level": lambda root: ["--fail-on", "Warning"],
    "gwpipe variable": lambda root: {"GWPIPE_KUBERNETES_VERSION": "1.30"},
    "istioctl": _istioctl,
}


@pytest.mark.parametrize("kind", CHANGES)
def test_each_input_kind_renders_again(fleet: Path, kind: str) -> None:
    change = CHANGES[kind](fleet)
    args = change if isinstance(change, list) else []
    env = change if isinstance(change, dict) else {}
    result = run("render", "--all", *args, **env)
    expected = (
        []
        if kind in ("template override", "crd source", "blocked plugin", "fail level", "gwpipe variable", "istioctl")
        else ["prod"]
    )
    assert skipped(result) == expected, result.stdout
    with pytest.MonkeyPatch.context() as patch:  # recorded: skipped next time, without loading a spec
        patch.setattr(Pipeline, "load", lambda *_: pytest.fail("loaded an up-to-date environment"))
        assert skipped(run("render", "--all", *args, **env)) == ["dev", "prod"]


def test_an_edited_source_file_renders_again(fleet: Path) -> None:
    """The bytes of template overrides and CRD sources count, not only where they are."""
    args, env = _template_override(fleet), _crd_source(fleet)
    assert skipped(run("render", "--all", *args, **env)) == []
    assert skipped(run("render", "--all", *args, **env)) == ["dev", "prod"]
    override = fleet / "overrides" / "http" / "gateway.yaml.j2"
    override.write_text(override.read_text() + "# another line\n")
    assert skipped(run("render", "--all", *args, **env)) == []
    (fleet / "crds" / "widgets.yaml").write_text(CRD.replace("served: true", "served: false"))
    assert skipped(run("render", "--all", *args, **env)) == []
    assert skipped(run("render", "--all", *args, **env)) == ["dev", "prod"]


def test_a_hand_edited_committed_tree_renders_again(fleet: Path) -> None:
    gitops = fleet / ".gwpipe" / "gitops"
    edited = next((gitops / "dev").rglob("gateway-*.yaml"))
    pristine = edited.read_bytes()
    edited.write_bytes(pristine + b"# hand edit\n")
    git(gitops, "add", "-A")
    git(gitops, *IDENTITY, "commit", "-q", "-m", "hand edit")
    result = run("render", "--all")
    assert skipped(result) == ["prod"]
    assert "1 changed" in lines(result)["dev"]
    assert edited.read_bytes() == pristine


def test_a_corrupt_or_foreign_record_renders_again(fleet: Path) -> None:
    record = fleet / ".gwpipe" / "gitops" / ".git" / "gwpipe" / "rendered.json"
    record.write_text("{not json")
    assert skipped(run("render", "--all")) == []
    assert skipped(run("render", "--all")) == ["dev", "prod"]
    entries = json.loads(record.read_text())
    entries["environments"]["dev"]["tree"] = "0" * 40  # a tree that is not the committed one
    record.write_text(json.dumps(entries))
    assert skipped(run("render", "--all")) == ["prod"]


def test_a_failed_run_records_nothing(fleet: Path) -> None:
    record = fleet / ".gwpipe" / "gitops" / ".git" / "gwpipe" / "rendered.json"
    before = record.read_bytes()
    _edit_spec(fleet)
    failed = run("render", "--all", "--block", "http")  # hosts then belong to no plugin
    assert failed.exit_code != 0
    assert record.read_bytes() == before
    assert skipped(run("render", "--all")) == ["prod"]


def test_unchanged_files_keep_their_inode_and_mtime(fleet: Path) -> None:
    folder = fleet / ".gwpipe" / "gitops" / "dev"
    before = {p.relative_to(folder): os.stat(p) for p in folder.rglob("*") if p.is_file()}
    _edit_spec(fleet)
    result = run("render", "--all")
    assert "1 changed" in lines(result)["dev"], result.stdout
    after = {p.relative_to(folder): os.stat(p) for p in folder.rglob("*") if p.is_file()}
    assert sorted(after) == sorted(before)
    kept = sorted(
        str(p) for p in after if (after[p].st_ino, after[p].st_mtime_ns) == (before[p].st_ino, before[p].st_mtime_ns)
    )
    rewritten = sorted(str(p) for p in after if str(p) not in kept)
    assert len(rewritten) == 1, rewritten
    assert rewritten[0].startswith("shop/virtualservice-"), rewritten
    assert len(kept) == len(after) - 1
    assert git(fleet / ".gwpipe" / "gitops", "status", "--porcelain") == ""


def test_out_keeps_unchanged_files_too(fleet: Path) -> None:
    assert run("render", "dev", "--out", "out").exit_code == 0
    kept = fleet / "out" / "dev" / "kustomization.yaml"
    before = os.stat(kept)
    _edit_spec(fleet)
    assert run("render", "dev", "--out", "out").exit_code == 0
    assert (os.stat(kept).st_ino, os.stat(kept).st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_check_skips_up_to_date_environments(fleet: Path) -> None:
    subprocess.run(["git", "init", "-q", "-b", "main", str(fleet)], check=True)
    (fleet / ".gitignore").write_text(".gwpipe/\n")
    git(fleet, "add", "-A")
    git(fleet, *IDENTITY, "commit", "-q", "-m", "specs")
    with pytest.MonkeyPatch.context() as patch:  # up to date by its record: no environment is rendered
        patch.setattr(Pipeline, "build", lambda *_: pytest.fail("rendered an up-to-date environment"))
        checked = run("check", "--all")
    assert (checked.exit_code, checked.stdout) == (0, "dev: up to date\nprod: up to date\n"), checked.stderr
    gitops = fleet / ".gwpipe" / "gitops"
    edited = next((gitops / "prod").rglob("gateway-*.yaml"))
    edited.write_bytes(edited.read_bytes() + b"# hand edit\n")
    git(gitops, "add", "-A")
    git(gitops, *IDENTITY, "commit", "-q", "-m", "hand edit")
    stale = run("check", "--all")
    assert stale.exit_code == 1
    forced = run("check", "--all", "--force")
    assert (forced.exit_code, forced.stdout) == (1, stale.stdout)
    assert stale.stdout == "dev: up to date\nprod: stale or hand-edited (1 differ, 0 missing, 0 unexpected)\n"


def _pm_digest(tmp_path: Path, options: Options | None = None) -> str | None:
    pipeline = Pipeline(options)
    (tmp_path / "environments").mkdir(exist_ok=True)
    spec_file = tmp_path / "environments" / "dev.yaml"
    if not spec_file.exists():
        spec_file.write_text(GOOD)
    return incremental.input_digest(pipeline, load_spec(spec_file))


def test_plugin_code_and_versions_are_digested(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plugin_dir = tmp_path / "site" / "extra_plugin"
    plugin_dir.mkdir(parents=True)
    (plugin_dir / "__init__.py").write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    import importlib

    module = importlib.import_module("extra_plugin")

    def digest() -> str:
        pm = create_manager()
        pm.register(module, "extra")
        return incremental.code_digest(pm)

    first = digest()
    assert digest() == first  # nothing changed: the same digest from a new plugin manager
    (plugin_dir / "helpers.py").write_text("Y = 2\n")  # an editable plugin's code changed, not its version
    assert digest() != first
    second = digest()
    real_version = incremental.metadata.version
    monkeypatch.setattr(
        incremental.metadata, "version", lambda name: "99.0" if name == "gwpipe" else real_version(name)
    )
    assert digest() != second


def test_any_new_option_is_digested(tmp_path: Path) -> None:
    """Options grown later (variables given on the command line) count without this module knowing them."""
    from dataclasses import dataclass, field

    @dataclass
    class WithVariables(Options):
        variables: dict[str, str] = field(default_factory=dict)

    plain = _pm_digest(tmp_path, WithVariables())
    assert plain == _pm_digest(tmp_path, WithVariables())
    assert plain != _pm_digest(tmp_path, WithVariables(variables={"region": "eu"}))


def test_a_live_crd_source_is_never_up_to_date(tmp_path: Path) -> None:
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "dev.yaml").write_text(GOOD + "checks:\n  crds: ['cluster:']\n")
    assert _pm_digest(tmp_path) is None


def test_plan_skips_up_to_date_environments_unless_their_folder_was_edited(fleet: Path) -> None:
    with pytest.MonkeyPatch.context() as patch:  # up to date by its record: no environment is rendered
        patch.setattr(Pipeline, "build", lambda *_: pytest.fail("rendered an up-to-date environment"))
        planned = run("plan", "--all", "--exit-code")
    assert (planned.exit_code, planned.stdout) == (0, "dev: no changes\nprod: no changes\n"), planned.stderr
    # an uncommitted hand edit is not in the record's tree: that environment is planned in full
    edited = next((fleet / ".gwpipe" / "gitops" / "prod").rglob("gateway-*.yaml"))
    edited.write_bytes(edited.read_bytes() + b"# hand edit\n")
    replanned = run("plan", "--all", "--exit-code")
    assert replanned.exit_code == 3, replanned.stderr
    assert replanned.stdout.startswith("dev: no changes\nprod: 0 to add, 1 to change, 0 to remove\n")
