"""Hostile paths, names and filesystem layouts (catalogue rows 16-22), each asserting F0."""

from __future__ import annotations

import os
import re

import pytest

from .conftest import GOOD_SPEC, Workspace, _hash_files, assert_f0, git, loc

SECRET_CANARY = "CANARY-7f3a9c-do-not-echo"


@pytest.fixture
def outside(workspace: Workspace) -> str:
    """A file outside the spec root whose content must never be echoed."""
    path = workspace.root.parent / "other-team-secrets.yaml"
    path.write_text(f"namespace: {SECRET_CANARY}\n")
    return str(path)


def test_row16_extends_relative_escape(workspace: Workspace, outside: str) -> None:
    workspace.write("bad", "extends: ../../other-team-secrets.yaml\nnamespace: shop\n")
    assert_f0(
        workspace,
        ["render", "bad"],
        [loc("bad", 1, 10, "extends") + "path outside the spec root"],
        canaries=[SECRET_CANARY],
    )


def test_row16_extends_absolute(workspace: Workspace, outside: str) -> None:
    workspace.write("bad", f"namespace: shop\nextends: {outside}\n")
    assert_f0(
        workspace,
        ["render", "bad"],
        [loc("bad", 2, 10, "extends") + re.escape("path outside the spec root; use a path relative to this file")],
        canaries=[SECRET_CANARY],
    )


def test_row16_template_folder_outside_root(workspace: Workspace) -> None:
    workspace.write("bad", GOOD_SPEC + "templates: ../../elsewhere\n")
    assert_f0(
        workspace,
        ["render", "bad"],
        [loc("bad", 19, 12, "templates") + re.escape("template folder outside the spec root, got '../../elsewhere'")],
        exit_code=2,
    )


@pytest.mark.parametrize("kind", ["absolute", "relative"])
def test_row17_spec_symlink_out_of_root(workspace: Workspace, outside: str, kind: str) -> None:
    target = outside if kind == "absolute" else os.path.relpath(outside, workspace.specs)
    (workspace.specs / "bad.yaml").symlink_to(target)
    assert_f0(
        workspace,
        ["render", "bad"],
        [r"environments/bad\.yaml: refusing to follow symlink environments/bad\.yaml"],
        canaries=[SECRET_CANARY],
    )


def test_row17_extends_through_symlink(workspace: Workspace, outside: str) -> None:
    (workspace.specs / "base.yaml").symlink_to(outside)
    workspace.write("bad", "extends: base.yaml\n")
    assert_f0(
        workspace,
        ["render", "bad"],
        [loc("bad", 1, 10, "extends") + r"refusing to follow symlink environments/base\.yaml"],
        canaries=[SECRET_CANARY],
    )


def test_row17_template_symlink_out_of_root(workspace: Workspace, outside: str) -> None:
    folder = workspace.root / "tpl" / "http"
    folder.mkdir(parents=True)
    (folder / "gateway.yaml.j2").symlink_to(outside)
    assert_f0(
        workspace,
        ["render", "good", "--templates", "tpl"],
        [r"template http/gateway\.yaml\.j2: refusing to follow symlink .*/tpl/http/gateway\.yaml\.j2"],
        exit_code=1,
        canaries=[SECRET_CANARY],
    )


def test_row17_template_folder_symlink_in_spec(workspace: Workspace, outside: str) -> None:
    (workspace.specs / "tpl").symlink_to(os.path.dirname(outside))
    workspace.write("bad", GOOD_SPEC + "templates: tpl\n")
    assert_f0(
        workspace,
        ["render", "bad"],
        [loc("bad", 19, 12, "templates") + "template folder reaches through symlink environments/tpl"],
    )


def test_row18_chain_leaving_and_returning(workspace: Workspace) -> None:
    """badlink3: the middle hop leaves the root, the final target is inside it."""
    hop = workspace.root.parent / "hop.yaml"
    hop.symlink_to(workspace.specs / "good.yaml")
    (workspace.specs / "bad.yaml").symlink_to(hop)
    assert_f0(
        workspace, ["render", "bad"], [r"environments/bad\.yaml: refusing to follow symlink environments/bad\.yaml"]
    )


