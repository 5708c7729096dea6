"""Read manifests from files and folders (multi-document YAML, `List` objects expanded), each with its source."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from gwpipe.errors import Problem, UsageError
from gwpipe.spec.load import display_path

YAML_SUFFIXES = (".yaml", ".yml", ".json")


class ManifestError(UsageError):
    """A manifest that cannot be read or parsed (exit 2, like a spec that cannot be loaded)."""


def manifest_files(paths: list[str]) -> list[Path]:
    """Every YAML file named, or found under a named folder (sorted, hidden entries skipped)."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = [
                p
                for p in sorted(path.rglob("*"))
                if p.is_file() and p.suffix in YAML_SUFFIXES and not _hidden(p.relative_to(path))
            ]
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise ManifestError(Problem(display_path(Path(os.path.abspath(raw))), "no such file or folder"))
    return files


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def read_manifests(paths: list[str]) -> list[tuple[dict[str, Any], str]]:
    """(object, `file:line`) for every Kubernetes-style document under `paths`, in file order."""
    out: list[tuple[dict[str, Any], str]] = []
    for file in manifest_files(paths):
        shown = display_path(Path(os.path.abspath(file)))
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ManifestError(Problem(shown, f"cannot be read: {getattr(exc, 'strerror', None) or exc}")) from None
        out.extend(parse_documents(text, shown))
    return out


def parse_documents(text: str, shown: str) -> list[tuple[dict[str, Any], str]]:
    """The documents of one YAML text; a syntax error names `file:line:column`."""
    out: list[tuple[dict[str, Any], str]] = []
    try:
        loader = yaml.SafeLoader(text)
        try:
            while loader.check_node():
                node = loader.get_node()
                line = node.start_mark.line + 1 if node is not None else 1
                doc = loader.construct_document(node) if node is not None else None
                if doc is None:
                    continue
                if not isinstance(doc, dict) or "kind" not in doc or "apiVersion" not in doc:
                    raise ManifestError(
                        Problem(f"{shown}:{line}", "not a Kubernetes object (needs apiVersion and kind)")
                    )
                if str(doc["kind"]).endswith("List") and isinstance(doc.get("items"), list):
                    out.extend((item, f"{shown}:{line}") for item in doc["items"] if isinstance(item, dict))
                else:
                    out.append((doc, f"{shown}:{line}"))
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{shown}:{mark.line + 1}:{mark.column + 1}" if mark else shown
        what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ManifestError(Problem(where, f"invalid YAML: {what}")) from None
    return out
