"""Findings as a SARIF 2.1.0 log for code-scanning UIs."""

from __future__ import annotations

from typing import Any

from gwpipe.checks.analysis.messages import MESSAGES
from gwpipe.model import Finding

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVELS = {"Error": "error", "Warning": "warning", "Info": "note"}


def _help_uri(code: str) -> str:
    return f"https://istio.io/latest/docs/reference/config/analysis/{code.lower()}/"


def to_sarif(findings: list[Finding], version: str) -> dict[str, Any]:
    codes = sorted({f.code for f in findings} | set(MESSAGES))
    rules = []
    for code in codes:
        msg = MESSAGES.get(code)
        rules.append(
            {
                "id": code,
                "name": msg.name if msg else code,
                "shortDescription": {"text": msg.description if msg else code},
                "helpUri": _help_uri(code),
                "defaultConfiguration": {"level": _LEVELS[msg.level] if msg else "warning"},
            }
        )
    index = {code: i for i, code in enumerate(codes)}
    results = []
    for f in findings:
        result: dict[str, Any] = {
            "ruleId": f.code,
            "ruleIndex": index[f.code],
            "level": _LEVELS.get(f.level, "warning"),
            "message": {"text": f"{f.resource}: {f.message}"},
        }
        if f.file:
            location: dict[str, Any] = {"artifactLocation": {"uri": f.file.replace("\\", "/")}}
            if f.line:
                location["region"] = {"startLine": f.line}
            result["locations"] = [
                {
                    "physicalLocation": location,
                    "logicalLocations": [{"name": f.name, "fullyQualifiedName": f.resource, "kind": "resource"}],
                }
            ]
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "gwpipe",
                        "version": version,
                        "informationUri": "https://istio.io/latest/docs/reference/config/analysis/",
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
