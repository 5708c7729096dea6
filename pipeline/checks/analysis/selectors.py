"""Kubernetes label selectors as Istio's analyzers use them, and an index of pods to select from."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def as_labels(value: Any) -> dict[str, str]:
    """A label map from a manifest field (non-mappings and non-string values are dropped)."""
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items() if isinstance(v, str | int | float | bool)}


def selects(selector: Mapping[str, str] | None, labels: Mapping[str, str]) -> bool:
    """`SelectorFromSet`: every selector pair is in the labels; an empty or missing selector selects all."""
    return not selector or all(labels.get(k) == v for k, v in selector.items())


def selector_string(selector: Mapping[str, str] | None) -> str:
    """The canonical form used in messages: keys sorted, `k1=v1,k2=v2`."""
    return ",".join(f"{k}={v}" for k, v in sorted((selector or {}).items()))


def is_subset(small: Mapping[str, str], big: Mapping[str, str]) -> bool:
    return all(big.get(k) == v for k, v in small.items())


class PodIndex:
    """Pods (label sets with a namespace) indexed by label pair, so a selector is a set intersection."""

    def __init__(self, pods: list[tuple[str, dict[str, str]]]) -> None:
        self.pods = pods
        self._all = frozenset(range(len(pods)))
        self._by_pair: dict[tuple[str, str], set[int]] = {}
        for i, (_ns, labels) in enumerate(pods):
            for pair in labels.items():
                self._by_pair.setdefault(pair, set()).add(i)
        self._cache: dict[tuple[tuple[str, str], ...], frozenset[int]] = {}

    def matching(self, selector: Mapping[str, str] | None, namespace: str | None = None) -> frozenset[int]:
        """Indices of pods the selector selects, optionally only those in `namespace`."""
        key = tuple(sorted((selector or {}).items()))
        found = self._cache.get(key)
        if found is None:
            found = self._all
            for pair in key:
                found = found & self._by_pair.get(pair, set())
                if not found:
                    break
            self._cache[key] = found
        if namespace is None:
            return found
        return frozenset(i for i in found if self.pods[i][0] == namespace)

    def namespace_of(self, index: int) -> str:
        return self.pods[index][0]
