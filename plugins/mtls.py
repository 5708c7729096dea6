"""Mutual TLS at the gateway: a host's HTTPS server asks clients for certificates (MUTUAL or OPTIONAL_MUTUAL)."""

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

NAME = "mtls"
MODES = ("MUTUAL", "OPTIONAL_MUTUAL")
CA_SOURCES = ("credential", "cacert-secret")
CACERT_SUFFIX = "-cacert"
# issuers that do not know the CA of what they issue, so cert-manager writes no ca.crt into the Secret
NO_CA_ISSUERS = frozenset({"acme"})
CA_KEYS = ("ca.crt", "cacert")


@hookimpl
def gwpipe_spec_schema() -> dict[str, dict[str, Any]]:
    return {
        "hosts.*": {
            "mtls": {
                "type": "dict",
                "schema": {
                    "mode": {"type": "string", "allowed": list(MODES)},
                    "credentialName": istio.SECRET_NAME,
                    "caSource": {"type": "string", "allowed": list(CA_SOURCES)},
                },
            }
        }
    }


@hookimpl
def gwpipe_validate_spec(spec: Spec) -> list[Problem]:
    problems: list[Problem] = []
    gateways = spec.get("gateways") or {}
    issued = istio.tls_certificates(spec)
    for host, entry in sorted((spec.get("hosts") or {}).items()):
        mtls = entry.get("mtls")
        if mtls is None:
            continue
        at = ("hosts", host, "mtls")
        if "tls" not in entry:
            problems.append(
                spec.problem(
                    at,
                    "needs tls on the same host (mutual TLS is a mode of the host's HTTPS server)",
                    "add tls.credentialName to this host",
                )
            )
            continue
        if entry["gateway"] not in gateways:
            continue
        problems.extend(_credential_problems(spec, host, entry, issued.get(host)))
    return problems


def secret_name(entry: dict[str, Any]) -> str:
    """The Secret the host's HTTPS server ends up naming: mtls.credentialName, else tls.credentialName."""
    return str(entry.get("mtls", {}).get("credentialName") or entry["tls"]["credentialName"])


def _credential_problems(
    spec: Spec, host: str, entry: dict[str, Any], issued: tuple[str, dict[str, Any]] | None
) -> list[Problem]:
    """Where the host's Secret and client CA come from, against what cert-manager can write."""
    mtls = entry["mtls"]
    at = ("hosts", host, "mtls")
    problems = []
    mode = mtls.get("mode", "MUTUAL")
    if "credentialName" in mtls:
        foreign = istio.foreign_secret_problem(spec, (*at, "credentialName"), mtls["credentialName"], entry["gateway"])
        if foreign:
            problems.append(foreign)
        if issued is not None:
            problems.append(
                spec.problem(
                    (*at, "credentialName"),
                    f"would replace Secret {entry['tls']['credentialName']!r}, which cert-manager issues "
                    f"(tls.certificate on host {issued[0]!r})",
                    "drop mtls.credentialName and use caSource to say where the client CA comes from",
                )
            )
    ca_source = mtls.get("caSource", "credential")
    secret = secret_name(entry)
    if "/" in secret:  # already refused where it is named; a CA hint for it would mislead
        return problems
    if ca_source == "cacert-secret" and len(secret) + len(CACERT_SUFFIX) > 253:
        problems.append(
            spec.problem((*at, "caSource"), f"Secret name {secret + CACERT_SUFFIX!r} would exceed 253 characters")
        )
    if ca_source == "credential" and "credentialName" not in mtls and issued is not None:
        issuer_type = issued[1]["issuerType"]
        if issuer_type in NO_CA_ISSUERS:
            namespace = istio.credential_namespace(spec, entry["gateway"])
            problems.append(
                spec.problem(
                    (*at, "caSource") if "caSource" in mtls else at,
                    f"{mode} needs a client CA, but an {issuer_type.upper()} issuer writes no ca.crt into Secret {secret!r}",
                    f"set caSource: cacert-secret and provide Secret {secret + CACERT_SUFFIX!r} (key ca.crt) "
                    f"in namespace {namespace!r}",
                )
            )
    if ca_source == "credential" and issued is None:
        problems.extend(_inventory_ca_problems(spec, at, mode, secret, entry["gateway"]))
    return problems


def _inventory_ca_problems(
    spec: Spec, at: tuple[str | int, ...], mode: str, secret: str, gateway: str
) -> list[Problem]:
    """The client CA the analyzers would miss in a Secret the inventory declares with its keys (IST0161)."""
    namespace = istio.credential_namespace(spec, gateway)
    declared = {
        str(item.get("name")): item
        for item in (spec.get("checks") or {}).get("inventory") or []
        if item.get("kind") == "Secret" and item.get("namespace") == namespace
    }
    keys = declared.get(secret, {}).get("keys")
    if keys is None or any(key in keys for key in CA_KEYS) or secret + CACERT_SUFFIX in declared:
        return []
    return [
        spec.problem(
            at,
            f"{mode} needs a client CA, but Secret {secret!r} in checks.inventory has no ca.crt or cacert key "
            f"and there is no Secret {secret + CACERT_SUFFIX!r} in namespace {namespace!r}",
            f"add key ca.crt to Secret {secret!r}, or set caSource: cacert-secret and provide Secret "
            f"{secret + CACERT_SUFFIX!r} (key ca.crt)",
        )
    ]


@hookimpl
def gwpipe_modify_resources(spec: Spec, resources: Resources) -> None:
    """Switch each mtls host's HTTPS server to its mutual mode, and to mtls.credentialName when given."""
    for host, entry in sorted((spec.get("hosts") or {}).items()):
        mtls = entry.get("mtls")
        if mtls is None:
            continue
        request = gateway_request(spec, resources, entry["gateway"], NAME)
        server = next(
            (
                s
                for s in request.values["servers"]
                if s["port"]["protocol"] == "HTTPS" and s["hosts"] == [host] and "tls" in s
            ),
            None,
        )
        if server is None:
            raise PluginError(
                Problem(
                    f"plugin {NAME!r}: gwpipe_modify_resources", f"{request.ref} has no HTTPS server for host {host!r}"
                )
            )
        server["tls"]["mode"] = mtls.get("mode", "MUTUAL")
        server["tls"]["credentialName"] = secret_name(entry)
        request.touch(NAME)


@hookimpl
def gwpipe_import(context: ImportContext) -> list[ImportClaim]:
    if context.leftovers:
        return []
    from gwpipe.plugins.importers import mtls as importer  # only `gwpipe import` needs it

    return importer.claims(context)
