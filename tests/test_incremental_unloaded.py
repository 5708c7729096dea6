"""Up-to-date environments skipped without loading their specs, and the warnings of their last render said again."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from cli_env import GOOD
from test_incremental import IDENTITY, SKIPPED, git, lines, make_fleet, run, skipped

from gwpipe.engine import Pipeline
from gwpipe.errors import Problem, SpecError
from gwpipe.model import Finding
from gwpipe.record import Rendered, RenderRecord, _recorded_finding
from gwpipe.spec import load as spec_load

# the second route can never match: IST0130, a Warning that does not stop a render
UNREACHABLE = GOOD + "      - match: [{uri: {prefix: /x}}]\n        destination: {host: app, port: 80}\n"
ANOTHER_HOST = "hosts:\n  b.example.com:\n    gateway: web\n    routes:\n      - destination: {host: app, port: 80}\n"
WARNING = (
    "warning: shop/virtualservice-a-example-com.yaml:23: IST0130 (Warning) VirtualService shop/a-example-com: "
    "V9: VirtualService rule 1 not used (route without matches defined before)."
)


@pytest.fixture
def fleet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fleet of test_incremental: dev (extending _base.yaml) and prod, rendered once; the working folder."""
    return make_fleet(tmp_path, monkeypatch)


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the spec files loaded (and validated) from now on."""
    loaded: list[str] = []
    real = Pipeline.load

    def counting(self: Pipeline, path: str | os.PathLike[str], root: str | os.PathLike[str] | None = None) -> object:
        loaded.append(Path(path).name)
        return real(self, path, root)

    monkeypatch.setattr(Pipeline, "load", counting)
    return loaded


def _unreadable(path: str, display: str, *args: object) -> object:
    raise SpecError(Problem(display, "cannot read spec: mocked loader"))


def test_a_no_change_run_reads_no_spec(fleet: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With every spec file made unreadable to the loader, render, plan and check still skip both environments."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(fleet)], check=True)
    (fleet / ".gitignore").write_text(".gwpipe/\n")
    git(fleet, "add", "-A")
    git(fleet, *IDENTITY, "commit", "-q", "-m", "specs")
    monkeypatch.setattr(spec_load, "load_yaml_file", _unreadable)
    monkeypatch.setattr(Pipeline, "build", lambda *_: pytest.fail("rendered an up-to-date environment"))
    rendered = run("render", "--all")
    assert rendered.stdout.splitlines() == [
        f"dev: 2 objects, {SKIPPED} ({fleet}/.gwpipe/gitops/dev)",
        f"prod: 2 objects, {SKIPPED} ({fleet}/.gwpipe/gitops/prod)",
    ], rendered.stderr
    planned = run("plan", "--all", "--exit-code")
    assert (planned.exit_code, planned.stdout) == (0, "dev: no changes\nprod: no changes\n"), planned.stderr
    checked = run("check", "--all")
    assert (checked.exit_code, checked.stdout) == (0, "dev: up to date\nprod: up to date\n"), checked.stderr
    # the mocked loader is the one a load would use: a forced render reaches it and fails
    forced = run("render", "--all", "--force")
    assert forced.exit_code == 2
    assert forced.stderr == "error: environments/dev.yaml: cannot read spec: mocked loader\n"


def test_a_no_change_run_validates_nothing(fleet: Path, loads: list[str]) -> None:
    assert skipped(run("render", "--all")) == ["dev", "prod"]
    assert loads == []


@pytest.fixture
def warned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An environment whose render printed a warning; the working folder."""
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "dev.yaml").write_text(UNREACHABLE)
    monkeypatch.chdir(tmp_path)
    first = run("render", "--all")
    assert (first.exit_code, first.stderr) == (0, WARNING + "\n")
    return tmp_path


def test_warnings_are_said_again_when_skipped(warned: Path, loads: list[str]) -> None:
    again = run("render", "--all")
    assert again.stderr.splitlines() == [WARNING]
    assert again.stdout == f"dev: 2 objects, {SKIPPED} ({warned}/.gwpipe/gitops/dev)\n"
    assert loads == []
    payload = json.loads(run("render", "--all", "--output", "json").stdout)
    [result] = payload["results"]
    assert (result["skipped"], [(f["code"], f["level"], f["line"]) for f in result["findings"]]) == (
        True,
        [("IST0130", "Warning", 23)],
    )


def test_warnings_are_said_again_when_skipped_after_loading(warned: Path, loads: list[str]) -> None:
    specs = warned / "environments"
    (specs / "dev.yaml").rename(specs / "dev.yml")  # another file of the same bytes: loaded, the same inputs
    again = run("render", "--all")
    assert (again.stderr.splitlines(), skipped(again), loads) == ([WARNING], ["dev"], ["dev.yml"])


