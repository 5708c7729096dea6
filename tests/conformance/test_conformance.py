"""Conformance with Istio's documented behaviour: one parametrized runner over the tables in tables/.

Each case's expectation was written from Istio's validation and analyzer sources (named in `source`), not
from gwpipe's output; the meta-tests require a rejected and an accepted boundary case for every IST code and
admission rule id the package claims, enumerated from the code so that a new one without cases fails here.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from gwpipe.checks.analysis import messages

from .runner import Case, dotted_path, key_of, load_cases, manifest_for, run_case

CASES = load_cases()
RULES_DIR = Path(messages.__file__).resolve().parent / "rules"
# where Istio keeps what the cases follow: validation, analyzers, operator validation, pilot runtime
SOURCE = re.compile(r"^(pkg|pilot|operator|istioctl|manifests)/[\w./-]+\.(go|yaml) \w+")


def claimed_rules() -> set[str]:
    """Every admission rule id the rules modules can report (string literals shaped like `G3`, `TL5`)."""
    found: set[str] = set()
    for path in RULES_DIR.glob("*.py"):
        found.update(re.findall(r'"([A-Z]{1,2}[0-9]{1,2})"', path.read_text(encoding="utf-8")))
    return found


def claimed_codes() -> set[str]:
    return set(messages.MESSAGES)


@pytest.mark.parametrize("case", CASES, ids=[f"{c.area}-{c.id}" for c in CASES])
def test_case(case: Case, tmp_path: Path) -> None:
    findings, manifests = run_case(case, tmp_path)
    got = Counter((f.code, key_of(f), f.level, f.resource) for f in findings)
    want = Counter((e.code, e.key, e.level, e.on or case.resource) for e in case.expect)
    assert got == want, "\n".join(str(f) for f in findings) or "no findings"
    for e in case.expect:
        if e.at is None:
            continue
        line = manifest_for(manifests, e.on or case.resource).line_of(dotted_path(e.at))
        lines = [f.line for f in findings if (f.code, key_of(f), f.resource) == (e.code, e.key, e.on or case.resource)]
        assert line in lines, f"{e.code} {e.key} expected at {e.at} (line {line}), found at lines {lines}"


def test_case_ids_are_unique_and_name_their_istio_source() -> None:
    ids = Counter((c.area, c.id) for c in CASES)
    assert [k for k, n in ids.items() if n > 1] == []
    assert [c.id for c in CASES if not SOURCE.match(c.source)] == []


def test_expectations_stay_within_each_table_scope() -> None:
    assert [(c.id, e.code) for c in CASES for e in c.expect if e.code not in c.scope] == []


def _rejected_and_accepted() -> tuple[dict[str, int], dict[str, int]]:
    rejected: Counter[str] = Counter()
    accepted: Counter[str] = Counter()
    for c in CASES:
        hit = {e.code for e in c.expect} | {e.key for e in c.expect if e.key}
        # the API server's schema or CEL rules reject the object before any admission rule sees it
        refused_first = any(e.key.startswith(("schema:", "cel:")) for e in c.expect)
        for item in c.covers:
            (rejected if item in hit or refused_first else accepted)[item] += 1
    return dict(rejected), dict(accepted)


@pytest.mark.parametrize("item", sorted(claimed_codes() | claimed_rules()))
def test_every_claimed_code_and_rule_has_a_rejected_and_an_accepted_case(item: str) -> None:
    rejected, accepted = _rejected_and_accepted()
    assert rejected.get(item, 0) >= 1, f"{item}: no case expects it"
    assert accepted.get(item, 0) >= 1, f"{item}: no accepted boundary case covers it"


def test_cases_cover_only_what_the_package_claims() -> None:
    claimed = claimed_codes() | claimed_rules()
    assert sorted({item for c in CASES for item in c.covers} - claimed) == []
