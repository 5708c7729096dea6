"""Field-by-field comparison of an object read with the object the imported spec renders."""

from __future__ import annotations

import json
from typing import Any

MISSING = "not reproduced by the spec"
EXTRA = "the spec renders this field, the original has none"


def differences(original: Any, rendered: Any, path: str = "") -> list[tuple[str, str]]:
    """(dotted field, what differs) for every leaf where `rendered` does not equal `original`."""
    if isinstance(original, dict) and isinstance(rendered, dict):
        out: list[tuple[str, str]] = []
        for key in original:
            sub = _join(path, key)
            if key not in rendered:
                out.append((sub, MISSING))
            else:
                out.extend(differences(original[key], rendered[key], sub))
        out.extend((_join(path, key), EXTRA) for key in rendered if key not in original)
        return out
    if isinstance(original, list) and isinstance(rendered, list):
        if len(original) != len(rendered):
            return [(path, f"{len(original)} items, the spec renders {len(rendered)}")]
        out = []
        for i, (a, b) in enumerate(zip(original, rendered, strict=True)):
            out.extend(differences(a, b, f"{path}[{i}]"))
        return out
    if original == rendered:
        return []
    return [(path, f"{_short(original)}, the spec renders {_short(rendered)}")]


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else str(key)


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."
