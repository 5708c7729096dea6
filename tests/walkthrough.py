"""Extract the YAML manifests of the Istio walkthrough (shared/seed) and compare them with gwpipe output."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

SEED = Path(__file__).resolve().parent.parent.parent / "shared" / "seed" / "istio-gateways-walkthrough.txt"
_YAML_LINE = re.compile(r"^(\s+\S|-\s|[A-Za-z]+:|---$)")


def walkthrough_manifests() -> list[dict[str, Any]]:
    """Every Kubernetes-style manifest in the walkthrough, in order of appearance (comments stripped)."""
    if not SEED.exists():
        pytest.skip(f"walkthrough not found at {SEED} (shared/seed is not beside the repository)")
    lines = SEED.read_text(encoding="utf-8").splitlines()
    manifests: list[dict[str, Any]] = []
    i = 0
    while i < len(lines):
        if not lines[i].startswith("apiVersion:"):
            i += 1
            continue
        block = []
        while i < len(lines) and lines[i].strip() and _YAML_LINE.match(lines[i]):
            block.append(lines[i])
            i += 1
        for doc in yaml.safe_load_all("\n".join(block)):
            if isinstance(doc, dict) and "kind" in doc:
                manifests.append(doc)
    return manifests


def manifest(kind: str, name: str, index: int = 0, **match: Any) -> dict[str, Any]:
    """The `index`-th walkthrough manifest of `kind` and `name` (several steps reuse names)."""
    found = [m for m in walkthrough_manifests() if m["kind"] == kind and m["metadata"]["name"] == name]
    assert found, f"walkthrough has no {kind} {name}"
    return found[index]


def missing_fields(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Paths where `actual` lacks a field of `expected` or holds another value (lists compare item by item)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path or '.'}: expected a mapping, got {actual!r}"]
        out: list[str] = []
        for key, value in expected.items():
            if key not in actual:
                out.append(f"{path}.{key}: missing")
            else:
                out.extend(missing_fields(value, actual[key], f"{path}.{key}"))
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{path}: expected {len(expected)} items, got {actual!r}"]
        out = []
        for n, (e, a) in enumerate(zip(expected, actual, strict=True)):
            out.extend(missing_fields(e, a, f"{path}[{n}]"))
        return out
    return [] if expected == actual else [f"{path}: expected {expected!r}, got {actual!r}"]


def assert_contains(expected: dict[str, Any], actual: dict[str, Any]) -> None:
    """The walkthrough manifest's spec (and kind/name) is contained in gwpipe's object, field by field."""
    assert actual["kind"] == expected["kind"]
    assert actual["metadata"]["name"] == expected["metadata"]["name"]
    if "namespace" in expected["metadata"]:
        assert actual["metadata"]["namespace"] == expected["metadata"]["namespace"]
    problems = missing_fields(expected.get("spec", {}), actual.get("spec", {}), "spec")
    assert not problems, "\n".join(problems)
