"""The differential harness: one input through istioctl (validate, analyze) and gwpipe, compared by code and object."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from gwpipe.checks.builtin.istioctl_run import ANALYZE_ARGS, parse_messages

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
DIFFERENCES = HERE / "differences.yaml"
# a structural rejection: istioctl says IST0106 where gwpipe's schema check says GWP0100 (same object, same cause)
_STRUCTURE_CODES = {"IST0106", "GWP0100"}
_PARSE_ERROR = re.compile(r"error processing (?P<file>\S+?)\[(?P<index>[0-9]+)\]: (?P<why>.*)$", re.MULTILINE)
_CATEGORY = re.compile(r"^(pending-conform|deliberate): \S.*$")
# `istioctl validate` names each rejected object as `Kind/namespace/name` (an empty namespace for none)
_VALIDATE_OBJECT = re.compile(r"\b(?P<kind>[A-Z][A-Za-z]+)/(?P<namespace>[a-z0-9.-]*)/(?P<name>[a-z0-9.-]+)\b")


@dataclass(frozen=True, order=True)
class Disagreement:
    """One finding only one side makes: `side` is the side that makes it."""

    input: str
    check: str  # "analyze" (code by object) or "validate" (object rejected or not)
    code: str
    object: str
    side: str  # "istioctl" or "gwpipe"
    detail: str = ""

    def key(self) -> dict[str, str]:
        return {"input": self.input, "check": self.check, "code": self.code, "object": self.object, "side": self.side}


def yaml_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.yaml")) if root.is_dir() else [root]


def istioctl_analyze(istioctl: Path, files: list[Path]) -> dict[tuple[str, str], str]:
    """(code, `Kind namespace/name`) -> message, for istioctl's IST messages over `files` alone.

    An object istioctl cannot parse is skipped with a warning on stderr (`error processing FILE[i]: ...`);
    it counts as IST0106 here (stderr names the file and document), the code gwpipe gives a structural mistake.
    """
    done = subprocess.run(
        [str(istioctl), *ANALYZE_ARGS, *map(str, files)], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode in (0, 79), done.stderr
    found: dict[tuple[str, str], str] = {}
    for m in parse_messages(done.stdout):
        if m.code.startswith("IST"):
            found[(m.code, f"{m.kind} {m.namespace}/{m.name}" if m.namespace else f"{m.kind} {m.name}")] = m.message
    for match in _PARSE_ERROR.finditer(done.stderr):
        obj = _object_at(Path(match["file"]), int(match["index"]))
        found.setdefault(("IST0106", obj), f"not parsed: {match['why'].strip()}")
    return found


def _object_at(file: Path, index: int) -> str:
    docs = list(yaml.safe_load_all(file.read_text(encoding="utf-8")))
    doc = docs[index] if index < len(docs) and isinstance(docs[index], dict) else {}
    meta = doc.get("metadata") or {}
    return f"{doc.get('kind')} {meta.get('namespace', 'default')}/{meta.get('name')}"


def istioctl_validate(istioctl: Path, files: list[Path]) -> dict[str, str]:
    """`Kind namespace/name` -> istioctl's reason, for every object `istioctl validate` rejects in `files`."""
    rejected: dict[str, str] = {}
    for file in files:
        done = subprocess.run(
            [str(istioctl), "validate", "-f", str(file)], capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode == 0:
            continue
        # errors go to stderr, each prefixed `Kind/namespace/name:`; warnings (stdout) are not rejections
        for line in done.stderr.splitlines():
            match = _VALIDATE_OBJECT.search(line)
            if match is not None:
                ns = match["namespace"]
                obj = f"{match['kind']} {ns}/{match['name']}" if ns else f"{match['kind']} {match['name']}"
                rejected.setdefault(obj, line.strip())
    return rejected


def gwpipe_analyze(paths: list[Path]) -> list[dict[str, Any]]:
    """`gwpipe analyze -o json` over `paths`: its findings as JSON."""
    done = subprocess.run(
        [sys.executable, "-m", "gwpipe", "analyze", "-o", "json", "--fail-on", "Info", *map(str, paths)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        env={**os.environ, "GWPIPE_ISTIOCTL": ""},
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    found: list[dict[str, Any]] = json.loads(done.stdout)
    return found


def _object(finding: dict[str, Any]) -> str:
    ns = finding["namespace"]
    return f"{finding['kind']} {ns}/{finding['name']}" if ns else f"{finding['kind']} {finding['name']}"


def compare(input_id: str, istioctl: Path, paths: list[Path]) -> list[Disagreement]:
    """Every disagreement between istioctl and gwpipe over the manifests in `paths`."""
    files = [f for p in paths for f in yaml_files(p)]
    theirs = istioctl_analyze(istioctl, files)
    rejected_by_istioctl = istioctl_validate(istioctl, files)
    findings = gwpipe_analyze(paths)
    ours = {
        (("IST0106" if f["code"] in _STRUCTURE_CODES else f["code"]), _object(f)): f["message"]
        for f in findings
        if f["code"].startswith("IST") or f["code"] in _STRUCTURE_CODES
    }
    out = [Disagreement(input_id, "analyze", c, o, "istioctl", theirs[c, o]) for c, o in sorted(theirs.keys() - ours)]
    out += [Disagreement(input_id, "analyze", c, o, "gwpipe", ours[c, o]) for c, o in sorted(ours.keys() - theirs)]
    # validate is admission: an object gwpipe refuses is one with an Error about its own structure or values
    rejected_by_gwpipe = {
        _object(f): f["message"] for f in findings if f["level"] == "Error" and f["code"] in _STRUCTURE_CODES
    }
    for obj in sorted(rejected_by_istioctl.keys() - rejected_by_gwpipe):
        out.append(Disagreement(input_id, "validate", "rejected", obj, "istioctl", rejected_by_istioctl[obj]))
    for obj in sorted(rejected_by_gwpipe.keys() - rejected_by_istioctl):
        out.append(Disagreement(input_id, "validate", "rejected", obj, "gwpipe", rejected_by_gwpipe[obj]))
    return out


def documented() -> list[dict[str, str]]:
    """The documented differences: each with input, check, code, object, side (globs allowed) and category, reason."""
    loaded = yaml.safe_load(DIFFERENCES.read_text(encoding="utf-8")) or {}
    reasons: dict[str, str] = loaded.get("reasons") or {}
    # a category's reason is written once, under `reasons`
    return [{"reason": reasons.get(e.get("category", ""), ""), **e} for e in loaded.get("differences") or []]


def explained(d: Disagreement, entries: list[dict[str, str]]) -> dict[str, str] | None:
    for entry in entries:
        if all(fnmatch.fnmatchcase(value, str(entry.get(field, "*"))) for field, value in d.key().items()):
            return entry
    return None


def entry_problems(entry: dict[str, str]) -> list[str]:
    """What is wrong with one documented difference: missing fields, an unknown category or side."""
    problems = [
        f"no {field}" for field in ("input", "check", "code", "object", "side", "reason") if not entry.get(field)
    ]
    if not _CATEGORY.match(str(entry.get("category", ""))):
        problems.append(
            f"category {entry.get('category')!r} is not 'pending-conform: <class>' or 'deliberate: <reason>'"
        )
    if entry.get("side") not in ("istioctl", "gwpipe"):
        problems.append(f"side {entry.get('side')!r} is not istioctl or gwpipe")
    return problems


def unexplained(found: list[Disagreement], entries: list[dict[str, str]]) -> list[str]:
    """One readable line per disagreement no documented difference covers (empty: all agree or are explained)."""
    return [
        f"{d.input}: {d.check} {d.code} {d.object}: only {d.side} ({d.detail})"
        for d in found
        if explained(d, entries) is None
    ]


def stale(input_id: str, found: list[Disagreement], entries: list[dict[str, str]]) -> list[str]:
    """Documented differences of exactly this input that no longer occur: the file must shrink as gwpipe improves."""
    return [
        f"{input_id}: {e['check']} {e['code']} {e['object']}: documented ({e['category']}) but both sides now agree"
        for e in entries
        if e.get("input") == input_id
        and not any(all(fnmatch.fnmatchcase(v, str(e.get(k, "*"))) for k, v in d.key().items()) for d in found)
    ]
