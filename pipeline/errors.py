"""Error types and the one-line message grammar every command prints."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong, located: `<where>: <what>`."""

    where: str
    what: str
    hint: str | None = None

    def __str__(self) -> str:
        return f"{self.where}: {self.what}" if self.where else self.what


class GwpipeError(Exception):
    """A failure the user can act on; never a bug. Exit status 1 unless a subclass says 2."""

    exit_code = 1

    def __init__(self, *problems: Problem) -> None:
        self.problems: tuple[Problem, ...] = problems
        super().__init__("\n".join(str(p) for p in problems))

    def __reduce__(self) -> tuple[type[GwpipeError], tuple[Problem, ...]]:
        # survive pickling (errors cross from forked workers) with every problem intact
        return (type(self), self.problems)


class UsageError(GwpipeError):
    """Bad command-line usage or arguments."""

    exit_code = 2


class SpecError(GwpipeError):
    """The spec file is unreadable or invalid; carries every problem found."""

    exit_code = 2


class PluginError(GwpipeError):
    """A plugin failed, returned something unusable, or cannot be loaded."""


class RenderError(GwpipeError):
    """A template failed or rendered something that does not match the plan."""


class CheckError(GwpipeError):
    """Rendered output failed a check (schema, admission rule, analyzer, secret scan)."""


class WriteError(GwpipeError):
    """The output tree cannot be written safely."""


class GitError(GwpipeError):
    """A git operation failed or was refused."""
