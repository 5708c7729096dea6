"""`gwpipe completion`: scripts from click's machinery, and completion through its environment protocol."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cli_env import gwpipe

from gwpipe.cli.main import COMPLETE_VAR

# what identifies each shell's script, as click writes it for a program called gwpipe
MARKERS = {
    "bash": "complete -o nosort -F _gwpipe_completion gwpipe",
    "zsh": "#compdef gwpipe",
    "fish": "complete --no-files --command gwpipe",
}


def fleet(cwd: Path) -> Path:
    """Environments dev (from cli_env), prod and staging.yml, and a `_base` that is no environment."""
    for name in ("prod.yaml", "staging.yml", "_base.yaml"):
        (cwd / "environments" / name).write_text("namespace: shop\n")
    return cwd


def complete(cwd: Path, words: str, **env: str) -> list[tuple[str, str]]:
    """(type, value) pairs offered for the last word of `words`, asked as bash's completion function asks."""
    parts = words.split(" ")
    result = gwpipe(cwd, COMP_WORDS=words, COMP_CWORD=str(len(parts) - 1), **{COMPLETE_VAR: "bash_complete"}, **env)
    assert result.returncode == 0, result.stderr
    return [tuple(line.split(",", 1)) for line in result.stdout.splitlines()]  # type: ignore[misc]


@pytest.mark.parametrize("shell", sorted(MARKERS))
def test_completion_prints_the_shell_script(cwd: Path, shell: str) -> None:
    result = gwpipe(cwd, "completion", shell)
    assert (result.returncode, result.stderr) == (0, "")
    assert MARKERS[shell] in result.stdout
    assert f"{COMPLETE_VAR}={shell}_complete" in result.stdout.replace('"', "")


def test_an_unknown_shell_is_a_usage_error(cwd: Path) -> None:
    result = gwpipe(cwd, "completion", "tcsh")
    assert result.returncode == 2
    assert "'tcsh' is not one of 'bash', 'zsh', 'fish'" in result.stderr


def test_environment_names_are_offered_for_targets(cwd: Path) -> None:
    fleet(cwd)
    assert complete(cwd, "gwpipe render ") == [("plain", "dev"), ("plain", "prod"), ("plain", "staging")]
    assert complete(cwd, "gwpipe plan s") == [("plain", "staging")]
    assert complete(cwd, "gwpipe certs status p") == [("plain", "prod")]
    # a path is completed by the shell's own file completion
    assert complete(cwd, "gwpipe validate environments/p") == [("file", "environments/p")]


def test_environment_names_come_from_the_specs_folder_given(cwd: Path) -> None:
    other = cwd / "fleet"
    other.mkdir()
    (other / "edge.yaml").write_text("namespace: shop\n")
    assert complete(cwd, "gwpipe render --specs fleet ") == [("plain", "edge")]


def test_commands_and_plugin_names_are_offered(cwd: Path) -> None:
    assert complete(cwd, "gwpipe re") == [("plain", "render")]
    assert complete(cwd, "gwpipe render --block t") == [("plain", "tls"), ("plain", "tcp")]


def test_a_third_party_plugin_name_is_offered_and_accepted_by_block(cwd: Path) -> None:
    site = cwd / "site"
    (site / "hello-0.1.dist-info").mkdir(parents=True)
    (site / "hello.py").write_text('"""A plugin that does nothing."""\n')
    (site / "hello-0.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: hello\nVersion: 0.1\n")
    (site / "hello-0.1.dist-info" / "entry_points.txt").write_text("[gwpipe]\nhello = hello\n")
    env = {"PYTHONPATH": str(site)}
    assert complete(cwd, "gwpipe validate --block he", **env) == [("plain", "hello")]
    result = gwpipe(cwd, "validate", "dev", "--block", "hello", **env)
    assert (result.returncode, result.stdout, result.stderr) == (0, "dev: valid\n", "")
    typo = gwpipe(cwd, "validate", "dev", "--block", "helo", **env)
    assert (typo.returncode, typo.stderr) == (2, "error: --block: no plugin named 'helo'; did you mean 'hello'?\n")


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_the_bash_script_completes_environment_names_when_sourced(cwd: Path) -> None:
    fleet(cwd)
    # the script runs the program by name, as a user's shell would
    bin_dir = cwd / "bin"
    bin_dir.mkdir()
    launcher = bin_dir / "gwpipe"
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m gwpipe "$@"\n')
    launcher.chmod(0o755)
    script = textwrap.dedent(
        """\
        source <(gwpipe completion bash)
        COMP_WORDS=(gwpipe render "")
        COMP_CWORD=2
        _gwpipe_completion gwpipe
        printf '%s\\n' "${COMPREPLY[@]}"
        """
    )
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(["bash", "-c", script], cwd=cwd, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["dev", "prod", "staging"]
