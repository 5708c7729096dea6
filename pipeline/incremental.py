"""Incremental renders: digests of everything an environment's output depends on (the record: gwpipe.record).

Each environment gets two digests of the same inputs: one with the merged spec data, known once the
spec is loaded, and one with the bytes of the files that loading read instead, which the next run
can compute again from those files alone (`preload_digest`), without loading or validating the spec.
Anything that cannot be digested (a CRD source read from a live cluster) makes the environment
render every time.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pluggy

    from gwpipe.engine import Pipeline
    from gwpipe.spec.load import Spec

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


@dataclass(frozen=True)
class Inputs:
    """What one environment's render depends on, digested twice: with the merged data, and before loading.

    `preload` digests what loading reads (the spec file and its bases, by their bytes) instead of the
    data it makes, so that the next run can tell an unchanged environment without loading it; `files`
    and `sources` say where to read those bytes again. A spec not loaded from files below its root
    has no `preload`: it is loaded every time.
    """

    digest: str
    preload: str | None = None
    files: tuple[str, ...] = ()  # the spec file, then its bases, relative to the spec root
    sources: tuple[tuple[str, str], ...] = ()  # ("root", relative) or ("path", absolute): templates, CRDs


def _sources(spec: Spec, pipeline: Pipeline) -> list[tuple[Path, bool]] | None:
    """(path, named by the spec) of the folders and files outside the spec data that the render or checks read.

    None when one is a live source.
    """
    from gwpipe.checks.schema.crdsources import configured_sources

    declared = {Path(p) for p in pipeline.options.templates}
    paths = [(path, path not in declared) for path in pipeline._template_overrides(spec)]
    for source in configured_sources(spec):
        if source.kind == "cluster":
            return None
        if source.kind == "path":
            paths.append((Path(source.ref), source.from_spec))
    return paths


def _content(path: Path) -> str | None:
    """A digest of a file's bytes, or of a folder's names and bytes; None when it is missing or unreadable."""
    try:
        if path.is_dir():
            digest = hashlib.sha256(b"folder\0")
            _hash_files(digest, path)
            return digest.hexdigest()
        return "file " + hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _run_inputs(pipeline: Pipeline, name: str) -> Any:
    """A digest started with what every environment of the run shares, and the environment's name."""
    digest = hashlib.sha256(code_digest(pipeline.pm).encode())
    digest.update(f"\0{name}\0{_options(pipeline)}\0{_environment_variables()}\0{_istioctl()}\0".encode())
    return digest


def _istioctl() -> str:
    """The istioctl a `checks.istioctl` run would ask, by path, size and time: another one may judge otherwise.

    Asked on every call, not once per process: PATH may change between the runs of one process (tests).
    """
    from gwpipe.checks.builtin.istioctl_run import find_istioctl

    found = find_istioctl()
    if found is None:
        return "istioctl -"
    try:
        status = os.stat(found)
    except OSError:
        return f"istioctl {found} missing"
    return f"istioctl {os.path.realpath(found)} {status.st_size} {status.st_mtime_ns}"


def _add_sources(digest: Any, sources: Iterable[tuple[str, str, str]]) -> None:
    for where, ref, content in sources:
        digest.update(f"\0{where} {ref}\0{content}".encode("utf-8", "surrogateescape"))


def inputs_of(pipeline: Pipeline, spec: Spec) -> Inputs | None:
    """The digests of everything `spec`'s rendered tree depends on; None when it cannot be known."""
    found = _sources(spec, pipeline)
    if found is None:
        return None
    root = Path(os.path.abspath(spec.root))
    sources: list[tuple[str, str, str]] = []
    for path, from_spec in found:
        content = _content(path)
        if content is None:
            return None
        absolute = Path(os.path.abspath(path))
        # a place the spec names moves with the spec folder (check reads an export of it); the run's own do not
        if from_spec and absolute.is_relative_to(root):
            sources.append(("root", absolute.relative_to(root).as_posix(), content))
        else:
            sources.append(("path", str(absolute), content))
    digest = _run_inputs(pipeline, spec.name)
    # the merged data covers every base and variable; repr keeps key order and value types apart
    digest.update(repr(spec.data).encode("utf-8", "surrogateescape"))
    digest.update(f"\0spec {spec.files[0][1] if spec.files else ''}".encode())
    _add_sources(digest, ((where, Path(ref).name, content) for where, ref, content in sources))
    files = [(os.path.relpath(path, root), sha) for path, sha in spec.files]
    if not files or any(not sha or rel.startswith("..") for rel, sha in files):
        return Inputs(digest.hexdigest())  # not read from files below the root: loaded every time
    preload = _run_inputs(pipeline, spec.name)
    for rel, sha in files:
        preload.update(f"\0file {rel}\0{sha}".encode("utf-8", "surrogateescape"))
    _add_sources(preload, sources)
    return Inputs(
        digest.hexdigest(),
        preload.hexdigest(),
        tuple(rel for rel, _sha in files),
        tuple((where, ref) for where, ref, _content in sources),
    )


def input_digest(pipeline: Pipeline, spec: Spec) -> str | None:
    """The digest of everything `spec`'s rendered tree depends on; None when it cannot be known."""
    inputs = inputs_of(pipeline, spec)
    return inputs.digest if inputs is not None else None


def _below(root: Path, relative: str) -> Path | None:
    """`root/relative`, unless that leaves `root` or passes through a symlink (loading would refuse it)."""
    parts = Path(relative).parts
    if not parts or Path(relative).is_absolute() or ".." in parts:
        return None
    current = root
    for part in parts:
        current = current / part
        if current.is_symlink():
            return None
    return current


def preload_digest(pipeline: Pipeline, name: str, root: Path, files: list[str], sources: list[list[str]]) -> str | None:
    """`Inputs.preload` of `name` as its recorded files and sources are now, without loading; None on any doubt."""
    preload = _run_inputs(pipeline, name)
    for rel in files:
        path = _below(root, rel)
        try:
            if path is None or not path.is_file():
                return None
            preload.update(
                f"\0file {rel}\0{hashlib.sha256(path.read_bytes()).hexdigest()}".encode("utf-8", "surrogateescape")
            )
        except OSError:
            return None
    now: list[tuple[str, str, str]] = []
    for where, ref in sources:
        path = _below(root, ref) if where == "root" else Path(ref) if where == "path" else None
        content = _content(path) if path is not None else None
        if content is None:
            return None
        now.append((where, ref, content))
    _add_sources(preload, now)
    return str(preload.hexdigest())
