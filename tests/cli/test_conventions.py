"""Meta-tests over every command: `-o/--output`, `--block` names, `--repo` meaning the GitOps repository."""

from __future__ import annotations

import json
import re
from pathlib import Path

import click
from cli_env import gwpipe
from click.testing import CliRunner

from gwpipe.cli.main import main
from gwpipe.hooks.manager import builtin_names

from .commands import option, walk

_COMMANDS = dict(walk())


def test_the_walk_reaches_every_command_including_sub_commands_and_plugin_commands() -> None:
    assert {"render", "propose", "completion", "status", "certs status", "crds list", "analyze"} <= set(_COMMANDS)


def test_every_output_option_is_spelled_dash_o_with_text_first_then_json() -> None:
    with_output = {path: option(command, "--output") for path, command in _COMMANDS.items()}
    with_output = {path: found for path, found in with_output.items() if found is not None}
    assert len(with_output) >= 12, sorted(with_output)
    for path, found in with_output.items():
        # `gwpipe import SOURCE... -o environments/NAME.yaml`: there `-o` is the spec file it writes
        opts = ["--output"] if path == "import" else ["-o", "--output"]
        assert (found.opts, found.name, found.default) == (opts, "output", "text"), path
        choices = list(found.type.choices)  # type: ignore[attr-defined]
        assert choices[:2] == ["text", "json"], path
        assert all(re.fullmatch(r"[a-z]+", choice) for choice in choices), (path, choices)
    for path, command in _COMMANDS.items():
        for param in command.params:
            if "-o" in getattr(param, "opts", ()):
                assert param.name == ("out" if path == "import" else "output"), f"{path}: -o must mean --output"


def test_dash_o_json_works_as_the_long_form(cwd: Path) -> None:
    short = CliRunner().invoke(main, ["plugins", "-o", "json"])
    long = CliRunner().invoke(main, ["plugins", "--output", "json"])
    assert short.exit_code == long.exit_code == 0
    assert json.loads(short.stdout) == json.loads(long.stdout)
    assert [row["name"] for row in json.loads(short.stdout)] == list(builtin_names())


def test_every_block_option_refuses_an_unknown_plugin_with_a_suggestion(cwd: Path) -> None:
    with_block = [path for path, command in _COMMANDS.items() if option(command, "--block") is not None]
    assert {"render", "validate", "plan", "propose", "check", "status", "test", "certs dev"} <= set(with_block)
    for path in with_block:
        result = gwpipe(cwd, *path.split(), "--block", "tsl", "dev")
        assert (result.returncode, result.stdout) == (2, ""), path
        assert result.stderr.splitlines() == ["error: --block: no plugin named 'tsl'; did you mean 'tls'?"], path
    assert not (cwd / ".gwpipe").exists()


def test_every_block_option_completes_plugin_names() -> None:
    for path, command in _COMMANDS.items():
        found = option(command, "--block")
        if found is None:
            continue
        offered = [item.value for item in found.shell_complete(click.Context(command), "t")]
        assert offered == ["tls", "tcp"], path
        everything = [item.value for item in found.shell_complete(click.Context(command), "")]
        # the essential plugins cannot be blocked, so they are not offered
        assert "logging" in everything, path
        assert not {"http", "secrets", "commands"} & set(everything), path


def test_every_environment_argument_completes_environment_names(tmp_path: Path) -> None:
    specs = tmp_path / "fleet"
    specs.mkdir()
    for name in ("prod.yaml", "staging.yml", "_base.yaml", "notes.txt"):
        (specs / name).write_text("namespace: shop\n")
    with_environments = []
    for path, command in _COMMANDS.items():
        for param in command.params:
            if isinstance(param, click.Argument) and param.name in ("targets", "environment", "target"):
                ctx = click.Context(command)
                ctx.params["specs_dir"] = specs
                assert [item.value for item in param.shell_complete(ctx, "")] == ["prod", "staging"], path
                assert [item.value for item in param.shell_complete(ctx, "st")] == ["staging"], path
                typed = param.shell_complete(ctx, "fleet/pr")
                assert [(item.value, item.type) for item in typed] == [("fleet/pr", "file")], path
                with_environments.append(path)
    assert {"render", "plan", "propose", "status", "certs status", "crds list", "test"} <= set(with_environments)


def test_every_repo_option_means_the_gitops_repository() -> None:
    seen = []
    for path, command in _COMMANDS.items():
        found = option(command, "--repo")
        if found is None:
            continue
        if found.hidden:
            # a hidden --repo is only ever the deprecated spelling of another option
            assert found.callback is not None, path
            assert (found.name or "").startswith("legacy_"), path
            continue
        assert "GitOps repository" in (found.help or ""), path
        assert found.envvar == "GWPIPE_REPO", path
        seen.append(path)
    assert {"render", "plan", "check", "status", "certs dev"} <= set(seen)


def test_propose_repo_still_works_with_a_one_line_deprecation_warning(tmp_path: Path) -> None:
    missing = tmp_path / "no-checkout"
    expected = f"error: {missing}: not a git repository; pass --remote URL or --checkout DIR"
    old = CliRunner().invoke(main, ["propose", "dev", "--repo", str(missing)])
    new = CliRunner().invoke(main, ["propose", "dev", "--checkout", str(missing)])
    assert old.stderr.splitlines() == ["warning: --repo is deprecated on 'propose'; use --checkout", expected]
    assert new.stderr.splitlines() == [expected]
    assert old.exit_code == new.exit_code == 1


def test_the_conventions_are_documented(repo_root: Path) -> None:
    text = (repo_root / "docs" / "cli.md").read_text(encoding="utf-8")
    for needle in ("gwpipe completion bash|zsh|fish", "`NO_COLOR`", "--color always", "`-o`, `--output", "--checkout"):
        assert needle in text, needle
    for key in ("file", "line", "column", "field", "where", "message", "hint"):
        assert f'"{key}": ' in text, key
