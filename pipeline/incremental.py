"""Incremental renders: a digest of everything an environment's output depends on, and the record of the last ones.

An environment is up to date when the digest of its inputs equals the one recorded by the last run
that rendered it, and its folder at HEAD is still the tree that run committed (a hand-made commit,
a reset or a pull changes the tree id, and the digest no longer counts). The record lives in the
GitOps repository's git folder (`gwpipe/rendered.json`), written only after a run succeeded; the
working tree is known to equal HEAD because a render refuses an unclean one. Anything that cannot
be digested (a CRD source read from a live cluster) makes the environment render every time.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
import weakref
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pluggy

    from gwpipe.engine import Pipeline
    from gwpipe.spec.load import Spec

RECORD = Path("gwpipe") / "rendered.json"
RECORD_VERSION = 1
# libraries whose releases can change the bytes gwpipe writes
LIBRARIES = ("gwpipe", "jinja2", "PyYAML", "pluggy", "cerberus", "MarkupSafe")
_CODE: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def _hash_files(digest: Any, folder: Path) -> None:
    """Add every file below `folder` (names and bytes, bytecode caches left out) to `digest`."""
    for top, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            path = os.path.join(top, name)
            digest.update(os.path.relpath(path, folder).encode("utf-8", "surrogateescape") + b"\0")
            try:
                with open(path, "rb") as handle:
                    digest.update(hashlib.sha256(handle.read()).digest())
            except OSError:
                digest.update(b"unreadable\0")


def _code_folders(pm: pluggy.PluginManager) -> list[Path]:
    """The folders holding gwpipe's code, templates and catalogs, and every loaded plugin's package."""
    import gwpipe

    folders = {Path(p) for p in gwpipe.__path__}
    for plugin in pm.get_plugins():
        module_name = str(getattr(plugin, "__module__", None) or getattr(plugin, "__name__", ""))
        module = sys.modules.get(module_name)
        if module is None or not getattr(module, "__file__", None):
            continue
        top = sys.modules.get(module.__name__.split(".", 1)[0], module)
        paths = getattr(top, "__path__", None)
        folders.update(Path(p) for p in paths) if paths else folders.add(Path(str(module.__file__)).parent)
    for result in pm.hook.gwpipe_template_folders():
        folders.update(Path(f) for f in result.values())
    # one namespace package may list a folder inside another: keep only the outermost
    return sorted(f for f in folders if not any(o != f and o in f.parents for o in folders))


def code_digest(pm: pluggy.PluginManager) -> str:
    """The code, templates and library versions a run renders with; computed once per plugin manager.

    Editable installs change code without a new version, so the files themselves are hashed.
    """
    if pm not in _CODE:
        digest = hashlib.sha256(f"python {sys.version}\0".encode())
        for library in LIBRARIES:
            try:
                digest.update(f"{library} {metadata.version(library)}\0".encode())
            except metadata.PackageNotFoundError:
                digest.update(f"{library} -\0".encode())
        names = sorted(f"{name}={type(plugin).__name__}" for name, plugin in pm.list_name_plugin())
        digest.update(repr(names).encode())
        for folder in _code_folders(pm):
            digest.update(f"\0folder {folder}\0".encode("utf-8", "surrogateescape"))
            _hash_files(digest, folder)
        _CODE[pm] = digest.hexdigest()
    return _CODE[pm]


def _options(pipeline: Pipeline) -> str:
    """Every run option (new ones included, e.g. variables given on the command line), as text."""
    fields = dataclasses.asdict(pipeline.options) if dataclasses.is_dataclass(pipeline.options) else {}
    return json.dumps(fields, sort_keys=True, default=str)


def _environment_variables() -> str:
    """gwpipe's own variables (CRD sources, the Istio version checked against, limits)."""
    return repr(sorted((k, v) for k, v in os.environ.items() if k.startswith("GWPIPE_")))


def _spec_files(spec: Spec, pipeline: Pipeline) -> list[Path] | None:
    """Files and folders outside the spec data that the render or checks read; None when one is a live source."""
    from gwpipe.checks.schema.crdsources import configured_sources

    paths = [Path(spec.file)]
    paths += pipeline._template_overrides(spec)
    for source in configured_sources(spec):
        if source.kind == "cluster":
            return None
        if source.kind == "path":
            paths.append(Path(source.ref))
    return paths


