"""Colour: on a terminal, never in a pipe or with NO_COLOR, and as `--color always|never` says."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

from cli_env import gwpipe

ESC = "\x1b["


def on_a_terminal(cwd: Path, *args: str, **env: str) -> tuple[int, str]:
    """Exit status and everything written, with stdout and stderr on one pseudo-terminal."""
    leader, follower = pty.openpty()
    environ = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    with subprocess.Popen(
        [sys.executable, "-m", "gwpipe", *args],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
        env={**environ, **env},
    ) as process:
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        status = process.wait(timeout=120)
    os.close(leader)
    return status, b"".join(chunks).decode().replace("\r\n", "\n")


def test_a_terminal_gets_colour(cwd: Path) -> None:
    status, text = on_a_terminal(cwd, "validate", "dev")
    assert status == 0
    assert text == "dev: \x1b[32mvalid\x1b[0m\n"
    status, text = on_a_terminal(cwd, "validate", "nope")
    assert status == 2
    assert text == "\x1b[31m\x1b[1merror\x1b[0m: environments/nope.yaml: spec file not found\n"


def test_no_color_turns_it_off_on_a_terminal(cwd: Path) -> None:
    assert on_a_terminal(cwd, "validate", "dev", NO_COLOR="1") == (0, "dev: valid\n")
    status, text = on_a_terminal(cwd, "validate", "nope", NO_COLOR="yes")
    assert (status, text) == (2, "error: environments/nope.yaml: spec file not found\n")
    # NO_COLOR counts only when set to something
    assert ESC in on_a_terminal(cwd, "validate", "dev", NO_COLOR="")[1]


def test_a_pipe_gets_no_colour(cwd: Path) -> None:
    good, bad = gwpipe(cwd, "validate", "dev"), gwpipe(cwd, "validate", "nope")
    assert (good.stdout, good.stderr) == ("dev: valid\n", "")
    assert bad.stderr == "error: environments/nope.yaml: spec file not found\n"


def test_color_option_overrides_the_terminal_test(cwd: Path) -> None:
    forced = gwpipe(cwd, "--color", "always", "validate", "dev", "nope")
    assert forced.stderr == "\x1b[31m\x1b[1merror\x1b[0m: environments/nope.yaml: spec file not found\n"
    assert gwpipe(cwd, "--color", "always", "validate", "dev").stdout == "dev: \x1b[32mvalid\x1b[0m\n"
    assert on_a_terminal(cwd, "--color", "never", "validate", "dev") == (0, "dev: valid\n")


def test_json_output_is_never_coloured(cwd: Path) -> None:
    status, text = on_a_terminal(cwd, "validate", "dev", "-o", "json")
    assert (status, text) == (0, '{"ok": true, "environments": ["dev"]}\n')


def test_every_diagnostic_line_goes_through_say(repo_root: Path) -> None:
    # `say` colours the label on a terminal only; a label written by hand would miss NO_COLOR or be plain forever
    by_hand = re.compile(r"""(echo|print|write)\(\s*f?["'](error|warning|hint|info): """)
    offenders = [
        f"{path.relative_to(repo_root)}:{number}"
        for folder in ("pipeline", "plugins")
        for path in sorted((repo_root / folder).rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if by_hand.search(line)
    ]
    assert offenders == []
