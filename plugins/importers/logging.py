"""Import for the logging plugin: access-log Telemetries and the control plane's meshConfig.accessLogFile."""

from __future__ import annotations

from typing import Any

from gwpipe.importer.model import ImportClaim, ImportContext
from gwpipe.plugins.importers import _common as common
from gwpipe.plugins.importers import gateway_split


def claims(context: ImportContext) -> list[ImportClaim]:
    out = []
    installed = gateway_split.found_workloads(context)
    for telemetry in context.of_kind("Telemetry"):
        spec = telemetry.get("spec") or {}
        logs = spec.get("accessLogging") or []
        if context.api_group(telemetry) != "telemetry.istio.io" or len(logs) != 1:
            continue
        log = logs[0]
        meta = telemetry["metadata"]
        selector = dict((spec.get("selector") or {}).get("matchLabels") or {})
        entry: dict[str, Any] = {}
        workload = next(
            (
                n
                for n, w in installed.items()
                if w["namespace"] == meta["namespace"] and _selects(selector, w["labels"])
            ),
            None,
        )
        if workload:
            entry["workload"] = workload
            labels = installed[workload]["labels"]
        else:
            labels = common.DEFAULT_LABELS
        if selector != labels:
            entry["selector"] = selector
        providers = [p.get("name") for p in log.get("providers") or [{"name": "envoy"}]]
        if providers != ["envoy"]:
            entry["providers"] = providers
        if "filter" in log:
            entry["filter"] = (log["filter"] or {}).get("expression")
        if "match" in log:
            entry["mode"] = (log["match"] or {}).get("mode")
        if log.get("disabled"):
            entry["disabled"] = True
        out.append(ImportClaim(common.ref_of(telemetry), {"logging": {"telemetry": {meta["name"]: entry}}}))
    for plane in context.of_kind("IstioOperator", "HelmRelease"):
        mesh = (
            (plane.get("spec") or {}).get("meshConfig")
            or ((plane.get("spec") or {}).get("values") or {}).get("meshConfig")
            or {}
        )
        if "accessLogFile" in mesh:
            settings = {"accessLogFile": mesh["accessLogFile"]}
            if "accessLogEncoding" in mesh:
                settings["accessLogEncoding"] = mesh["accessLogEncoding"]
            out.append(ImportClaim("", {"logging": settings}))
    return out


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())