def test_warnings_of_a_new_render_replace_the_recorded_ones(warned: Path) -> None:
    (warned / "environments" / "dev.yaml").write_text(GOOD)
    fixed = run("render", "--all")
    assert (fixed.stderr, skipped(fixed)) == ("", [])
    again = run("render", "--all")
    assert (again.stderr, skipped(again)) == ("", ["dev"])


def test_a_file_edit_that_keeps_the_data_is_skipped_after_loading_then_unloaded(fleet: Path, loads: list[str]) -> None:
    base = fleet / "environments" / "_base.yaml"
    base.write_text("# the shop's namespace\n" + base.read_text())
    assert skipped(run("render", "--all")) == ["dev", "prod"]
    assert loads == ["dev.yaml"]  # its base changed: loaded, found to hold the same data
    assert skipped(run("render", "--all")) == ["dev", "prod"]
    assert loads == ["dev.yaml"]  # the record learnt the new base's bytes


def test_every_environment_extending_a_changed_base_renders_again(fleet: Path, loads: list[str]) -> None:
    (fleet / "environments" / "qa.yaml").write_text((fleet / "environments" / "dev.yaml").read_text())
    assert skipped(run("render", "--all")) == ["dev", "prod"]
    (fleet / "environments" / "_base.yaml").write_text("namespace: shop\n" + ANOTHER_HOST)
    loads.clear()
    changed = run("render", "--all")
    assert skipped(changed) == ["prod"]
    assert "1 added" in lines(changed)["dev"], changed.stdout
    assert "1 added" in lines(changed)["qa"], changed.stdout
    assert loads == ["dev.yaml", "qa.yaml"]


def test_a_base_of_a_base_is_followed(fleet: Path, loads: list[str]) -> None:
    specs = fleet / "environments"
    (specs / "_root.yaml").write_text("namespace: shop\n")
    (specs / "_base.yaml").write_text("extends: _root.yaml\n")
    assert skipped(run("render", "--all")) == ["dev", "prod"]  # the same data, now from two files
    assert skipped(run("render", "--all")) == ["dev", "prod"]
    assert loads == ["dev.yaml"]
    (specs / "_root.yaml").write_text("namespace: shop\n" + ANOTHER_HOST)
    changed = run("render", "--all")
    assert skipped(changed) == ["prod"]
    assert "1 added" in lines(changed)["dev"], changed.stdout
    record = json.loads((fleet / ".gwpipe" / "gitops" / ".git" / "gwpipe" / "rendered.json").read_text())
    assert record["environments"]["dev"]["files"] == ["dev.yaml", "_base.yaml", "_root.yaml"]


def test_a_deleted_base_is_an_error_not_a_skip(fleet: Path) -> None:
    (fleet / "environments" / "_base.yaml").unlink()
    failed = run("render", "--all")
    assert failed.exit_code == 2
    assert failed.stderr == "error: environments/dev.yaml:1:10: extends: base spec '_base.yaml' not found\n"


@pytest.mark.parametrize("linked", ["dev.yaml", "_base.yaml"])
def test_a_spec_turned_into_a_symlink_is_refused_not_skipped(fleet: Path, linked: str) -> None:
    specs = fleet / "environments"
    shutil.move(specs / linked, fleet / linked)  # the same bytes, reached through a symlink
    (specs / linked).symlink_to(fleet / linked)
    failed = run("render", "--all")
    assert failed.exit_code == 2
    shown = "environments/dev.yaml" if linked == "dev.yaml" else "environments/dev.yaml:1:10: extends"
    assert failed.stderr == f"error: {shown}: refusing to follow symlink environments/{linked}\n"


def test_a_spec_renamed_to_another_suffix_loads_once(fleet: Path, loads: list[str]) -> None:
    specs = fleet / "environments"
    (specs / "dev.yaml").rename(specs / "dev.yml")
    assert skipped(run("render", "--all")) == ["dev", "prod"]  # the same environment from the same bytes
    assert skipped(run("render", "--all")) == ["dev", "prod"]
    assert loads == ["dev.yml"]


def test_a_variable_given_on_the_command_line_renders_again(fleet: Path, loads: list[str]) -> None:
    (fleet / "environments" / "_base.yaml").write_text("vars: {team: shop}\nnamespace: ${team}\n")
    assert skipped(run("render", "dev")) == ["dev"]  # the same data, from a variable
    loads.clear()
    assert skipped(run("render", "dev", "--var", "team=shop")) == []  # another option: rendered, no changes
    assert skipped(run("render", "dev", "--var", "team=shop")) == ["dev"]
    changed = run("render", "dev", "--var", "team=store", "--allow-delete")
    assert "files: 2 added, 1 changed, 2 removed" in lines(changed)["dev"], changed.stdout
    assert loads == ["dev.yaml", "dev.yaml"]


