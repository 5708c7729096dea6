"""HTTP to HTTPS redirects: `redirect: true` puts a host's plain-HTTP server in httpsRedirect mode (301)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gwpipe.errors import PluginError, Problem
from gwpipe.hooks.specs import hookimpl
from gwpipe.plugins import _istio as istio
from gwpipe.plugins.tls import gateway_request

if TYPE_CHECKING:
    from gwpipe.importer.model import ImportClaim, ImportContext
    from gwpipe.model import Resources
    from gwpipe.spec.load import Spec

NAME = "redirect"
HTTP_SERVER = "http"
REDIRECT_SERVER = "http-redirect"


@hookimpl
def gwpipe_spec_schema() -> dict[str, dict[str, Any]]:
    return {"hosts.*": {"redirect": {"type": "boolean"}}}


@hookimpl
def gwpipe_validate_spec(spec: Spec) -> list[Problem]:
    problems = []
    for host, entry in sorted((spec.get("hosts") or {}).items()):
        if not entry.get("redirect"):
            continue
        if "tls" not in entry:
            problems.append(
                spec.problem(
                    ("hosts", host, "redirect"),
                    "needs tls on the same host (an HTTPS server in the same Gateway to redirect to)",
                    "add tls.credentialName to this host, or drop redirect",
                )
            )
        if entry.get("http", True) is False:
            problems.append(
                spec.problem(
                    ("hosts", host, "redirect"),
                    "cannot be combined with http: false (there is no HTTP server to redirect from)",
                    "drop http: false to answer plain HTTP with a redirect, or drop redirect to serve HTTPS only",
                )
            )
    return problems


def redirected_hosts(spec: Spec, gateway: str) -> list[str]:
    """Hosts of `gateway` whose plain-HTTP requests get a 301 to HTTPS, sorted."""
    hosts = spec.get("hosts") or {}
    return [h for h in istio.hosts_on(spec, gateway) if hosts[h].get("redirect") and hosts[h].get("http", True)]


@hookimpl
def gwpipe_modify_resources(spec: Spec, resources: Resources) -> None:
    """All HTTP hosts redirected: the `http` server redirects; some: they move to an `http-redirect` server."""
    for gateway in sorted(spec.get("gateways") or {}):
        redirected = redirected_hosts(spec, gateway)
        if not redirected:
            continue
        request = gateway_request(spec, resources, gateway, NAME)
        servers: list[dict[str, Any]] = request.values["servers"]
        index = next(
            (i for i, s in enumerate(servers) if s["port"]["name"] == HTTP_SERVER and s["port"]["protocol"] == "HTTP"),
            None,
        )
        if index is None:
            raise PluginError(
                Problem(
                    f"plugin {NAME!r}: gwpipe_modify_resources",
                    f"{request.ref} has no HTTP server named {HTTP_SERVER!r}",
                )
            )
        server = servers[index]
        plain = [h for h in server["hosts"] if h not in redirected]
        if plain:
            moved = [h for h in server["hosts"] if h in redirected]
            server["hosts"] = plain
            port = {**server["port"], "name": REDIRECT_SERVER}
            servers.insert(index + 1, {"port": port, "hosts": moved, "tls": {"httpsRedirect": True}})
        else:
            server["tls"] = {"httpsRedirect": True}
        request.touch(NAME)


@hookimpl
def gwpipe_import(context: ImportContext) -> list[ImportClaim]:
    if context.leftovers:
        return []
    from gwpipe.plugins.importers import redirect as importer  # only `gwpipe import` needs it

    return importer.claims(context)
