"""The ingress plan: what a render changes for traffic (hosts, ports, TLS, redirects, installs), Atlantis style."""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from typing import Any

import pluggy

from gwpipe.render.readback import load_object, object_ref, one_line
from gwpipe.tree.moves import find_move

COMMENT_LIMIT = 65_536
CATEGORIES = (
    "hosts",
    "ports",
    "tls",
    "certificates",
    "redirects",
    "routes",
    "installs",
    "control-plane",
    "route-tests",
)
TITLES = {
    "hosts": "Hosts",
    "ports": "Ports",
    "tls": "TLS",
    "certificates": "Certificates",
    "redirects": "Redirects",
    "routes": "Routes",
    "installs": "Gateway installs",
    "control-plane": "Control plane",
    "route-tests": "Route test outcomes",  # filled by gwpipe.routes.behaviour from the spec's `tests:`
}
SIGNS = {"added": "+", "removed": "-", "changed": "~"}
_Facts = dict[tuple[str, str], str]


@dataclass(frozen=True)
class Change:
    """One semantic change: category, added/removed/changed, what it is about, before and after."""

    category: str
    action: str
    subject: str
    before: str = ""
    after: str = ""

    def line(self) -> str:
        if self.action == "changed":
            return f"{SIGNS[self.action]} {self.subject}: {self.before} -> {self.after}"
        value = self.after if self.action == "added" else self.before
        return f"{SIGNS[self.action]} {self.subject}" + (f" ({value})" if value else "")

    def as_dict(self) -> dict[str, str]:
        return {
            "category": self.category,
            "action": self.action,
            "subject": self.subject,
            "before": self.before,
            "after": self.after,
        }


@dataclass(frozen=True)
class ObjectChange:
    """One object file added, removed or changed, with its unified diff."""

    ref: str
    path: str
    action: str
    diff: str

    def as_dict(self) -> dict[str, str]:
        return {"ref": self.ref, "path": self.path, "action": self.action, "diff": self.diff}


@dataclass
class IngressPlan:
    """Everything a reviewer needs to judge a render: semantic changes first, raw object diffs after."""

    environment: str
    changes: list[Change] = field(default_factory=list)
    objects: list[ObjectChange] = field(default_factory=list)
    base_branch: str | None = None
    base_sha: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.objects

    def counts(self) -> dict[str, int]:
        return {a: sum(1 for o in self.objects if o.action == a) for a in ("added", "changed", "removed")}

    def summary(self) -> str:
        c = self.counts()
        return f"{c['added']} to add, {c['changed']} to change, {c['removed']} to remove"

    def as_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "base": {"branch": self.base_branch, "sha": self.base_sha},
            "counts": self.counts(),
            "changes": [c.as_dict() for c in self.changes],
            "objects": [o.as_dict() for o in self.objects],
            "warnings": self.warnings,
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, sort_keys=True)

    def to_text(self) -> str:
        """For a terminal: the semantic summary and the list of objects (no raw diff)."""
        if self.empty:
            return f"{self.environment}: no changes\n"
        lines = [f"{self.environment}: {self.summary()}"]
        if self.base_sha:
            lines.append(f"  base: {self.base_branch} at {self.base_sha}")
        lines.extend(f"  warning: {w}" for w in self.warnings)
        for category in CATEGORIES:
            items = [c for c in self.changes if c.category == category]
            if items:
                lines.append(f"  {TITLES[category].lower()}:")
                lines.extend(f"    {c.line()}" for c in items)
        lines.append("  objects:")
        lines.extend(f"    {SIGNS[o.action]} {o.ref} ({o.path})" for o in self.objects)
        return "\n".join(lines) + "\n"

    def to_markdown(self, limit: int = COMMENT_LIMIT) -> str:
        """For a pull request: under `limit` characters by summarising, never by dropping a change silently."""
        return _markdown(self, limit)


def compute_plan(
    environment: str,
    previous: dict[str, bytes],
    desired: dict[str, bytes],
    base_branch: str | None = None,
    base_sha: str | None = None,
    pm: pluggy.PluginManager | None = None,
) -> IngressPlan:
    """Compare the environment folder's files before and after a render (`pm`: the run's plugins)."""
    objects: list[ObjectChange] = []
    for path in sorted(set(previous) | set(desired)):
        old, new = previous.get(path), desired.get(path)
        if old == new:
            continue
        action = "added" if old is None else "removed" if new is None else "changed"
        ref = object_ref(new if new is not None else old or b"", path)
        diff = "".join(
            difflib.unified_diff(
                _lines(old),
                _lines(new),
                fromfile=f"a/{environment}/{path}" if old is not None else "/dev/null",
                tofile=f"b/{environment}/{path}" if new is not None else "/dev/null",
            )
        )
        objects.append(ObjectChange(ref, path, action, diff))
    changes = _compare(_facts(previous), _facts(desired))
    move = find_move(previous, desired, pm)
    warnings = [one_line(f"{move.what()} (render needs --allow-move)")] if move else []
    return IngressPlan(environment, changes, objects, base_branch, base_sha, warnings)


