"""`gwpipe validate --explain`: a resolved spec, each value with the file:line (or `--var`) it came from."""

from __future__ import annotations

from typing import Any

from gwpipe.spec.load import Spec
from gwpipe.spec.variables import COMMAND_LINE, scalar_text
from gwpipe.spec.yamlload import Path_, format_path

INDENT = "  "


def origin(spec: Spec, path: Path_) -> str:
    """`file:line:col` of the value at `path` (or of its nearest located ancestor)."""
    loc = spec.location(path)
    return f"{loc.file}:{loc.line}:{loc.column}" if loc else spec.file


def variable_origin(spec: Spec, name: str) -> str:
    variable = spec.variables.get(name)
    if variable is not None and variable.from_command_line:
        return COMMAND_LINE
    return origin(spec, ("vars", name))


def _via(spec: Spec, names: tuple[str, ...]) -> str:
    shown = []
    for name in dict.fromkeys(names):
        variable = spec.variables.get(name)
        value = scalar_text(variable.value) if variable is not None else "?"
        shown.append(f"${{{name}}}={value} from {variable_origin(spec, name)}")
    return ", ".join(shown)


def explain_text(spec: Spec) -> str:
    """The resolved spec as YAML, a comment after each value naming its origin."""
    lines = [f"# {spec.name}: {spec.file}, resolved"]
    if spec.variables:
        lines.append("# vars:")
        for name, variable in spec.variables.items():
            lines.append(f"#   {name}: {scalar_text(variable.value)}  # {variable_origin(spec, name)}")
    _emit(spec, spec.data, (), 0, lines)
    return "\n".join(lines) + "\n"


def _emit(spec: Spec, value: Any, path: Path_, depth: int, lines: list[str]) -> None:
    pad = INDENT * depth
    if isinstance(value, dict):
        for key, item in value.items():
            here = (*path, key)
            key_uses = spec.variable_uses.get(("key", *here))
            note = f"  # key via {_via(spec, key_uses)}" if key_uses else ""
            head = f"{pad}{scalar_text(key)}:"
            if _is_collection(item) and item:
                lines.append(head + note)
                _emit(spec, item, here, depth + 1, lines)
            else:
                lines.append(f"{head} {_leaf(spec, item, here)}{note}")
    else:
        for index, item in enumerate(value):
            here = (*path, index)
            if _is_collection(item) and item:
                # the first entry of an item shares the dash's line
                sub: list[str] = []
                _emit(spec, item, here, depth + 1, sub)
                first = sub[0][len(INDENT * (depth + 1)) :]
                lines.append(f"{pad}- {first}")
                lines.extend(sub[1:])
            else:
                lines.append(f"{pad}- {_leaf(spec, item, here)}")


def _is_collection(value: Any) -> bool:
    return isinstance(value, dict | list)


def _leaf(spec: Spec, value: Any, path: Path_) -> str:
    text = "{}" if value == {} else "[]" if value == [] else scalar_text(value)
    uses = spec.variable_uses.get(path)
    via = f" via {_via(spec, uses)}" if uses else ""
    return f"{text}  # {origin(spec, path)}{via}"


def explain_json(spec: Spec) -> dict[str, Any]:
    """The resolved spec, and the origin of every value by dotted path."""
    origins: dict[str, dict[str, Any]] = {}

    def walk(value: Any, path: Path_) -> None:
        if isinstance(value, dict) and value:
            for key, item in value.items():
                walk(item, (*path, key))
        elif isinstance(value, list) and value:
            for index, item in enumerate(value):
                walk(item, (*path, index))
        else:
            entry: dict[str, Any] = {"origin": origin(spec, path)}
            uses = spec.variable_uses.get(path)
            if uses:
                entry["variables"] = {name: variable_origin(spec, name) for name in dict.fromkeys(uses)}
            origins[format_path(path)] = entry

    walk(spec.data, ())
    return {
        "name": spec.name,
        "file": spec.file,
        "spec": spec.data,
        "variables": {
            name: {"value": variable.value, "origin": variable_origin(spec, name)}
            for name, variable in spec.variables.items()
        },
        "origins": origins,
    }
