"""gwpipe-cors: Istio `corsPolicy` on every HTTP route of a host that declares `cors`, and a check on it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gwpipe.errors import PluginError, Problem
from gwpipe.hooks.specs import hookimpl
from gwpipe.model import Finding, RenderedObject, ResourceRequest, Resources
from gwpipe.spec.load import Spec

__version__ = "0.1.0"

# the entry-point name in pyproject.toml: what touch(), provenance and `--block` use
NAME = "cors"
WILDCARD_CODE = "CORS0001"
TEMPLATES = Path(__file__).resolve().parent / "templates"

_STRING_MATCH = {
    "type": "dict",
    "minlength": 1,
    "maxlength": 1,
    "schema": {
        "exact": {"type": "string", "empty": False},
        "prefix": {"type": "string", "empty": False},
        "regex": {"type": "string", "empty": False},
    },
}
_HEADER = {"type": "string", "regex": r"[A-Za-z0-9-]+", "meta": {"description": "an HTTP header name"}}
_DURATION = {
    "type": "string",
    "regex": r"[0-9]+(ms|s|m|h)",
    "meta": {"description": "a duration such as 30s or 24h"},
}
# Istio's CorsPolicy, field for field: the spec value is copied into each route as it is
CORS_POLICY = {
    "type": "dict",
    "schema": {
        "allowOrigins": {"type": "list", "minlength": 1, "required": True, "schema": _STRING_MATCH},
        "allowMethods": {
            "type": "list",
            "schema": {
                "type": "string",
                "allowed": ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE", "*"],
            },
        },
        "allowHeaders": {"type": "list", "schema": _HEADER},
        "exposeHeaders": {"type": "list", "schema": _HEADER},
        "maxAge": _DURATION,
        "allowCredentials": {"type": "boolean"},
    },
}


@hookimpl
def gwpipe_spec_schema() -> dict[str, dict[str, Any]]:
    # `hosts.*` is declared by the built-in http plugin: `cors` becomes a field of every host entry
    return {
        "hosts.*": {"cors": CORS_POLICY},
        "": {"corsConfigMap": {"type": "string", "regex": r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", "maxlength": 63}},
    }


@hookimpl
def gwpipe_template_folders() -> dict[str, str]:
    return {"cors": str(TEMPLATES / "cors")}


def cors_hosts(spec: Spec) -> dict[str, dict[str, Any]]:
    """Host name -> its `cors` policy, for the hosts that declare one."""
    return {host: entry["cors"] for host, entry in sorted((spec.get("hosts") or {}).items()) if "cors" in entry}


@hookimpl
def gwpipe_resources(spec: Spec) -> list[ResourceRequest]:
    """With `corsConfigMap: <name>`, a ConfigMap listing each CORS host's allowed origins."""
    name = spec.get("corsConfigMap")
    hosts = cors_hosts(spec)
    if not name or not hosts:
        return []
    data = {host: "\n".join(_origin_text(o) for o in policy["allowOrigins"]) for host, policy in hosts.items()}
    return [
        ResourceRequest(
            plugin=NAME,
            template="cors/configmap.yaml.j2",
            api_version="v1",
            kind="ConfigMap",
            name=str(name),
            namespace=str(spec.get("namespace", "default")),
            values={"data": data},
            # `data` lands at `data` in the object: a template that loses a host fails the render
            content={"data": "data"},
        )
    ]


def _origin_text(match: dict[str, str]) -> str:
    [(how, value)] = match.items()
    return f"{how}:{value}"


@hookimpl
def gwpipe_modify_resources(spec: Spec, resources: Resources) -> None:
    """Set the host's policy on every HTTP route of the VirtualService that serves it."""
    for host, policy in cors_hosts(spec).items():
        served = [r for r in resources.of_kind("VirtualService") if host in r.values.get("hosts", ())]
        if not served:
            raise PluginError(
                Problem(f"plugin {NAME!r}: gwpipe_modify_resources", f"no VirtualService serves host {host!r}")
            )
        for request in served:
            routes = request.values.get("http") or []
            for route in routes:
                route["corsPolicy"] = dict(policy)
            # naming the fields lets gwpipe blame this plugin exactly if a template drops one
            request.touch(NAME, *(f"http[{i}].corsPolicy" for i in range(len(routes))))


@hookimpl
def gwpipe_check(spec: Spec, objects: list[RenderedObject]) -> list[Finding]:
    """A Warning for a policy that allows any origin with credentials: browsers refuse that combination."""
    findings = []
    for obj in objects:
        if obj.request.kind != "VirtualService" or NAME not in obj.request.plugins:
            continue
        for route in obj.obj.get("spec", {}).get("http") or []:
            policy = route.get("corsPolicy") or {}
            if policy.get("allowCredentials") and any(_any_origin(m) for m in policy.get("allowOrigins", [])):
                findings.append(_wildcard_finding(spec, obj))
                break
    return findings


def _any_origin(match: dict[str, str]) -> bool:
    return match.get("exact") == "*" or match.get("regex") in (".*", ".+", "*")


def _wildcard_finding(spec: Spec, obj: RenderedObject) -> Finding:
    host = next((h for h in obj.request.values["hosts"] if h in cors_hosts(spec)), obj.request.values["hosts"][0])
    where = spec.location(("hosts", host, "cors", "allowCredentials"))
    return Finding(
        WILDCARD_CODE,
        "Warning",
        obj.request.kind,
        obj.request.namespace or "",
        obj.request.name,
        f"host {host!r} allows any origin together with allowCredentials: true; browsers reject credentialed "
        "responses to a wildcard origin, list the origins instead",
        where.file if where else spec.file,
        where.line if where else None,
    )
