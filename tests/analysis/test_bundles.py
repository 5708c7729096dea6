"""Every bundle under tests/analysis_bundles is caught with exactly the codes its `# expect:` line names.

An expectation is `CODE Kind namespace/name`, followed by the rule id for admission-rule findings
(IST0106/IST0133/IST0130/IST0131 messages start with it), e.g. `IST0106 Gateway default/x G3`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gwpipe.checks.analysis import analyze
from gwpipe.checks.analysis.loader import load_manifests
from gwpipe.checks.analysis.manifests import ManifestSet

RULE = re.compile(r"^([A-Z]+[0-9]+): ")
BUNDLES = sorted((Path(__file__).resolve().parent.parent / "analysis_bundles").glob("*.yaml"))


def expected(path: Path) -> list[str]:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# expect: "), f"{path.name} must start with '# expect: ...'"
    body = first.removeprefix("# expect: ").strip()
    return [] if body == "none" else sorted(part.strip() for part in body.split(","))


def test_corpus_has_broken_and_valid_bundles() -> None:
    kinds = [bool(expected(p)) for p in BUNDLES]
    assert kinds.count(True) >= 15
    assert kinds.count(False) >= 3


@pytest.mark.parametrize("path", BUNDLES, ids=[p.stem for p in BUNDLES])
def test_bundle(path: Path) -> None:
    findings = analyze(ManifestSet(load_manifests(path, "default")), [], (1, 28))
    got = sorted(f"{f.code} {f.resource}" + (f" {m[1]}" if (m := RULE.match(f.message)) else "") for f in findings)
    assert got == expected(path), [str(f) for f in findings]
