"""Running an istioctl binary: `analyze --use-kube=false -o json` over files, its JSON read into findings."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from gwpipe.model import Finding

ENV_VAR = "GWPIPE_ISTIOCTL"
TIMEOUT_SECONDS = 120.0
# every namespace: without it istioctl reports only messages about objects in `default`
ANALYZE_ARGS = ("analyze", "--use-kube=false", "--all-namespaces", "-o", "json")
_LEVELS = {"Error": "Error", "Warning": "Warning", "Warn": "Warning", "Info": "Info"}
# `Kind namespace/name` or `Kind name` (cluster-scoped), istioctl's FriendlyName of a resource
_ORIGIN = re.compile(r"^(?P<kind>\S+) (?:(?P<namespace>[^/\s]+)/)?(?P<name>\S+)$")
_LOG_LINE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z\t[a-z]+\t")
_REFERENCE = re.compile(r"^(?P<file>.*?)(?::(?P<line>[0-9]+))?$")


class IstioctlFailure(Exception):
    """istioctl could not be run, crashed, timed out or printed something that is not its JSON report."""


def find_istioctl() -> str | None:
    """GWPIPE_ISTIOCTL when set (even if it names nothing runnable: the caller reports that), else PATH."""
    explicit = os.environ.get(ENV_VAR)
    if explicit:
        return explicit
    return shutil.which("istioctl")


def analyze_files(istioctl: str, files: list[Path], cwd: Path, timeout: float = TIMEOUT_SECONDS) -> list[Finding]:
    """istioctl's analysis of `files` alone (no cluster): its messages, or IstioctlFailure saying why not."""
    argv = [istioctl, *ANALYZE_ARGS, *(str(f) for f in files)]
    try:
        done = subprocess.run(
            argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL
        )
    except FileNotFoundError as exc:
        raise IstioctlFailure(f"{istioctl} not found") from exc
    except PermissionError as exc:
        raise IstioctlFailure(f"{istioctl} is not executable") from exc
    except OSError as exc:
        raise IstioctlFailure(f"{istioctl} cannot be run: {exc.strerror or exc}") from exc
    except subprocess.TimeoutExpired as exc:
        raise IstioctlFailure(f"istioctl analyze gave no answer within {timeout:g} s") from exc
    # istioctl exits 0 when clean, 79 (AnalyzerFoundIssuesError) when it found Errors, other codes on failure
    if done.returncode not in (0, 79):
        raise IstioctlFailure(f"istioctl analyze exited with status {done.returncode}: {_first_line(done.stderr)}")
    return parse_messages(done.stdout)


def parse_messages(text: str) -> list[Finding]:
    """The messages of an `-o json` report; IstioctlFailure for anything else."""
    # istioctl logs (a file it skips, for one) to stdout before the report: timestamped, tab-separated lines
    text = "\n".join(line for line in text.splitlines() if not _LOG_LINE.match(line))
    try:
        data: Any = json.loads(text) if text.strip() else []
    except json.JSONDecodeError as exc:
        raise IstioctlFailure(f"istioctl analyze printed no JSON report: {_first_line(text)!r}") from exc
    if not isinstance(data, list):
        raise IstioctlFailure("istioctl analyze printed JSON that is not a list of messages")
    return [_message(entry, index) for index, entry in enumerate(data)]


def _message(entry: Any, index: int) -> Finding:
    """One message as a Finding; its file and line are istioctl's reference, relative to where it ran."""
    if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) for k in ("code", "level", "message")):
        raise IstioctlFailure(f"istioctl analyze message {index} has no code, level and message")
    origin = _ORIGIN.match(str(entry.get("origin", "")).strip())
    kind, namespace, name = (
        (origin["kind"], origin["namespace"] or "", origin["name"])
        if origin
        else ("", "", str(entry.get("origin", "")))
    )
    reference = _REFERENCE.match(str(entry.get("reference", "")))
    file = reference["file"] if reference and reference["file"] else None
    line = int(reference["line"]) if reference and reference["line"] else None
    level: str = entry["level"]
    return Finding(entry["code"], _LEVELS.get(level, level), kind, namespace, name, entry["message"], file, line)


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0][:200] if lines else "no output"
