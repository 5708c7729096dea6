"""The pure half of the fast commit: which repositories may skip `git add`, and the fast-import stream of one commit."""

from __future__ import annotations

import re
from dataclasses import dataclass

# fast-import must name a ref; the stream resets it to nothing before it ends, so no ref is ever written
SCRATCH_REF = b"refs/gwpipe/fast-commit"
_IDENT = re.compile(r"^[^<>\n]+ <[^<>\n]*> \d+ [+-]\d{4}$")
_OID = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
_FALSE = frozenset({"false", "no", "off", "0", ""})


@dataclass(frozen=True)
class GitSettings:
    """The configuration (last value of each key) and the commit identities, as git would use them."""

    config: dict[str, str]
    author: str
    committer: str


def parse_config_list(text: str) -> dict[str, str]:
    """Read `git config --list -z`: `key` newline `value` entries, NUL-terminated (a bare key means true).

    The -z form, because a value may hold newlines that would read as further keys in the plain one.
    """
    config: dict[str, str] = {}
    for entry in text.split("\0"):
        if entry:
            key, sep, value = entry.partition("\n")
            config[key] = value if sep else "true"
    return config


def blocker(settings: GitSettings) -> str | None:
    """Why `git add` / `git commit` could store something other than the raw bytes and a plain commit, or None.

    The fast path also compares its tree with the one `git add` stages, so this list only has to
    catch what that comparison cannot (the commit object itself) and what would make the fast
    path wasted work (content filters).
    """
    config = settings.config
    if not _IDENT.match(settings.author) or not _IDENT.match(settings.committer):
        return "no complete identity"
    for key in ("core.autocrlf", "core.ignorecase", "core.precomposeunicode", "core.sparsecheckout", "index.sparse"):
        if config.get(key, "false").lower() not in _FALSE:
            return key
    for key in ("core.eol", "core.attributesfile"):
        if key in config:
            return key
    if config.get("core.filemode", "true").lower() in _FALSE:
        return "core.filemode"
    if config.get("core.sharedrepository", "false").lower() not in _FALSE | {"umask"}:
        return "core.sharedrepository"
    if config.get("i18n.commitencoding", "utf-8").lower() not in ("utf-8", "utf8"):
        return "i18n.commitencoding"
    if config.get("commit.cleanup", "default").lower() not in ("default", "whitespace", "scissors"):
        return "commit.cleanup"
    filters = sorted(k for k in config if k.startswith("filter."))
    return filters[0] if filters else None


def stripspace(message: str) -> str:
    """What `git commit -m` stores: trailing blanks cut, runs of empty lines folded, no empty lines around."""
    out: list[str] = []
    empties = 0
    for line in message.split("\n"):
        line = line.rstrip(" \t\r")
        if not line:
            empties += 1
            continue
        if empties and out:
            out.append("")
        empties = 0
        out.append(line)
    return "".join(f"{line}\n" for line in out)


def _raw(text: str) -> bytes:
    """The bytes git printed (GitPython decodes its output with surrogateescape)."""
    return text.encode("utf-8", "surrogateescape")


def _path(text: str) -> bytes | None:
    """`text` as fast-import takes an unquoted path, or None when it would need quoting."""
    if not text or "\n" in text or "\0" in text or text.startswith('"'):
        return None
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return None


def commit_stream(
    parent: str | None, trees: dict[str, dict[str, bytes]], settings: GitSettings, message: str
) -> bytes | None:
    """A fast-import stream for one commit: `parent`'s tree with each folder of `trees` replaced by its files.

    The stream asks for the commit (`get-mark`) and its root tree (`ls`) and writes no ref. None when
    a path cannot be written unquoted (the caller falls back to `git add`).
    """
    text = stripspace(message).encode("utf-8")
    if not text or (parent is not None and not _OID.match(parent)):
        return None
    parts = [
        b"reset %s\ncommit %s\nmark :1\nauthor %s\ncommitter %s\ndata %d\n"
        % (SCRATCH_REF, SCRATCH_REF, _raw(settings.author), _raw(settings.committer), len(text)),
        text,
        b"\n",
    ]
    if parent is not None:
        parts.append(b"from %s\n" % parent.encode())
    for folder, files in trees.items():
        root = _path(folder)
        if root is None:
            return None
        parts.append(b"D %s\n" % root)
        for rel, data in files.items():
            path = _path(f"{folder}/{rel}")
            if path is None:
                return None
            parts += [b"M 100644 inline %s\ndata %d\n" % (path, len(data)), data, b"\n"]
    parts.append(b'\nget-mark :1\nls :1 ""\nreset %s\ndone\n' % SCRATCH_REF)
    return b"".join(parts)


def parse_answers(text: str) -> tuple[str, str] | None:
    """(commit, root tree) from fast-import's answers to `get-mark` and `ls`, or None if they are not there."""
    lines = text.splitlines()
    if len(lines) != 2:
        return None
    commit, fields = lines[0].strip(), lines[1].split("\t", 1)[0].split(" ")
    if not _OID.match(commit) or len(fields) != 3 or fields[1] != "tree" or not _OID.match(fields[2]):
        return None
    return commit, fields[2]