def test_row18_cyclic_symlinks(workspace: Workspace) -> None:
    (workspace.specs / "loop1.yaml").symlink_to("loop2.yaml")
    (workspace.specs / "loop2.yaml").symlink_to("loop1.yaml")
    assert_f0(
        workspace,
        ["render", "loop1"],
        [r"environments/loop1\.yaml: refusing to follow symlink environments/loop1\.yaml"],
    )
    workspace.write("bad", "extends: loop1.yaml\n")
    assert_f0(
        workspace, ["render", "bad"], [loc("bad", 1, 10, "extends") + r"refusing to follow symlink .*loop1\.yaml"]
    )


def test_row18_extends_cycle(workspace: Workspace) -> None:
    workspace.write("one", "extends: two.yaml\nnamespace: shop\n")
    workspace.write("two", "namespace: other\nextends: one.yaml\n")
    assert_f0(
        workspace, ["render", "one"], [loc("two", 2, 10, "extends") + r"extends cycle through environments/one\.yaml"]
    )


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("Prod", "Prod"),
        ("under_score", "under_score"),
        ("x" * 64, "x" * 64),
        ("-lead", "-lead"),
        (".git", ".git"),
    ],
)
def test_row19_environment_names(workspace: Workspace, name: str, shown: str) -> None:
    (workspace.specs / f"{name}.yaml").write_text(GOOD_SPEC)
    assert_f0(
        workspace,
        ["render", f"environments/{name}.yaml"],
        [
            rf"environments/{re.escape(name)}\.yaml: environment name '{re.escape(shown)}' is not a DNS-1123 label "
            r"\(lower-case letters, digits and '-', at most 63 characters\)"
        ],
    )


@pytest.mark.parametrize("target", ["../../.github/workflows/x", "a/b", ".", ".."])
def test_row19_targets_that_are_paths(workspace: Workspace, target: str) -> None:
    assert_f0(workspace, ["render", target], [r".*: spec file not found"])


@pytest.mark.parametrize("key", ["../../x", "a/b", "Upper", ".git"])
def test_row19_gateway_names(workspace: Workspace, key: str) -> None:
    workspace.write("bad", f'namespace: shop\ngateways:\n  "{key}":\n    selector: {{istio: ingressgateway}}\n')
    shown = (
        re.escape(f'gateways["{key}"]') if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", key) else f"gateways\\.{key}"
    )
    assert_f0(
        workspace,
        ["render", "bad"],
        [rf"environments/bad\.yaml:4:\d+: {shown}: invalid value, got '{re.escape(key)}'; expected a DNS-1123 label"],
    )


def test_row19_gateway_name_too_long(workspace: Workspace) -> None:
    key = "a" * 64
    workspace.write("bad", f"namespace: shop\ngateways:\n  {key}:\n    selector: {{istio: ingressgateway}}\n")
    assert_f0(
        workspace, ["render", "bad"], [loc("bad", 4, 5, f"gateways.{key}") + "must be at most 63 characters long"]
    )


def test_row20_environment_folder_is_symlink(workspace: Workspace) -> None:
    elsewhere = workspace.root / "elsewhere"
    elsewhere.mkdir()
    (workspace.repo / "prod").symlink_to(elsewhere)
    git(workspace.repo, "add", "prod")
    git(workspace.repo, "-c", "user.name=t", "-c", "user.email=t@x", "commit", "-qm", "link")
    workspace.write("prod", GOOD_SPEC)
    assert_f0(
        workspace, ["render", "prod"], [r"(.*/)?\.gwpipe/gitops/prod: refusing to write through symlink"], exit_code=1
    )
    assert list(elsewhere.iterdir()) == []


def test_row20_file_in_environment_is_symlink(workspace: Workspace) -> None:
    rcfile = workspace.root / "shellrc"
    kustomization = workspace.repo / "good" / "kustomization.yaml"
    kustomization.unlink()
    kustomization.symlink_to(rcfile)
    git(workspace.repo, "add", "-A")
    git(workspace.repo, "-c", "user.name=t", "-c", "user.email=t@x", "commit", "-qm", "link")
    workspace.write("good", GOOD_SPEC.replace("a.example.com", "c.example.com"))
    assert_f0(
        workspace,
        ["render", "good"],
        [r"(.*/)?\.gwpipe/gitops/good/kustomization\.yaml: refusing to write through symlink"],
        exit_code=1,
    )
    assert not rcfile.exists()


