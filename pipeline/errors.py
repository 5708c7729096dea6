"""Error types and the one-line message grammar every command prints."""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

# the `<where>` grammar of spec, template and rendered-file problems: `file:line[:column][: dotted.field]`
_LOCATED = re.compile(r"(?P<file>[^:\s][^:]*):(?P<line>[0-9]+)(?::(?P<column>[0-9]+))?(?:: (?P<field>.+))?")
# a bare path (`environments/dev.yaml`, `/repo/prod/x.yaml`): no spaces, no colon, a folder or an extension
_PATH = re.compile(r"[^:\s]*[/.][^:\s]*")


@dataclass(frozen=True)
class Problem:
    """One thing wrong, located: `<where>: <what>`.

    `file`, `line`, `column` and `field` say the same as `where` in parts, for machines (`--output json`);
    they do not take part in comparisons. Left unset, they are read back from `where` when it follows
    the `file:line:column: field` grammar.
    """

    where: str
    what: str
    hint: str | None = None
    file: str | None = dataclass_field(default=None, kw_only=True, compare=False)
    line: int | None = dataclass_field(default=None, kw_only=True, compare=False)
    column: int | None = dataclass_field(default=None, kw_only=True, compare=False)
    field: str | None = dataclass_field(default=None, kw_only=True, compare=False)

    @classmethod
    def at(
        cls,
        file: str,
        line: int | None,
        column: int | None,
        dotted: str | None,
        what: str,
        hint: str | None = None,
    ) -> Problem:
        """A problem at a place in a file, its `where` spelled `file:line:column: dotted.field`."""
        head = file if line is None else f"{file}:{line}" if column is None else f"{file}:{line}:{column}"
        where = f"{head}: {dotted}" if dotted else head
        return cls(where, what, hint, file=file, line=line, column=column, field=dotted or None)

    def __str__(self) -> str:
        return f"{self.where}: {self.what}" if self.where else self.what

    def as_dict(self) -> dict[str, Any]:
        """`{"file", "line", "column", "field", "where", "message", "hint"}`, None where unknown."""
        file, line, column, dotted = (
            (self.file, self.line, self.column, self.field) if self.file is not None else _parts(self.where)
        )
        return {
            "file": file,
            "line": line,
            "column": column,
            "field": dotted,
            "where": self.where or None,
            "message": self.what,
            "hint": self.hint,
        }


def _parts(where: str) -> tuple[str | None, int | None, int | None, str | None]:
    located = _LOCATED.fullmatch(where)
    if located:
        column = located.group("column")
        return located.group("file"), int(located.group("line")), int(column) if column else None, located["field"]
    if _PATH.fullmatch(where):
        return where, None, None, None
    return None, None, None, None


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