def _lines(data: bytes | None) -> list[str]:
    if data is None:
        return []
    text = data.decode("utf-8", errors="replace")
    return [line if line.endswith("\n") else line + "\n" for line in text.splitlines(keepends=True)]


def _compare(old: _Facts, new: _Facts) -> list[Change]:
    out = []
    for key in sorted(set(old) | set(new), key=lambda k: (CATEGORIES.index(k[0]), k[1])):
        category, subject = key[0], one_line(key[1])
        before = None if old.get(key) is None else one_line(old[key])
        after = None if new.get(key) is None else one_line(new[key])
        if before == after:
            continue
        if before is None:
            out.append(Change(category, "added", subject, "", after or ""))
        elif after is None:
            out.append(Change(category, "removed", subject, before, ""))
        else:
            out.append(Change(category, "changed", subject, before, after))
    return out


def _facts(files: dict[str, bytes]) -> _Facts:
    facts: _Facts = {}
    for path in sorted(files):
        obj = load_object(files[path])
        if obj is None or path == "kustomization.yaml":
            continue
        kind, spec = str(obj.get("kind", "")), obj.get("spec")
        ref = object_ref(files[path], path)
        if not isinstance(spec, dict):
            continue
        extract = _EXTRACTORS.get(kind)
        if extract is not None:
            extract(ref, spec, facts)
        if kind == "Deployment":
            _deployment(ref, spec, facts)
    return facts


