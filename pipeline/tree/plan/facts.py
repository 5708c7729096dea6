"""What one object means for traffic, as comparable facts: hosts, ports, TLS, routes, certificates, logging, installs.

Each fact is keyed by (category, subject), the subject naming the object (`Kind namespace/name`) and
the part of it (`http[0] route`), so the facts of two versions of an object compare key by key.
`COVERED` names, per kind, the fields whose every change some fact shows: the field-path fallback
(`gwpipe.tree.plan.fields`) reports every other changed field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

Key = tuple[str, str]
# one part of a fact that may change on its own (a destination and its weight), for a compact detail
Parts = tuple[tuple[str, str], ...]


@dataclass
class Facts:
    """The facts of some objects: a value per key, and for some keys the parts the value is made of."""

    values: dict[Key, str] = field(default_factory=dict)
    parts: dict[Key, Parts] = field(default_factory=dict)
    # details of a part (a server's port name, a route's headers) -> the fact of that part: a detail
    # is compared only when its part is in both versions (a part added or removed says it all)
    anchors: dict[Key, Key] = field(default_factory=dict)

    def put(
        self, category: str, subject: str, value: str = "", parts: Parts | None = None, anchor: Key | None = None
    ) -> None:
        self.values[(category, subject)] = value
        if parts is not None:
            self.parts[(category, subject)] = parts
        if anchor is not None:
            self.anchors[(category, subject)] = anchor


def text(value: Any) -> str:
    """A value on one line: strings as they are, anything else as compact sorted JSON."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _rest(ref: str, value: dict[str, Any], known: tuple[str, ...], category: str, facts: Facts, anchor: Key) -> None:
    """A detail fact per leaf of `value` outside `known`: nothing in a described part goes unreported."""
    from gwpipe.tree.plan.fields import leaves

    for key in sorted(k for k in value if k not in known):
        for path, leaf in leaves(value[key], str(key)):
            facts.put(category, f"{ref} {path}", leaf, anchor=anchor)


def gateway(ref: str, spec: dict[str, Any], facts: Facts) -> None:
    for server in _list(spec.get("servers")):
        if not isinstance(server, dict):
            continue
        port = _dict(server.get("port"))
        number, protocol = port.get("number"), str(port.get("protocol", "")).upper()
        where = f"{ref} :{number}"
        part = ("ports", f"{where}/{protocol}")
        facts.put(*part)
        _rest(part[1], port, ("number", "protocol"), "ports", facts, part)
        hosts = [str(h) for h in _list(server.get("hosts"))]
        for host in hosts:
            facts.put("hosts", f"{host} on {where}")
        tls = _dict(server.get("tls"))
        shown = f"{where} [{','.join(hosts)}]"
        if tls.get("mode") or tls.get("credentialName"):
            facts.put("tls", shown, f"mode {tls.get('mode') or '-'}, credentialName {tls.get('credentialName') or '-'}")
        if tls.get("httpsRedirect"):
            facts.put("redirects", f"{shown} httpsRedirect")
        _rest(f"{part[1]} tls", tls, ("mode", "credentialName", "httpsRedirect"), "tls", facts, part)
        _rest(part[1], server, ("port", "hosts", "tls"), "ports", facts, part)


def _destinations(rule: dict[str, Any]) -> Parts:
    parts = []
    for route in _list(rule.get("route")):
        destination = _dict(_dict(route).get("destination"))
        label = str(destination.get("host"))
        number = _dict(destination.get("port")).get("number")
        label += f":{number}" if number is not None else ""
        label += f" subset {destination['subset']}" if destination.get("subset") else ""
        parts.append((label, text(_dict(route).get("weight", "")) if _dict(route).get("weight") is not None else ""))
    return tuple(parts)


_RULE_FIELDS = ("match", "route", "timeout", "retries", "rewrite", "redirect")


def virtual_service(ref: str, spec: dict[str, Any], facts: Facts) -> None:
    for host in _list(spec.get("hosts")):
        facts.put("hosts", f"{host} on {ref}")
    for proto in ("http", "tls", "tcp"):
        for index, rule in enumerate(_list(spec.get(proto))):
            if not isinstance(rule, dict):
                continue
            where = f"{ref} {proto}[{index}]"
            part = ("routes", f"{where} match")
            facts.put(*part, text(rule["match"]) if rule.get("match") else "*")
            parts = _destinations(rule)
            if parts:
                shown = ", ".join(f"{label} {weight}" if weight else label for label, weight in parts)
                facts.put("routes", f"{where} route", shown, parts)
            for name in ("timeout", "retries", "rewrite"):
                if rule.get(name) is not None:
                    facts.put("routes", f"{where} {name}", text(rule[name]))
            if rule.get("redirect") is not None:
                facts.put("redirects", f"{where} redirect", text(rule["redirect"]))
            for route_index, route in enumerate(_list(rule.get("route"))):
                _rest(f"{where} route[{route_index}]", _dict(route), ("destination", "weight"), "routes", facts, part)
                extra = {
                    k: v
                    for k, v in _dict(_dict(route).get("destination")).items()
                    if k not in ("host", "port", "subset")
                }
                _rest(f"{where} route[{route_index}] destination", extra, (), "routes", facts, part)
            _rest(where, rule, _RULE_FIELDS, "routes", facts, part)


