"""Load an environment spec: resolve `extends`, merge bases, keep every value's source location."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gwpipe.errors import Problem, SpecError
from gwpipe.spec.variables import VARS_KEY, Variable, renamed_locations, resolve
from gwpipe.spec.yamlload import LazyLocations, Location, Path_, format_path, load_yaml_file

NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
MAX_EXTENDS = 8


@dataclass
class Spec:
    """A loaded environment: its name, display file, merged data and value locations."""

    name: str
    file: str
    data: dict[str, Any]
    locations: Mapping[Path_, Location] = field(default_factory=dict)
    root: Path = field(default_factory=Path.cwd)
    # the variables the spec was resolved with, and which ones each resolved value (or ("key", *path)) used
    variables: dict[str, Variable] = field(default_factory=dict)
    variable_uses: dict[Path_, tuple[str, ...]] = field(default_factory=dict)
    # every file the load read (the spec file, then its bases outwards) with the SHA-256 of the bytes read
    files: tuple[tuple[Path, str], ...] = ()
    _derived: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def derived(self, key: str, compute: Callable[[Spec], Any]) -> Any:
        """`compute(self)`, once per spec: plugins share indexes over data that no longer changes."""
        if key not in self._derived:
            self._derived[key] = compute(self)
        return self._derived[key]

    def location(self, path: Path_) -> Location | None:
        """The location of `path`, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            loc = self.locations.get(tuple(path[:end]))
            if loc is not None:
                return loc
        return None

    def where(self, *path: str | int) -> str:
        """`file:line:col: dotted.field` for a path into the spec."""
        loc = self.location(path)
        head = f"{loc.file}:{loc.line}:{loc.column}" if loc else self.file
        dotted = format_path(path)
        return f"{head}: {dotted}" if dotted else head

    def problem(self, path: Path_, what: str, hint: str | None = None) -> Problem:
        loc = self.location(path)
        if loc is None:
            return Problem(self.where(*path), what, hint, file=self.file, field=format_path(path) or None)
        return Problem.at(loc.file, loc.line, loc.column, format_path(path), what, hint)

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def resolve_path(self, path: Path_, what: str) -> Path:
        """The file or folder named by the string at `path`: relative to the spec file that declares it,
        inside the spec root, reached through no symlink, and existing."""
        value: Any = self.data
        for part in path:
            value = value[part]
        loc = self.location(path)
        base = Path(os.path.abspath(loc.file if loc else self.file)).parent
        target = Path(os.path.abspath(base / str(value)))
        root = Path(os.path.abspath(self.root))
        if not target.is_relative_to(root):
            raise SpecError(self.problem(path, f"{what} outside the spec root, got {value!r}"))
        link = _first_symlink(target, root)
        if link is not None:
            raise SpecError(self.problem(path, f"{what} reaches through symlink {display_path(link)}"))
        if not target.exists():
            raise SpecError(self.problem(path, f"{what} not found, got {value!r}"))
        return target


def check_name(name: str, what: str, where: str) -> None:
    """Refuse a name that is not a DNS-1123 label: it becomes a path and a Kubernetes name."""
    if len(name) > 63 or not NAME_RE.fullmatch(name):
        raise SpecError(
            Problem(
                where,
                f"{what} {name!r} is not a DNS-1123 label (lower-case letters, digits and '-', at most 63 characters)",
            )
        )


def display_path(path: Path) -> str:
    """A path as the user should see it: relative to the working directory when inside it."""
    try:
        return os.path.relpath(path) if not str(os.path.relpath(path)).startswith("..") else str(path)
    except ValueError:  # pragma: no cover - other drive on Windows
        return str(path)


def _refuse_symlinks(path: Path, root: Path, display: str | Callable[[], str]) -> None:
    """Refuse a path that is, or passes through, a symlink below `root`, or that leaves `root`."""
    if not path.is_relative_to(root):
        raise SpecError(Problem(display if isinstance(display, str) else display(), "path outside the spec root"))
    link = _first_symlink(path, root)
    if link is not None:
        shown = display if isinstance(display, str) else display()
        raise SpecError(Problem(shown, f"refusing to follow symlink {display_path(link)}"))


def _first_symlink(path: Path, root: Path) -> Path | None:
    """The first component of `path` below `root` that is a symlink, if any."""
    current = root
    for part in path.relative_to(root).parts:
        current = current / part
        if current.is_symlink():
            return current
    return None