def test_a_copy_of_the_specs_elsewhere_counts_by_its_bytes(fleet: Path, loads: list[str]) -> None:
    """The record names files relative to the spec root, as the digest always counted their bytes, not places."""
    other = fleet / "elsewhere"
    shutil.copytree(fleet / "environments", other)
    assert skipped(run("render", "dev", "--specs", str(other))) == ["dev"]
    (other / "_base.yaml").write_text("namespace: shop\n" + ANOTHER_HOST)
    assert skipped(run("render", "dev", "--specs", str(other))) == []
    assert skipped(run("render", "dev")) == []  # back to the first folder: its bytes are not the recorded ones
    assert loads == ["dev.yaml", "dev.yaml"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("files", "dev.yaml"), ("files", []), ("sources", [["root"]]), ("preload", None), ("findings", [{"code": 1}])],
)
def test_a_malformed_record_entry_loads(fleet: Path, loads: list[str], field: str, value: object) -> None:
    record = fleet / ".gwpipe" / "gitops" / ".git" / "gwpipe" / "rendered.json"
    entries = json.loads(record.read_text())
    entries["environments"]["dev"][field] = value
    record.write_text(json.dumps(entries))
    result = run("render", "--all")
    # readable findings let the loaded spec's unchanged digest count; unreadable ones render it again
    assert skipped(result) == (["prod"] if field == "findings" else ["dev", "prod"])
    assert loads == ["dev.yaml"]


def test_recorded_findings_hold_no_key_material(tmp_path: Path) -> None:
    pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----"
    finding = Finding("GW0001", "Warning", "Secret", "shop", "tls", f"holds {pem}", "shop/secret.yaml", 3)
    recorded = _recorded_finding(finding)
    assert "PRIVATE KEY" not in json.dumps(recorded)
    assert recorded["message"].startswith("holds <redacted, ")
    record = RenderRecord(tmp_path)
    record.update({"dev": Rendered(None, 1, [finding])}, {"dev": "0" * 40}, {})
    assert record.entries == {}  # no inputs, nothing recorded


def test_a_spec_error_stops_the_run_before_git_reads_the_trees(fleet: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tree ids are read only once some environment's recorded inputs match: dev's do not, and it fails first."""
    from gwpipe import record

    (fleet / "environments" / "dev.yaml").write_text("extends: _base.yaml\nhosts: [\n")
    monkeypatch.setattr(record, "tree_ids", lambda *_: pytest.fail("read the trees before the spec error"))
    failed = run("render", "--all")
    assert failed.exit_code == 2
    assert failed.stderr == "error: environments/dev.yaml:3:1: invalid YAML: did not find expected node content\n"


def test_folders_a_spec_names_are_read_again_relative_to_its_folder(fleet: Path, loads: list[str]) -> None:
    """A spec's own template folder and CRD file are recorded by their place in the spec folder, which `check`
    reads from its export of the specs' commit."""
    from test_incremental import CRD, _template_override

    specs = fleet / "environments"
    _template_override(specs)  # environments/overrides/http/gateway.yaml.j2
    (specs / "crds").mkdir()
    (specs / "crds" / "widgets.yaml").write_text(CRD)
    with (specs / "prod.yaml").open("a") as spec:
        spec.write("templates: overrides\nchecks:\n  crds: [crds/widgets.yaml]\n")
    assert skipped(run("render", "--all")) == ["dev"]
    record = json.loads((fleet / ".gwpipe" / "gitops" / ".git" / "gwpipe" / "rendered.json").read_text())
    assert record["environments"]["prod"]["sources"] == [["root", "overrides"], ["root", "crds/widgets.yaml"]]
    subprocess.run(["git", "init", "-q", "-b", "main", str(fleet)], check=True)
    (fleet / ".gitignore").write_text(".gwpipe/\n")
    git(fleet, "add", "-A")
    git(fleet, *IDENTITY, "commit", "-q", "-m", "specs")
    loads.clear()
    assert skipped(run("render", "--all")) == ["dev", "prod"]
    checked = run("check", "--all")
    assert (checked.exit_code, checked.stdout, loads) == (0, "dev: up to date\nprod: up to date\n", [])
    (specs / "crds" / "widgets.yaml").write_text(CRD.replace("served: true", "served: false"))
    assert skipped(run("render", "--all")) == ["dev"]
    override = specs / "overrides" / "http" / "gateway.yaml.j2"
    override.write_text(override.read_text() + "# another line\n")
    assert skipped(run("render", "--all")) == ["dev"]
    assert loads == ["prod.yaml", "prod.yaml"]
    shutil.rmtree(specs / "overrides")
    failed = run("render", "--all")
    assert failed.exit_code == 2
    assert (
        failed.stderr == "error: environments/prod.yaml:10:12: templates: template folder not found, got 'overrides'\n"
    )


def test_a_deleted_spec_named_on_the_command_line_is_an_error_not_a_skip(fleet: Path) -> None:
    (fleet / "environments" / "prod.yaml").unlink()
    failed = run("render", "dev", "prod")
    assert (failed.exit_code, failed.stderr) == (2, "error: environments/prod.yaml: spec file not found\n")