def input_digest(pipeline: Pipeline, spec: Spec) -> str | None:
    """The digest of everything `spec`'s rendered tree depends on; None when it cannot be known."""
    files = _spec_files(spec, pipeline)
    if files is None:
        return None
    digest = hashlib.sha256(code_digest(pipeline.pm).encode())
    digest.update(f"\0{spec.name}\0{_options(pipeline)}\0{_environment_variables()}\0".encode())
    # the merged data covers every base and variable; repr keeps key order and value types apart
    digest.update(repr(spec.data).encode("utf-8", "surrogateescape"))
    for path in files:
        digest.update(f"\0path {path.name}\0".encode("utf-8", "surrogateescape"))
        if path.is_dir():
            _hash_files(digest, path)
        else:
            try:
                digest.update(hashlib.sha256(path.read_bytes()).digest())
            except OSError:
                return None
    return digest.hexdigest()


class RenderRecord:
    """The digests of the environments last rendered into one GitOps repository, with their tree ids."""

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

    def is_up_to_date(self, env: str, digest: str | None, trees: dict[str, str]) -> bool:
        """True when `env` was last rendered from inputs with `digest` and its folder at HEAD is that render."""
        entry = self.entries.get(self.key(env))
        return (
            digest is not None
            and entry is not None
            and entry.get("inputs") == digest
            and trees.get(self.key(env)) is not None
            and entry.get("tree") == trees[self.key(env)]
        )

    def objects(self, env: str) -> int:
        """How many objects the recorded render of `env` had."""
        count = self.entries.get(self.key(env), {}).get("objects")
        return count if isinstance(count, int) else 0

    def update(self, rendered: dict[str, tuple[str | None, int]], trees: dict[str, str]) -> None:
        """Record env -> (digest, objects) against the folders' tree ids; one without either is forgotten."""
        for env, (digest, objects) in rendered.items():
            key = self.key(env)
            if digest is None or key not in trees:
                self.entries.pop(key, None)
            else:
                self.entries[key] = {"inputs": digest, "tree": trees[key], "objects": objects}

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
        self.trees: dict[str, str] = {}
        if git is not None and self.record.entries:
            try:
                self.trees = tree_ids(git, head, self.record.entries)
            except Exception:  # noqa: BLE001 - any doubt about the trees: render everything
                self.trees = {}

    def is_up_to_date(self, pipeline: Pipeline, spec: Spec) -> tuple[bool, str | None]:
        """(up to date, the inputs' digest) for a loaded spec."""
        digest = input_digest(pipeline, spec)
        return not self.force and self.record.is_up_to_date(spec.name, digest, self.trees), digest

    def objects(self, env: str) -> int:
        """How many objects the recorded render of `env` had."""
        return self.record.objects(env)

    def still_current(self, head: str | None, envs: Iterable[str]) -> bool:
        """True when `envs` hold at `head` the trees they held at the HEAD this was read at."""
        if head == self.head:
            return True
        keys = [self.record.key(env) for env in envs]
        now = tree_ids(self.git, head, keys) if self.git is not None else {}
        return all(now.get(k) is not None and now.get(k) == self.trees.get(k) for k in keys)


class LazyFreshness(Freshness):
    """`Freshness` of a repository opened only when first asked: a spec error stops a run before git runs."""

    def __init__(self, repo_path: Path, force: bool) -> None:  # the parent's state is made when first asked
        self.repo_path, self.force = repo_path, force
        self.opened: Freshness | None = None

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

    def is_up_to_date(self, pipeline: Pipeline, spec: Spec) -> tuple[bool, str | None]:
        return self._open().is_up_to_date(pipeline, spec)

    def still_current(self, head: str | None, envs: Iterable[str]) -> bool:
        return self._open().still_current(head, envs)

    def objects(self, env: str) -> int:
        return self._open().objects(env)


def open_freshness(repo_path: Path, force: bool = False) -> Freshness:
    """The freshness of the GitOps repository at `repo_path` (its top folder, perhaps not made yet)."""
    return LazyFreshness(repo_path, force)


def record_rendered(git: Any, git_dir: Path, head: str | None, rendered: dict[str, tuple[str | None, int]]) -> None:
    """After a run succeeded: record each rendered environment's (inputs, objects) against its tree at `head`.

    Read again here, under the repository's lock, so that runs of other environments keep theirs.
    """
    record = RenderRecord(git_dir)
    record.update(rendered, tree_ids(git, head, rendered))
    record.save()
