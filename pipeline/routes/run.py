"""Run cases against a topology: each case's outcome and whether it meets its expectation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gwpipe.routes.cases import Case
from gwpipe.routes.config import Topology
from gwpipe.routes.evaluate import evaluate
from gwpipe.routes.outcome import Outcome, meets


@dataclass(frozen=True)
class CaseResult:
    case: Case
    outcome: Outcome
    environment: str = ""

    @property
    def passed(self) -> bool:
        return meets(self.outcome, self.case.expect)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.case.name, "passed": self.passed, "actual": self.outcome.as_dict()}
        if self.environment:
            out["environment"] = self.environment
        if not self.passed:
            out["expected"] = self.case.expect
        return out


def run_cases(topology: Topology, cases: list[Case], environment: str = "") -> list[CaseResult]:
    return [CaseResult(case, evaluate(topology, case.request), environment) for case in cases]