def certificate(ref: str, spec: dict[str, Any], facts: Facts) -> None:
    issuer = _dict(spec.get("issuerRef"))
    facts.put("certificates", f"{ref} secretName", text(spec.get("secretName", "")))
    facts.put("certificates", f"{ref} dnsNames", ",".join(str(d) for d in _list(spec.get("dnsNames"))))
    facts.put("certificates", f"{ref} issuer", f"{issuer.get('kind', 'Issuer')}/{issuer.get('name')}")
    _rest(f"{ref} issuer", issuer, ("kind", "name"), "certificates", facts, ("certificates", f"{ref} issuer"))


def service(ref: str, spec: dict[str, Any], facts: Facts) -> None:
    for port in _list(spec.get("ports")):
        if isinstance(port, dict):
            others = ", ".join(
                f"{k} {text(port[k])}" for k in sorted(port) if k not in ("port", "protocol", "targetPort")
            )
            value = f"targetPort {port.get('targetPort', port.get('port'))}" + (f", {others}" if others else "")
            facts.put("ports", f"{ref} :{port.get('port')}/{port.get('protocol', 'TCP')}", value)


def telemetry(ref: str, spec: dict[str, Any], facts: Facts) -> None:
    for index, entry in enumerate(_list(spec.get("accessLogging"))):
        if not isinstance(entry, dict):
            continue
        where = f"{ref} accessLogging[{index}]"
        names = [str(_dict(p).get("name")) for p in _list(entry.get("providers"))]
        part = ("logging", f"{where} providers")
        facts.put(*part, ",".join(names) or "-")
        facts.put("logging", f"{where} disabled", text(entry.get("disabled", False)))
        for name in ("filter", "match"):
            if entry.get(name) is not None:
                facts.put("logging", f"{where} {name}", text(entry[name]))
        for provider in _list(entry.get("providers")):
            _rest(f"{where} provider {_dict(provider).get('name')}", _dict(provider), ("name",), "logging", facts, part)
        _rest(where, entry, ("providers", "disabled", "filter", "match"), "logging", facts, part)


def istio_operator(ref: str, spec: dict[str, Any], facts: Facts) -> None:
    components = _dict(spec.get("components"))
    for kind in ("ingressGateways", "egressGateways"):
        for gw in _list(components.get(kind)):
            if isinstance(gw, dict):
                k8s = _dict(gw.get("k8s"))
                facts.put(
                    "installs",
                    f"{ref} {kind} {gw.get('name')}",
                    f"enabled {gw.get('enabled', True)}, namespace {gw.get('namespace', '-')}, "
                    f"labels {text(gw.get('label') or {})}, service {text(k8s.get('service') or {})}",
                )
                for env in _list(k8s.get("env")):
                    if isinstance(env, dict):
                        facts.put(
                            "control-plane", f"{ref} {gw.get('name')} env {env.get('name')}", text(env.get("value"))
                        )
    for env in _list(_dict(_dict(components.get("pilot")).get("k8s")).get("env")):
        if isinstance(env, dict):
            facts.put("control-plane", f"{ref} pilot env {env.get('name')}", text(env.get("value")))
    for name, value in sorted(_dict(_dict(_dict(spec.get("values")).get("pilot")).get("env")).items()):
        facts.put("control-plane", f"{ref} values.pilot.env.{name}", text(value))
    from gwpipe.tree.plan.fields import leaves

    for path, value in leaves(spec.get("meshConfig") or {}, "meshConfig"):
        facts.put("control-plane", f"{ref} {path}", value)


def deployment(ref: str, spec: dict[str, Any], facts: Facts) -> None:
    template = _dict(_dict(spec.get("template")).get("spec"))
    for container in _list(template.get("containers")):
        if not isinstance(container, dict):
            continue
        facts.put(
            "installs",
            f"{ref} container {container.get('name')}",
            f"image {container.get('image')}, replicas {spec.get('replicas', 1)}",
        )
        for env in _list(container.get("env")):
            if isinstance(env, dict) and str(env.get("name", "")).startswith(("PILOT_", "ISTIO_")):
                facts.put("control-plane", f"{ref} env {env.get('name')}", text(env.get("value")))


EXTRACTORS = {
    "Gateway": gateway,
    "VirtualService": virtual_service,
    "Certificate": certificate,
    "Service": service,
    "Telemetry": telemetry,
    "IstioOperator": istio_operator,
    "Deployment": deployment,
}
# per kind, the fields (list indexes written `[*]`) whose every change the facts above show
COVERED: dict[str, tuple[str, ...]] = {
    "Gateway": ("spec.servers",),
    "VirtualService": ("spec.hosts", "spec.http", "spec.tls", "spec.tcp"),
    "Certificate": ("spec.secretName", "spec.dnsNames", "spec.issuerRef"),
    "Service": ("spec.ports",),
    "Telemetry": ("spec.accessLogging",),
    "IstioOperator": (
        "spec.meshConfig",
        "spec.values.pilot.env",
        "spec.components.pilot.k8s.env",
        *(
            f"spec.components.{kind}[*].{name}"
            for kind in ("ingressGateways", "egressGateways")
            for name in ("name", "enabled", "namespace", "label", "k8s.service", "k8s.env")
        ),
    ),
    "Deployment": ("spec.replicas", "spec.template.spec.containers[*].image"),
}


def object_facts(ref: str, obj: dict[str, Any], facts: Facts) -> None:
    """Add the facts of one object (a kind without an extractor has none: the fallback shows its fields)."""
    extract = EXTRACTORS.get(str(obj.get("kind", "")))
    spec = obj.get("spec")
    if extract is not None and isinstance(spec, dict):
        extract(ref, spec, facts)
