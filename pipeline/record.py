"""The record of the last renders into a GitOps repository, and which environments it shows up to date.

An environment is up to date when the digest of its inputs (`gwpipe.incremental`) equals the one
recorded by the last run that rendered it, and its folder at HEAD is still the tree that run
committed (a hand-made commit, a reset or a pull changes the tree id, and the digest no longer
counts). The record lives in the GitOps repository's git folder (`gwpipe/rendered.json`), written
only after a run succeeded; the working tree is known to equal HEAD because a render refuses an
unclean one. Each entry also keeps what the environment's last load read, so that the next run can
tell it up to date without loading it, and the findings its render printed, to print them again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gwpipe.incremental import Inputs, inputs_of, preload_digest
from gwpipe.model import LEVELS, Finding

if TYPE_CHECKING:
    from gwpipe.engine import Pipeline
    from gwpipe.spec.load import Spec

RECORD = Path("gwpipe") / "rendered.json"
RECORD_VERSION = 1
_FINDING_FIELDS = frozenset(("code", "level", "kind", "namespace", "name", "message", "file", "line"))


@dataclass(frozen=True)
class Rendered:
    """One environment a run rendered: its inputs, its object count and the findings it printed."""

    inputs: Inputs | None
    objects: int
    findings: list[Finding] = field(default_factory=list)


def _recorded_finding(finding: Finding) -> dict[str, Any]:
    """A finding as the record keeps it; redacted again, so that no key material is ever written to disk."""
    from gwpipe.checks.secrets import redact

    return {k: redact(v) if isinstance(v, str) else v for k, v in finding.as_dict().items()}


def _finding(item: Any) -> Finding | None:
    """A recorded finding read back; None unless every field is there with its type."""
    if not isinstance(item, dict) or set(item) != _FINDING_FIELDS:
        return None
    texts = [item[k] for k in _FINDING_FIELDS - {"file", "line"}]
    if not all(isinstance(t, str) for t in texts) or item["level"] not in LEVELS:
        return None
    if not isinstance(item["file"], str | None) or not (item["line"] is None or type(item["line"]) is int):
        return None
    return Finding(**item)


def _strings(value: list[Any]) -> bool:
    return all(isinstance(v, str) for v in value)


class RenderRecord:
    """The digests of the environments last rendered into one GitOps repository, with their tree ids.

    Each entry also keeps what loading read (`files`, `sources`, `preload`: see `Inputs`) and the
    findings that render printed, to print them again whenever the environment is skipped.
    """

    def __init__(self, git_dir: Path | None, prefix: str = "") -> None:
        self.file = Path(git_dir) / RECORD if git_dir is not None else None
        self.prefix = prefix
        self.entries: dict[str, dict[str, Any]] = {}
        if self.file is None:
            return
        try:
            loaded = json.loads(self.file.read_bytes())
        except (OSError, ValueError):
            return
        if isinstance(loaded, dict) and loaded.get("version") == RECORD_VERSION:
            entries = loaded.get("environments")
            if isinstance(entries, dict):
                self.entries = {k: v for k, v in entries.items() if isinstance(v, dict)}

    def key(self, env: str) -> str:
        return f"{self.prefix}/{env}" if self.prefix else env

    def holds_tree(self, env: str, trees: dict[str, str]) -> bool:
        """True when the recorded render of `env`, findings readable, is the tree its folder holds at HEAD."""
        entry = self.entries.get(self.key(env))
        return (
            entry is not None
            and trees.get(self.key(env)) is not None
            and entry.get("tree") == trees[self.key(env)]
            and self.findings(env) is not None
        )

    def is_up_to_date(self, env: str, digest: str | None, trees: dict[str, str]) -> bool:
        """True when `env` was last rendered from inputs with `digest` and its folder at HEAD is that render."""
        entry = self.entries.get(self.key(env))
        return (
            digest is not None and entry is not None and entry.get("inputs") == digest and self.holds_tree(env, trees)
        )

    def objects(self, env: str) -> int:
        """How many objects the recorded render of `env` had."""
        count = self.entries.get(self.key(env), {}).get("objects")
        return count if isinstance(count, int) else 0

    def findings(self, env: str) -> list[Finding] | None:
        """The findings the recorded render of `env` printed, in order; None when not recorded or unreadable."""
        raw = self.entries.get(self.key(env), {}).get("findings")
        found = [_finding(item) for item in raw] if isinstance(raw, list) else None
        return None if found is None or None in found else [f for f in found if f is not None]

    def preload(self, env: str) -> tuple[str, list[str], list[list[str]]] | None:
        """The recorded (preload digest, files, sources) of `env`, when all are there and well formed."""
        entry = self.entries.get(self.key(env), {})
        preload, files, sources = entry.get("preload"), entry.get("files"), entry.get("sources")
        if not (isinstance(preload, str) and isinstance(files, list) and files and isinstance(sources, list)):
            return None
        if not (_strings(files) and all(isinstance(s, list) and len(s) == 2 and _strings(s) for s in sources)):
            return None
        return preload, files, sources

    def update(self, rendered: dict[str, Rendered], trees: dict[str, str], loaded: dict[str, Inputs]) -> None:
        """Record each rendered env against its folder's tree id (one without either is forgotten), and for
        each env skipped after loading (`loaded`), what that load read."""
        for env, done in rendered.items():
            key = self.key(env)
            if done.inputs is None or key not in trees:
                self.entries.pop(key, None)
                continue
            findings = [_recorded_finding(f) for f in done.findings]
            self.entries[key] = {"inputs": done.inputs.digest, "tree": trees[key], "objects": done.objects}
            self.entries[key].update(_read_by(done.inputs), findings=findings)
        for env, inputs in loaded.items():
            entry = self.entries.get(self.key(env))
            if entry is not None and entry.get("inputs") == inputs.digest:  # still the render it was skipped for
                for name in ("preload", "files", "sources"):
                    entry.pop(name, None)
                entry.update(_read_by(inputs))

    def save(self) -> None:
        """Write the record atomically; a record that cannot be written only costs renders later."""
        from gwpipe.errors import WriteError
        from gwpipe.tree.files import write_file_atomically

        if self.file is None:
            return
        data = json.dumps({"version": RECORD_VERSION, "environments": self.entries}, indent=1, sort_keys=True)
        try:
            self.file.parent.mkdir(exist_ok=True)
            write_file_atomically(self.file, data.encode(), 0o644)
        except (OSError, WriteError):
            self.file.unlink(missing_ok=True)


def _read_by(inputs: Inputs) -> dict[str, Any]:
    """The entry fields that let the next run read `inputs.preload` again without loading."""
    if inputs.preload is None:
        return {}
    return {"preload": inputs.preload, "files": list(inputs.files), "sources": [list(s) for s in inputs.sources]}


def tree_ids(git: Any, commit: str | None, folders: Iterable[str]) -> dict[str, str]:
    """folder -> the id of its tree in `commit` (`git` is a GitPython command object); folders absent are left out."""
    wanted = sorted(set(folders))
    if commit is None or not wanted:
        return {}
    listing = git.ls_tree("-z", "--full-tree", commit, "--", *wanted)
    found = {}
    for entry in listing.split("\0"):
        info, _tab, path = entry.partition("\t")
        parts = info.split()
        if len(parts) == 3 and parts[1] == "tree":
            found[path] = parts[2]
    return found


def matching_preload(
    record: RenderRecord, pipeline: Pipeline, path: str | os.PathLike[str], root: str | os.PathLike[str] | None
) -> tuple[str, str] | None:
    """(environment, preload digest) when what the recorded load of the spec at `path` read is unchanged."""
    from gwpipe.spec.load import environment_name

    file = Path(os.path.abspath(path))
    root_dir = Path(os.path.abspath(root)) if root else file.parent  # as load_spec chooses it
    name = environment_name(file)
    recorded = record.preload(name)
    if recorded is None:
        return None
    preload, files, sources = recorded
    if files[0] != os.path.relpath(file, root_dir):  # another spec file (or root) for the same name
        return None
    return (name, preload) if preload_digest(pipeline, name, root_dir, files, sources) == preload else None


def _git_dir(repo_path: Path) -> Path | None:
    """The git folder of the repository whose top is `repo_path`, found without GitPython (importing it runs git)."""
    dot = repo_path / ".git"
    try:
        if dot.is_dir():
            return dot
        text = dot.read_text(encoding="utf-8")  # a worktree's or submodule's `gitdir: PATH`
    except (OSError, ValueError):
        return None
    return repo_path / text[len("gitdir:") :].strip() if text.startswith("gitdir:") else None


class Freshness:
    """Which environments of one GitOps repository are up to date at its HEAD, for render, check and plan.

    `force` re-renders every environment (the digests are still recorded). Without a repository yet,
    nothing is up to date.
    """

    def __init__(
        self, git: Any | None, git_dir: Path | None, head: str | None, prefix: str = "", force: bool = False
    ) -> None:
        self.git, self.head, self.force = git, head, force
        self.record = RenderRecord(git_dir, prefix)
        self._trees: dict[str, str] | None = None

    @property
    def trees(self) -> dict[str, str]:
        """The recorded folders' tree ids at HEAD, read when an environment first could be up to date."""
        if self._trees is None:
            self._trees = {}
            if self.git is not None and self.record.entries:
                try:
                    self._trees = tree_ids(self.git, self.head, self.record.entries)
                except Exception:  # noqa: BLE001 - any doubt about the trees: render everything
                    self._trees = {}
        return self._trees

    def is_up_to_date(self, pipeline: Pipeline, spec: Spec) -> tuple[bool, Inputs | None]:
        """(up to date, its inputs) for a loaded spec."""
        inputs = inputs_of(pipeline, spec)
        digest = inputs.digest if inputs is not None else None
        recorded = self.record.entries.get(self.record.key(spec.name), {}).get("inputs")
        fresh = not self.force and digest == recorded and self.record.is_up_to_date(spec.name, digest, self.trees)
        return fresh, inputs

    def unchanged(
        self, pipeline: Pipeline, path: str | os.PathLike[str], root: str | os.PathLike[str] | None = None
    ) -> str | None:
        """The environment of the spec at `path` when it is up to date by what its last load read, read
        again without loading it; None when that cannot be told so (then load it and ask `is_up_to_date`)."""
        found = None if self.force else matching_preload(self.record, pipeline, path, root)
        return found[0] if found is not None and self.record.holds_tree(found[0], self.trees) else None

    def objects(self, env: str) -> int:
        """How many objects the recorded render of `env` had."""
        return self.record.objects(env)

    def findings(self, env: str) -> list[Finding]:
        """The findings the recorded render of `env` printed, to print them again."""
        return self.record.findings(env) or []

    def still_current(self, head: str | None, envs: Iterable[str]) -> bool:
        """True when `envs` hold at `head` the trees they held at the HEAD this was read at."""
        if head == self.head:
            return True
        keys = [self.record.key(env) for env in envs]
        now = tree_ids(self.git, head, keys) if self.git is not None else {}
        return all(now.get(k) is not None and now.get(k) == self.trees.get(k) for k in keys)


