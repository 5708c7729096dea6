"""Access logs: Telemetry resources for chosen gateway workloads, or meshConfig.accessLogFile for the whole mesh."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gwpipe.hooks.specs import hookimpl
from gwpipe.model import Finding, RenderedObject, ResourceRequest, Resources
from gwpipe.plugins import _istio as istio

if TYPE_CHECKING:
    from gwpipe.errors import Problem
    from gwpipe.importer.model import ImportClaim, ImportContext
    from gwpipe.spec.load import Spec

NAME = "logging"
# providers istiod knows without meshConfig.extensionProviders; other names must be declared there
BUILTIN_PROVIDERS = frozenset({"envoy"})
BOTH_CODE = "GWP0601"
PROVIDER_CODE = "GWP0602"


@hookimpl
def gwpipe_spec_schema() -> dict[str, dict[str, Any]]:
    return {
        "": {
            "logging": {
                "type": "dict",
                "schema": {
                    "telemetry": {
                        "type": "dict",
                        "keysrules": istio.LABEL,
                        "valuesrules": {
                            "type": "dict",
                            "schema": {
                                "workload": istio.LABEL,
                                "selector": {**istio.LABELS, "minlength": 1},
                                "providers": {
                                    "type": "list",
                                    "minlength": 1,
                                    "schema": {
                                        "type": "string",
                                        "regex": r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?",
                                        "meta": {"description": "an extension provider name"},
                                    },
                                },
                                "filter": {"type": "string", "empty": False},
                                "mode": {"type": "string", "allowed": ["CLIENT", "CLIENT_AND_SERVER", "SERVER"]},
                                "disabled": {"type": "boolean"},
                            },
                        },
                    },
                    "accessLogFile": {
                        "type": "string",
                        "empty": False,
                        "regex": r"/\S*",
                        "meta": {"description": "an absolute path"},
                    },
                    "accessLogEncoding": {
                        "type": "string",
                        "allowed": ["TEXT", "JSON"],
                        "dependencies": "accessLogFile",
                    },
                },
            }
        }
    }


def telemetries(spec: Spec) -> dict[str, dict[str, Any]]:
    return dict(sorted(((spec.get("logging") or {}).get("telemetry") or {}).items()))


def workload_of(entry: dict[str, Any]) -> str:
    return str(entry.get("workload", istio.DEFAULT_WORKLOAD))


def selector(spec: Spec, entry: dict[str, Any]) -> dict[str, str]:
    """The explicit selector, else the labels of the workload (exactly the pods its Service selects)."""
    labels = entry.get("selector") or istio.workloads(spec).get(workload_of(entry), {}).get("labels", {})
    return dict(sorted(labels.items()))


@hookimpl
def gwpipe_validate_spec(spec: Spec) -> list[Problem]:
    problems: list[Problem] = []
    workloads = istio.workloads(spec)
    claimed: dict[str, str] = {}
    for name, entry in telemetries(spec).items():
        where = ("logging", "telemetry", name)
        workload = workload_of(entry)
        if workload not in workloads:
            problems.append(
                spec.problem(
                    (*where, "workload"), f"unknown workload {workload!r}; declared: {', '.join(sorted(workloads))}"
                )
            )
            continue
        labels = workloads[workload]["labels"]
        chosen = selector(spec, entry)
        if any(labels.get(k) != v for k, v in chosen.items()):
            problems.append(
                spec.problem(
                    (*where, "selector"),
                    f"does not select the pods of workload {workload!r} (labels: {_labels(labels)})",
                )
            )
            continue
        # a pod selected by two Telemetries gets undefined logging (IST0159)
        for other_workload, other in sorted(workloads.items()):
            same_ns = istio.workload_namespace(spec, other_workload) == istio.workload_namespace(spec, workload)
            if same_ns and all(other["labels"].get(k) == v for k, v in chosen.items()):
                if other_workload in claimed:
                    problems.append(
                        spec.problem(
                            (*where, "selector" if "selector" in entry else "workload"),
                            f"selects the pods of workload {other_workload!r} like Telemetry {claimed[other_workload]!r}; "
                            "a pod selected by two Telemetries is undefined (IST0159)",
                        )
                    )
                claimed.setdefault(other_workload, name)
        problems.extend(_entry_problems(spec, where, entry))
    return problems


def _entry_problems(spec: Spec, where: tuple[str, ...], entry: dict[str, Any]) -> list[Problem]:
    problems = []
    if "filter" in entry:
        import celpy  # only a filter needs CEL, and loading it costs more than the rest of a render's imports
        from celpy.celparser import CELParseError

        try:
            celpy.Environment().compile(entry["filter"])
        except CELParseError as exc:
            at = f" at column {exc.column}" if getattr(exc, "column", None) else ""
            problems.append(
                spec.problem((*where, "filter"), f"is not a valid CEL expression{at}, got {entry['filter']!r}")
            )
    mode = entry.get("mode")
    if mode == "SERVER":
        problems.append(
            spec.problem(
                (*where, "mode"),
                "SERVER never applies to a gateway (gateways log in CLIENT mode); use CLIENT or CLIENT_AND_SERVER",
            )
        )
    elif mode and istio.version(spec) < (1, 15):
        problems.append(spec.problem((*where, "mode"), "needs Istio 1.15 or later (accessLogging match)"))
    return problems


def _labels(labels: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))


@hookimpl
def gwpipe_resources(spec: Spec) -> list[ResourceRequest]:
    requests = []
    for name, entry in telemetries(spec).items():
        logging_entry: dict[str, Any] = {
            "providers": [{"name": p} for p in entry.get("providers", ["envoy"])],
            "disabled": entry.get("disabled", False),
        }
        if "filter" in entry:
            logging_entry["filter"] = {"expression": entry["filter"]}
        if "mode" in entry:
            logging_entry["match"] = {"mode": entry["mode"]}
        requests.append(
            ResourceRequest(
                plugin=NAME,
                template="logging/telemetry.yaml.j2",
                api_version=istio.telemetry_api(spec),
                kind="Telemetry",
                name=name,
                namespace=istio.workload_namespace(spec, workload_of(entry)),
                values={"selector": selector(spec, entry), "accessLogging": [logging_entry]},
                content={"selector": "spec.selector.matchLabels", "accessLogging": "spec.accessLogging"},
            )
        )
    return requests


@hookimpl
def gwpipe_modify_resources(spec: Spec, resources: Resources) -> None:
    """meshConfig.accessLogFile goes into the control plane, which pilot_filter may already have planned."""
    settings = spec.get("logging") or {}
    if "accessLogFile" not in settings:
        return
    request = istio.find_control_plane(resources)
    if request is None:
        # `istioctl install --set meshConfig.accessLogFile=...` installs the default profile
        request = istio.control_plane_request(spec, NAME)
        resources.add(request)
    mesh = request.values["meshConfig"]
    mesh["accessLogFile"] = settings["accessLogFile"]
    if "accessLogEncoding" in settings:
        mesh["accessLogEncoding"] = settings["accessLogEncoding"]
    request.touch(NAME)


@hookimpl
def gwpipe_check(spec: Spec, objects: list[RenderedObject]) -> list[Finding]:
    findings = []
    settings = spec.get("logging") or {}
    for name, entry in telemetries(spec).items():
        for i, provider in enumerate(entry.get("providers", [])):
            if provider.lower() not in BUILTIN_PROVIDERS:
                findings.append(
                    _finding(
                        spec,
                        ("logging", "telemetry", name, "providers", i),
                        PROVIDER_CODE,
                        "Telemetry",
                        istio.workload_namespace(spec, workload_of(entry)),
                        name,
                        f"provider {provider!r} is not built in; declare it in meshConfig.extensionProviders, "
                        "istiod silently skips unknown providers",
                    )
                )
    if "accessLogFile" in settings and telemetries(spec):
        plane = next((o.request for o in objects if o.request.values.get("role") == istio.CONTROL_PLANE_ROLE), None)
        kind, ns, obj_name = (
            (plane.kind, plane.namespace or "", plane.name)
            if plane
            else ("IstioOperator", istio.istio_namespace(spec), "")
        )
        findings.append(
            _finding(
                spec,
                ("logging", "accessLogFile"),
                BOTH_CODE,
                kind,
                ns,
                obj_name,
                "meshConfig.accessLogFile and Telemetry access logging are both set: workloads a Telemetry selects "
                f"({', '.join(telemetries(spec))}) log only as the Telemetry says, every other proxy logs to the file",
            )
        )
    return findings


def _finding(
    spec: Spec, path: tuple[str | int, ...], code: str, kind: str, namespace: str, name: str, message: str
) -> Finding:
    loc = spec.location(path)
    return Finding(
        code, "Warning", kind, namespace, name, message, loc.file if loc else spec.file, loc.line if loc else None
    )


@hookimpl
def gwpipe_import(context: ImportContext) -> list[ImportClaim]:
    if context.leftovers:
        return []
    from gwpipe.plugins.importers import logging as importer  # only `gwpipe import` needs it

    return importer.claims(context)