def _s(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _gateway(ref: str, spec: dict[str, Any], facts: _Facts) -> None:
    for server in spec.get("servers") or []:
        if not isinstance(server, dict):
            continue
        port = server.get("port") or {}
        number, protocol = port.get("number"), str(port.get("protocol", "")).upper()
        where = f"{ref} :{number}"
        facts[("ports", f"{where}/{protocol}")] = ""
        for host in server.get("hosts") or []:
            facts[("hosts", f"{host} on {where}")] = ""
        tls = server.get("tls")
        if isinstance(tls, dict):
            mode = str(tls.get("mode", ""))
            hosts = ",".join(str(h) for h in server.get("hosts") or [])
            if mode or tls.get("credentialName"):
                cred = tls.get("credentialName") or "-"
                facts[("tls", f"{where} [{hosts}]")] = f"mode {mode or '-'}, credentialName {cred}"
            if tls.get("httpsRedirect"):
                facts[("redirects", f"{where} [{hosts}] httpsRedirect")] = ""


def _virtual_service(ref: str, spec: dict[str, Any], facts: _Facts) -> None:
    hosts = ",".join(str(h) for h in spec.get("hosts") or [])
    for proto in ("http", "tls", "tcp"):
        for index, rule in enumerate(spec.get(proto) or []):
            if not isinstance(rule, dict):
                continue
            match = _s(rule.get("match")) if rule.get("match") else "*"
            where = f"{ref} {proto}[{index}] [{hosts}] match {match}"
            if rule.get("redirect"):
                facts[("redirects", where)] = _s(rule["redirect"])
            routes = [
                f"{(r.get('destination') or {}).get('host')}:{((r.get('destination') or {}).get('port') or {}).get('number', '')}"
                for r in rule.get("route") or []
                if isinstance(r, dict)
            ]
            if routes:
                facts[("routes", where)] = ", ".join(routes)


def _certificate(ref: str, spec: dict[str, Any], facts: _Facts) -> None:
    issuer = spec.get("issuerRef") or {}
    facts[("certificates", ref)] = (
        f"secretName {spec.get('secretName')}, dnsNames {','.join(str(d) for d in spec.get('dnsNames') or [])}, "
        f"issuer {issuer.get('kind', 'Issuer')}/{issuer.get('name')}"
    )


def _service(ref: str, spec: dict[str, Any], facts: _Facts) -> None:
    for port in spec.get("ports") or []:
        if isinstance(port, dict):
            target = port.get("targetPort", port.get("port"))
            facts[("ports", f"{ref} :{port.get('port')}/{port.get('protocol', 'TCP')}")] = f"targetPort {target}"


def _istio_operator(ref: str, spec: dict[str, Any], facts: _Facts) -> None:
    components = spec.get("components") or {}
    for kind in ("ingressGateways", "egressGateways"):
        for gw in components.get(kind) or []:
            if isinstance(gw, dict):
                k8s = gw.get("k8s") or {}
                facts[("installs", f"{ref} {kind} {gw.get('name')}")] = (
                    f"enabled {gw.get('enabled', True)}, namespace {gw.get('namespace', '-')}, "
                    f"labels {_s(gw.get('label') or {})}, service {_s(k8s.get('service') or {})}"
                )
                for env in k8s.get("env") or []:
                    if isinstance(env, dict):
                        facts[("control-plane", f"{ref} {gw.get('name')} env {env.get('name')}")] = _s(env.get("value"))
    pilot = (components.get("pilot") or {}).get("k8s") or {}
    for env in pilot.get("env") or []:
        if isinstance(env, dict):
            facts[("control-plane", f"{ref} pilot env {env.get('name')}")] = _s(env.get("value"))
    for name, value in sorted(((spec.get("values") or {}).get("pilot") or {}).get("env", {}).items()):
        facts[("control-plane", f"{ref} values.pilot.env.{name}")] = _s(value)
    for path, value in _flatten(spec.get("meshConfig") or {}, "meshConfig"):
        facts[("control-plane", f"{ref} {path}")] = value


def _deployment(ref: str, spec: dict[str, Any], facts: _Facts) -> None:
    template = (spec.get("template") or {}).get("spec") or {}
    for container in template.get("containers") or []:
        if not isinstance(container, dict):
            continue
        facts[("installs", f"{ref} container {container.get('name')}")] = (
            f"image {container.get('image')}, replicas {spec.get('replicas', 1)}"
        )
        for env in container.get("env") or []:
            if isinstance(env, dict) and str(env.get("name", "")).startswith(("PILOT_", "ISTIO_")):
                facts[("control-plane", f"{ref} env {env.get('name')}")] = _s(env.get("value"))


def _flatten(value: Any, prefix: str) -> list[tuple[str, str]]:
    if isinstance(value, dict) and value:
        return [item for key in sorted(value) for item in _flatten(value[key], f"{prefix}.{key}")]
    return [(prefix, _s(value))]


_EXTRACTORS = {
    "Gateway": _gateway,
    "VirtualService": _virtual_service,
    "Certificate": _certificate,
    "Service": _service,
    "IstioOperator": _istio_operator,
}


def _code(text: str) -> str:
    """Inline markdown code that the text cannot break out of."""
    run = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * (run + 1)
    return f"{ticks} {text} {ticks}" if run else f"`{text}`"


def _fence(text: str) -> str:
    run = max((len(m) for m in re.findall(r"`{3,}", text)), default=0)
    return "`" * max(3, run + 1)


def _md_change(c: Change) -> str:
    if c.action == "changed":
        return f"- {SIGNS[c.action]} {_code(c.subject)}: {_code(c.before)} → {_code(c.after)}"
    value = c.after if c.action == "added" else c.before
    return f"- {SIGNS[c.action]} {_code(c.subject)}" + (f" ({_code(value)})" if value else "")


def _markdown(plan: IngressPlan, limit: int) -> str:
    head = [f"## gwpipe plan: {_code(plan.environment)}", ""]
    if plan.base_sha:
        head += [f"Base: {_code(plan.base_branch or '?')} at {_code(plan.base_sha)}", ""]
    if plan.empty:
        return "\n".join([*head, "No changes."]) + "\n"
    head += [f"**{plan.summary()}** (objects)", ""]
    head += [f"**Warning:** {_code(w)}" for w in plan.warnings] + ([""] if plan.warnings else [])
    sections = []
    for category in CATEGORIES:
        items = [_md_change(c) for c in plan.changes if c.category == category]
        if items:
            sections.append((TITLES[category], items))
    objects = [f"- {SIGNS[o.action]} {_code(o.ref)} ({_code(o.path)})" for o in plan.objects]
    budget = limit - 600
    summary = _summary_md(sections, objects, cap=None)
    if len("\n".join(head)) + len(summary) > budget:
        by_kind: dict[tuple[str, str], int] = {}
        for o in plan.objects:
            key = (o.ref.split(" ", 1)[0], o.action)
            by_kind[key] = by_kind.get(key, 0) + 1
        objects = [f"- {SIGNS[a]} {n} {_code(k)} {a}" for (k, a), n in sorted(by_kind.items())]
        summary = _summary_md(sections, objects, cap=None)
        cap = max((len(items) for _title, items in sections), default=1)
        while len("\n".join(head)) + len(summary) > budget and cap > 1:
            cap //= 2
            summary = _summary_md(sections, objects, cap=cap)
    out = "\n".join(head) + "\n" + summary
    tail_note = "\n</details>\n"
    details = ["", "<details><summary>Raw object diff</summary>", ""]
    left_out = 0
    used = len(out) + len("\n".join(details)) + len(tail_note) + 200
    for obj in plan.objects:
        fence = _fence(obj.diff)
        block = f"#### {SIGNS[obj.action]} {_code(obj.ref)}\n\n{fence}diff\n{obj.diff}{fence}\n"
        if used + len(block) + 1 > limit:
            left_out += 1
            continue
        details.append(block)
        used += len(block) + 1
    if left_out:
        details.append(
            f"**{left_out} more objects changed, see the commit** (diff left out to stay under {limit} characters)"
        )
    return out + "\n".join(details) + tail_note


def _summary_md(sections: list[tuple[str, list[str]]], objects: list[str], cap: int | None) -> str:
    lines: list[str] = []
    for title, items in sections:
        lines += [f"### {title}", ""]
        shown = items if cap is None else items[:cap]
        lines += shown
        if len(items) > len(shown):
            lines.append(f"- … and {len(items) - len(shown)} more {title.lower()} changes, see the commit")
        lines.append("")
    lines += ["### Objects", "", *objects, ""]
    return "\n".join(lines)