def test_row20_out_folder_is_symlink(workspace: Workspace) -> None:
    elsewhere = workspace.root / "elsewhere"
    elsewhere.mkdir()
    (workspace.root / "outlink").symlink_to(elsewhere)
    assert_f0(
        workspace,
        ["render", "good", "--out", "outlink"],
        [r".*/outlink: refusing to write through symlink"],
        exit_code=1,
    )
    assert list(elsewhere.iterdir()) == []


def test_row21_out_inside_dot_git(workspace: Workspace) -> None:
    hooks = _hash_files(workspace.repo / ".git" / "hooks")
    assert_f0(
        workspace,
        ["render", "good", "--out", ".gwpipe/gitops/.git/hooks"],
        [r"(.*/)?\.gwpipe/gitops/\.git/hooks: refusing to write inside a \.git folder"],
        exit_code=1,
    )
    assert _hash_files(workspace.repo / ".git" / "hooks") == hooks


def test_row21_dot_git_inside_environment_folder(workspace: Workspace) -> None:
    nested = workspace.repo / "good" / ".git"
    nested.mkdir()
    (nested / "config").write_text("[core]\n\tfsmonitor = touch pwned\n")
    before = (nested / "config").read_bytes()
    workspace.write("good", GOOD_SPEC.replace("a.example.com", "c.example.com"))
    result = workspace.run("render", "good")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert (nested / "config").read_bytes() == before
    assert not (workspace.repo / "pwned").exists()


def test_row22_case_collision(workspace: Workspace) -> None:
    workspace.write("prod", GOOD_SPEC)
    (workspace.specs / "Prod.yml").write_text(GOOD_SPEC)
    assert_f0(
        workspace,
        ["render", "prod", "environments/Prod.yml"],
        [
            r"environments/Prod\.yml: names collide with environments/prod\.yaml on case-insensitive checkouts; rename one"
        ],
    )


def test_row22_unicode_normalisation_collision(workspace: Workspace) -> None:
    fullwidth = "\uff50rod"  # FULLWIDTH LATIN SMALL LETTER P + "rod": NFKC folds it to "prod"
    workspace.write("prod", GOOD_SPEC)
    (workspace.specs / f"{fullwidth}.yaml").write_text(GOOD_SPEC)
    assert_f0(
        workspace,
        ["render", "prod", f"environments/{fullwidth}.yaml"],
        [
            rf"environments/{fullwidth}\.yaml: names collide with environments/prod\.yaml on case-insensitive checkouts; rename one"
        ],
    )


def test_row22_same_name_two_suffixes(workspace: Workspace) -> None:
    (workspace.specs / "good.yml").write_text(GOOD_SPEC)
    assert_f0(
        workspace,
        ["render", "good", "environments/good.yml"],
        [r"environments/good\.yml: both render environment 'good' with environments/good\.yaml; rename one"],
    )


def test_row22_fullwidth_name_alone_is_not_a_label(workspace: Workspace) -> None:
    name = "\uff50rod"
    (workspace.specs / f"{name}.yaml").write_text(GOOD_SPEC)
    assert_f0(
        workspace, ["render", f"environments/{name}.yaml"], [r".*: environment name '.*' is not a DNS-1123 label .*"]
    )


def test_git_is_not_run_by_the_cli_for_spec_errors(workspace: Workspace) -> None:
    """A spec error stops the run before git is even opened: a broken git on PATH is never reached."""
    fake = workspace.root / "fakebin"
    fake.mkdir()
    marker = workspace.root / "git-ran"
    (fake / "git").write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
    (fake / "git").chmod(0o755)
    workspace.write("bad", "namespace: NO\n")
    workspace.extra_env["PATH"] = f"{fake}:{os.environ['PATH']}"
    result = workspace.run("render", "bad")
    assert result.returncode == 2
    assert not marker.exists()
