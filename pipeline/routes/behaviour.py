"""Route test outcomes that a change of rendered files would change: for the ingress plan and the pull request."""

from __future__ import annotations

from typing import Any

import yaml

from gwpipe.render.readback import Loader
from gwpipe.routes.cases import Case
from gwpipe.routes.config import Topology
from gwpipe.routes.run import CaseResult, run_cases
from gwpipe.tree.plan import Change

CATEGORY = "route-tests"


def objects_of(files: dict[str, bytes]) -> list[dict[str, Any]]:
    """Every mapping in the YAML files of a rendered environment folder (others are skipped)."""
    out: list[dict[str, Any]] = []
    for path in sorted(files):
        if not path.endswith((".yaml", ".yml")):
            continue
        try:
            out.extend(doc for doc in yaml.load_all(files[path], Loader=Loader) if isinstance(doc, dict))
        except yaml.YAMLError:
            continue  # a hand-edited file in the repository: the plan's diff shows it, the cases cannot use it
    return out


def _label(result: CaseResult) -> str:
    return f"{result.outcome.summary()} ({'passes' if result.passed else 'fails'})"


def outcome_changes(
    cases: list[Case], previous: dict[str, bytes], desired: dict[str, bytes], namespace: str = "default"
) -> list[Change]:
    """One `changed` entry per case whose outcome differs between the two renders, in case order."""
    if not cases:
        return []
    before = run_cases(Topology(objects_of(previous), namespace), cases)
    after = run_cases(Topology(objects_of(desired), namespace), cases)
    return [
        Change(CATEGORY, "changed", f"case {old.case.name!r}", _label(old), _label(new))
        for old, new in zip(before, after, strict=True)
        if old.outcome.as_dict() != new.outcome.as_dict() or old.passed != new.passed
    ]


def add_route_changes(plan: Any, spec: Any, previous: dict[str, bytes], desired: dict[str, bytes]) -> None:
    """Append to an ingress plan the cases of the spec's `tests:` whose outcome the render changes."""
    from gwpipe.routes.cases import spec_cases

    if plan.empty:
        return
    cases = spec_cases(spec)
    plan.changes.extend(outcome_changes(cases, previous, desired, str(spec.get("namespace") or "default")))
