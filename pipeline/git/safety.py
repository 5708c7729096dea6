"""Refuse, before anything is written, repositories where the commit would not hold exactly the rendered bytes."""

from __future__ import annotations

import tempfile
from typing import TYPE_CHECKING

from gwpipe.errors import GitError, Problem

if TYPE_CHECKING:
    from gwpipe.git.repo import GitopsRepo

GITLINK_MODE = "160000"
# attributes that make git store other bytes than the file holds (a clean filter, $Id$ expansion,
# re-encoding); eol conversion is not among them: rendered files never hold a carriage return
_CONTENT_ATTRIBUTES = ("filter", "ident", "working-tree-encoding")
_UNSET = ("unspecified", "unset")


def refuse_foreign(repo: GitopsRepo, trees: dict[str, dict[str, bytes]]) -> None:
    """Raise when an environment folder is a submodule, or git would filter or re-encode a rendered file."""
    problems = _submodules(repo, sorted(trees)) + _converted(repo, trees)
    if problems:
        raise GitError(*problems)


def _submodules(repo: GitopsRepo, envs: list[str]) -> list[Problem]:
    """Environment folders the index holds (or holds something inside of) as a submodule, initialised or not."""
    listing = repo.git.ls_files("-s", "-z", "--", *envs)
    gitlinks = sorted({entry.split("\t", 1)[1] for entry in listing.split("\0") if entry.startswith(GITLINK_MODE)})
    return [
        Problem(
            f"{repo.path}/{path}",
            "is a submodule in this repository; refusing to write an environment over it",
            "remove the submodule (`git rm`) or render into another repository",
        )
        for path in gitlinks
    ]


def _converted(repo: GitopsRepo, trees: dict[str, dict[str, bytes]]) -> list[Problem]:
    """Rendered paths that a clean filter, `ident` or `working-tree-encoding` would change on `git add`."""
    paths = [f"{env}/{rel}" for env, files in sorted(trees.items()) for rel in sorted(files)]
    if not paths:
        return []
    with tempfile.TemporaryFile() as listing:
        listing.write(("\0".join(paths) + "\0").encode("utf-8", "surrogateescape"))
        listing.seek(0)
        answer = repo.git.check_attr("-z", "--stdin", *_CONTENT_ATTRIBUTES, istream=listing)
    fields = answer.split("\0")
    drivers: dict[str, bool] = {}
    found: dict[str, str] = {}
    for path, attribute, value in zip(fields[0::3], fields[1::3], fields[2::3], strict=False):
        if value in _UNSET or path in found:
            continue
        if attribute == "filter":
            if value not in drivers:
                drivers[value] = _has_driver(repo, value)
            if drivers[value]:
                found[path] = f"the `{value}` filter"
        elif value != "unset":
            found[path] = f"the `{attribute}` attribute"
    if not found:
        return []
    path, why = next(iter(found.items()))
    more = f" (and {len(found) - 1} more files)" if len(found) > 1 else ""
    return [
        Problem(
            f"{repo.path}/{path}",
            f"git would change this rendered file on commit through {why}{more}; refusing",
            "exclude gwpipe's environment folders from the attribute in .gitattributes (e.g. `<env>/** -filter -ident`)",
        )
    ]


def _has_driver(repo: GitopsRepo, name: str) -> bool:
    """True when `filter.<name>` configures a clean command or a long-running process."""
    for key in ("clean", "process"):
        status, out, _err = repo.git.config(
            "--get", f"filter.{name}.{key}", with_extended_output=True, with_exceptions=False
        )
        if status == 0 and str(out).strip():
            return True
    return False