@dataclass
class _Merged:
    """A spec file merged over its bases; `references`: some file holds `${`; `own_vars`: what this file defines."""

    data: dict[str, Any]
    locations: Mapping[Path_, Location]
    references: bool
    own_vars: frozenset[str]
    files: tuple[tuple[Path, str], ...]


def environment_name(file: Path) -> str:
    """The environment a spec file renders: its name without a .yaml or .yml suffix."""
    return file.name.rsplit(".", 1)[0] if file.suffix in (".yaml", ".yml") else file.name


def load_spec(
    path: str | os.PathLike[str],
    root: str | os.PathLike[str] | None = None,
    variables: Mapping[str, str] | None = None,
) -> Spec:
    """Load the spec at `path`; `extends` may only reach files inside `root` (default: its folder).

    `variables` (`--var NAME=VALUE`) override the `vars` of the spec and its bases.
    """
    file = Path(os.path.abspath(path))
    root_dir = Path(os.path.abspath(root)) if root else file.parent
    display = display_path(file)
    name = environment_name(file)
    if not file.exists() and not file.is_symlink():
        raise SpecError(Problem(display, "spec file not found"))
    _refuse_symlinks(file, root_dir, display)
    check_name(name, "environment name", display)
    merged = _load_with_bases(file, root_dir, [])
    spec = Spec(
        name=name, file=display, data=merged.data, locations=merged.locations, root=root_dir, files=merged.files
    )
    if VARS_KEY not in merged.data and not merged.references and not variables:
        return spec  # nothing to interpolate: the common case costs one dict lookup and one substring search
    resolved = resolve(merged.data, spec.problem, merged.own_vars, variables or {}, merged.references)
    spec.data = resolved.data
    spec.variables = resolved.variables
    spec.variable_uses = resolved.uses
    if resolved.renamed:
        spec.locations = renamed_locations(merged.locations, resolved.renamed)
    return spec


def _load_with_bases(file: Path, root: Path, chain: list[Path]) -> _Merged:
    display = display_path(file)
    loaded = load_yaml_file(str(file), display)
    data, locations = loaded.data, loaded.locations
    base_ref = data.pop("extends", None)
    own = data.get(VARS_KEY)
    own_vars = frozenset(own) if isinstance(own, dict) else frozenset()
    if base_ref is None:
        return _Merged(data, locations, loaded.references, own_vars, ((file, loaded.sha256),))

    def where() -> str:  # locations cost a second parse: work them out only for a message
        loc = locations.get(("extends",))
        return (f"{loc.file}:{loc.line}:{loc.column}" if loc else display) + ": extends"

    if not isinstance(base_ref, str) or not base_ref:
        raise SpecError(Problem(where(), "expected a file name (string)"))
    if os.path.isabs(base_ref):
        raise SpecError(Problem(where(), "path outside the spec root; use a path relative to this file"))
    base = Path(os.path.abspath(file.parent / base_ref))
    if base == file or base in chain:
        raise SpecError(Problem(where(), f"extends cycle through {display_path(base)}"))
    if len(chain) >= MAX_EXTENDS:
        raise SpecError(Problem(where(), f"more than {MAX_EXTENDS} levels of extends"))
    try:
        base.relative_to(root)
    except ValueError:
        raise SpecError(Problem(where(), "path outside the spec root")) from None
    if not base.exists() and not base.is_symlink():
        raise SpecError(Problem(where(), f"base spec {base_ref!r} not found"))
    _refuse_symlinks(base, root, where)
    parent = _load_with_bases(base, root, [*chain, file])
    base_data, base_locations = parent.data, parent.locations
    merged = _deep_merge(base_data, data)

    def merged_locations() -> dict[Path_, Location]:
        table = {p: loc for p, loc in base_locations.items() if _exists(merged, p)}
        table.update({p: loc for p, loc in locations.items() if p != ("extends",)})
        return table

    references = loaded.references or parent.references
    files = ((file, loaded.sha256), *parent.files)
    return _Merged(merged, LazyLocations(merged_locations), references, own_vars, files)


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key; anything else in `override` replaces the base value; null deletes."""
    merged = dict(base)
    for key, value in override.items():
        if value is None and key in merged:
            del merged[key]
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _exists(data: Any, path: Path_) -> bool:
    for part in path:
        if isinstance(part, int):
            if not isinstance(data, list) or part >= len(data):
                return False
        elif not isinstance(data, dict) or part not in data:
            return False
        data = data[part]
    return True