class LazyFreshness(Freshness):
    """`Freshness` of a repository opened only when first asked, and git run only when an environment's
    recorded inputs match: a spec error stops a run before git runs."""

    def __init__(self, repo_path: Path, force: bool) -> None:  # the parent's state is made when first asked
        self.repo_path, self.force = repo_path, force
        self.opened: Freshness | None = None
        self.unopened: RenderRecord | None = None  # the record, read before git is needed

    def _open(self) -> Freshness:
        if self.opened is None:
            import git

            try:
                repo = git.Repo(self.repo_path)
            except (git.InvalidGitRepositoryError, git.NoSuchPathError):
                self.opened = Freshness(None, None, None, force=self.force)
                return self.opened
            try:
                head: str | None = str(git.SymbolicReference.dereference_recursive(repo, "HEAD"))
            except ValueError:
                head = None  # an unborn branch: nothing is up to date
            self.opened = Freshness(repo.git, Path(repo.git_dir), head, force=self.force)
        return self.opened

    def is_up_to_date(self, pipeline: Pipeline, spec: Spec) -> tuple[bool, Inputs | None]:
        return self._open().is_up_to_date(pipeline, spec)

    @property
    def trees(self) -> dict[str, str]:
        return self._open().trees

    def unchanged(
        self, pipeline: Pipeline, path: str | os.PathLike[str], root: str | os.PathLike[str] | None = None
    ) -> str | None:
        if self.opened is not None or self.force:
            return self._open().unchanged(pipeline, path, root)
        if self.unopened is None:
            self.unopened = RenderRecord(_git_dir(Path(self.repo_path)))
        found = matching_preload(self.unopened, pipeline, path, root)
        if found is None:
            return None
        # git is needed now (the tree ids); the record it finds is the one that counts
        name, preload = found
        opened = self._open()
        recorded = opened.record.preload(name)
        return (
            name
            if recorded is not None and recorded[0] == preload and opened.record.holds_tree(name, opened.trees)
            else None
        )

    def findings(self, env: str) -> list[Finding]:
        return self._open().findings(env)

    def still_current(self, head: str | None, envs: Iterable[str]) -> bool:
        return self._open().still_current(head, envs)

    def objects(self, env: str) -> int:
        return self._open().objects(env)


def open_freshness(repo_path: Path, force: bool = False) -> Freshness:
    """The freshness of the GitOps repository at `repo_path` (its top folder, perhaps not made yet)."""
    return LazyFreshness(repo_path, force)


def record_rendered(
    git: Any, git_dir: Path, head: str | None, rendered: dict[str, Rendered], loaded: dict[str, Inputs] | None = None
) -> None:
    """After a run succeeded: record each rendered environment against its tree at `head`, and what the
    loads of environments skipped after loading read (`loaded`).

    Read again here, under the repository's lock, so that runs of other environments keep theirs.
    """
    record = RenderRecord(git_dir)
    record.update(rendered, tree_ids(git, head, rendered), loaded or {})
    record.save()
