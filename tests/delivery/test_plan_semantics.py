"""The plan down to the field: weights, timeouts, retries, rewrites, servers, certificates, logging, the fallback."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from gwpipe.render.readback import load_object
from gwpipe.tree.plan import compute_plan
from gwpipe.tree.plan.reading import read_objects


def _doc(kind: str, name: str, spec: dict[str, Any], ns: str = "shop", **meta: Any) -> bytes:
    metadata = {"name": name, "namespace": ns, **meta}
    return yaml.safe_dump({"apiVersion": "v1", "kind": kind, "metadata": metadata, "spec": spec}).encode()


def _canary(v1: int, v2: int, **rule: Any) -> dict[str, Any]:
    return {
        "hosts": ["api.example.com"],
        "gateways": ["shop/gw"],
        "http": [
            {
                "match": [{"uri": {"prefix": "/"}}],
                "route": [
                    {"destination": {"host": "api-v1", "port": {"number": 8080}}, "weight": v1},
                    {"destination": {"host": "api-v2", "port": {"number": 8080}}, "weight": v2},
                ],
                **rule,
            }
        ],
    }


def _lines(old: bytes | None, new: bytes | None) -> list[str]:
    previous = {"vs.yaml": old} if old is not None else {}
    desired = {"vs.yaml": new} if new is not None else {}
    return [c.line() for c in compute_plan("prod", previous, desired).changes]


def test_canary_weight_change_shows_each_destination_weight() -> None:
    plan = compute_plan(
        "prod",
        {"vs.yaml": _doc("VirtualService", "api", _canary(95, 5))},
        {"vs.yaml": _doc("VirtualService", "api", _canary(90, 10))},
    )
    [change] = plan.changes
    assert change.line() == "~ VirtualService shop/api http[0] route: api-v1:8080 95→90, api-v2:8080 5→10"
    assert (change.category, change.before, change.after) == (
        "routes",
        "api-v1:8080 95, api-v2:8080 5",
        "api-v1:8080 90, api-v2:8080 10",
    )
    assert "`VirtualService shop/api http[0] route`: `api-v1:8080 95→90, api-v2:8080 5→10`" in plan.to_markdown()
    assert plan.to_text().splitlines()[1:3] == [
        "  routes:",
        "    ~ VirtualService shop/api http[0] route: api-v1:8080 95→90, api-v2:8080 5→10",
    ]


def test_timeouts_retries_rewrites_and_redirects() -> None:
    old = _doc("VirtualService", "api", _canary(100, 0, timeout="5s", retries={"attempts": 3}))
    new = _doc(
        "VirtualService",
        "api",
        _canary(100, 0, timeout="7s", retries={"attempts": 2}, rewrite={"uri": "/v2"}, redirect={"authority": "x"}),
    )
    assert _lines(old, new) == [
        '+ VirtualService shop/api http[0] redirect ({"authority":"x"})',
        '~ VirtualService shop/api http[0] retries: {"attempts":3} -> {"attempts":2}',
        '+ VirtualService shop/api http[0] rewrite ({"uri":"/v2"})',
        "~ VirtualService shop/api http[0] timeout: 5s -> 7s",
    ]


def test_match_and_destination_changes() -> None:
    spec = _canary(50, 50)
    changed = copy.deepcopy(spec)
    changed["http"][0]["match"] = [{"uri": {"prefix": "/api"}}]
    changed["http"][0]["route"][1]["destination"]["host"] = "api-v3"
    changed["http"][0]["route"][1]["headers"] = {"request": {"set": {"x-canary": "1"}}}
    assert _lines(_doc("VirtualService", "api", spec), _doc("VirtualService", "api", changed)) == [
        '~ VirtualService shop/api http[0] match: [{"uri":{"prefix":"/"}}] -> [{"uri":{"prefix":"/api"}}]',
        "~ VirtualService shop/api http[0] route: api-v1:8080 50, api-v2:8080 50 -> api-v1:8080 50, api-v3:8080 50",
        "+ VirtualService shop/api http[0] route[1] headers.request.set.x-canary (1)",
    ]


def test_server_hosts_port_tls_mode_and_credential() -> None:
    def gateway(mode: str, credential: str, hosts: list[str], port: int) -> bytes:
        server = {
            "port": {"number": port, "name": "https", "protocol": "HTTPS"},
            "hosts": hosts,
            "tls": {"mode": mode, "credentialName": credential, "minProtocolVersion": "TLSV1_2"},
        }
        return _doc("Gateway", "gw", {"selector": {"istio": "ingressgateway"}, "servers": [server]})

    old = gateway("SIMPLE", "a-cert", ["a.example.com"], 443)
    assert _lines(old, gateway("MUTUAL", "a-cert-v2", ["a.example.com"], 443)) == [
        "~ Gateway shop/gw :443 [a.example.com]: mode SIMPLE, credentialName a-cert -> "
        "mode MUTUAL, credentialName a-cert-v2"
    ]
    assert _lines(old, gateway("SIMPLE", "a-cert", ["a.example.com", "b.example.com"], 8443)) == [
        "- a.example.com on Gateway shop/gw :443",
        "+ a.example.com on Gateway shop/gw :8443",
        "+ b.example.com on Gateway shop/gw :8443",
        "- Gateway shop/gw :443/HTTPS",
        "+ Gateway shop/gw :8443/HTTPS",
        "- Gateway shop/gw :443 [a.example.com] (mode SIMPLE, credentialName a-cert)",
        "+ Gateway shop/gw :8443 [a.example.com,b.example.com] (mode SIMPLE, credentialName a-cert)",
    ]


def test_certificate_dns_names_and_issuer() -> None:
    cert = {"secretName": "c", "dnsNames": ["a.example.com"], "issuerRef": {"kind": "ClusterIssuer", "name": "le"}}
    other = {**cert, "issuerRef": {"kind": "Issuer", "name": "ca", "group": "cert-manager.io"}}
    assert _lines(_doc("Certificate", "c", cert), _doc("Certificate", "c", other)) == [
        "~ Certificate shop/c issuer: ClusterIssuer/le -> Issuer/ca",
        "+ Certificate shop/c issuer group (cert-manager.io)",
    ]


def test_access_logging() -> None:
    def telemetry(provider: str, expression: str | None) -> bytes:
        entry: dict[str, Any] = {"providers": [{"name": provider}], "disabled": False}
        if expression:
            entry["filter"] = {"expression": expression}
        return _doc("Telemetry", "logs", {"selector": {"matchLabels": {"a": "b"}}, "accessLogging": [entry]})

    assert _lines(telemetry("envoy", None), telemetry("otel", "response.code >= 500")) == [
        '+ Telemetry shop/logs accessLogging[0] filter ({"expression":"response.code >= 500"})',
        "~ Telemetry shop/logs accessLogging[0] providers: envoy -> otel",
    ]


def test_other_fields_fall_back_to_field_paths() -> None:
    vs = _canary(100, 0)
    moved = {**vs, "gateways": ["shop/gw", "mesh"]}
    assert _lines(_doc("VirtualService", "api", vs), _doc("VirtualService", "api", moved, labels={"team": "a"})) == [
        "+ VirtualService shop/api metadata.labels.team (a)",
        '~ VirtualService shop/api spec.gateways: ["shop/gw"] -> ["shop/gw","mesh"]',
    ]
    app = {"destination": {"namespace": "shop"}, "source": {"path": "prod", "targetRevision": "main"}}
    moved_app = {**app, "source": {"path": "clusters/prod", "targetRevision": "main"}}
    assert _lines(_doc("Application", "prod", app), _doc("Application", "prod", moved_app)) == [
        "~ Application shop/prod spec.source.path: prod -> clusters/prod"
    ]


def test_a_changed_object_never_has_no_change() -> None:
    text = _doc("ConfigMap", "x", {"a": 1})
    assert _lines(text, b"# a comment\n" + text) == [
        "~ ConfigMap shop/x: same values, different text (formatting or comments)"
    ]
    assert _lines(text, b"- not a mapping\n") == ["~ ConfigMap shop/x: not a YAML mapping on one side; see the diff"]
    renamed = _doc("ConfigMap", "y", {"a": 1})
    assert _lines(text, renamed) == ["~ ConfigMap shop/y metadata.name: x -> y"]


def test_a_file_moved_to_another_path_is_the_same_object() -> None:
    doc = _doc("VirtualService", "api", _canary(95, 5))
    plan = compute_plan("prod", {"a/vs.yaml": doc}, {"b/vs.yaml": _doc("VirtualService", "api", _canary(90, 10))})
    assert [c.line() for c in plan.changes] == [
        "~ VirtualService shop/api http[0] route: api-v1:8080 95→90, api-v2:8080 5→10"
    ]
    assert [(o.path, o.action) for o in plan.objects] == [("a/vs.yaml", "removed"), ("b/vs.yaml", "added")]


def test_unchanged_files_are_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    from gwpipe.tree import plan as planning

    seen: list[list[str]] = []
    real = planning.read_objects

    def spy(files: dict[str, bytes]) -> Any:
        seen.append(sorted(files))
        return real(files)

    monkeypatch.setattr(planning, "read_objects", spy)
    same = _doc("VirtualService", "same", _canary(1, 99))
    old = {"same.yaml": same, "vs.yaml": _doc("VirtualService", "api", _canary(95, 5))}
    new_vs = _doc("VirtualService", "api", _canary(90, 10))
    parsed = {"vs.yaml": yaml.safe_load(new_vs)}
    compute_plan("prod", old, {"same.yaml": same, "vs.yaml": new_vs}, parsed=parsed)
    assert seen == [["vs.yaml"], []]  # the old side's one differing file; the new side came parsed


HOSTILE = {
    "plain.yaml": b"a: 1\nb: [x, y]\n",
    "anchors.yaml": b"a: &x {k: v}\nb: *x\n",
    "two-docs.yaml": b"a: 1\n---\nb: 2\n",
    "marker-start.yaml": b"---\na: 1\n",
    "no-newline.yaml": b"a: 1",
    "empty.yaml": b"",
    "list.yaml": b"- a\n",
    "bom.yaml": "\ufeffa: 1\n".encode(),
    "crlf.yaml": b"a: 1\r\nb: 2\r\n",
    "bad.yaml": b"a: [1\n",
    "latin1.yaml": "a: caf\xe9\n".encode("latin-1"),
    "utf16.yaml": "a: 1\n".encode("utf-16"),
    "directive.yaml": b"%YAML 1.1\n---\na: 1\n",
    "timestamps.yaml": b"t: 2024-01-01\nn: ~\nb: yes\no: 0o17\nf: .inf\n",
    "block.yaml": b"a: |\n  line\n  ---\nb: >-\n  x\n",
    "tag.yaml": b"a: !!str 1\n",
    "merge.yaml": b"base: &b {x: 1}\nm:\n  <<: *b\n  y: 2\n",
}


@pytest.mark.parametrize("fast", ["1", "0"])
def test_reader_gives_what_load_object_gives(fast: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GWPIPE_FAST", fast)
    assert read_objects(HOSTILE) == {path: load_object(data) for path, data in HOSTILE.items()}
    good = {p: d for p, d in HOSTILE.items() if p in ("plain.yaml", "timestamps.yaml", "block.yaml")}
    assert read_objects(good) == {path: load_object(data) for path, data in good.items()}


def test_the_render_parse_reused_by_the_plan_is_what_its_bytes_read_as(tmp_path: Path) -> None:
    from delivery.harness import spec, write_env

    from gwpipe.engine import Pipeline

    path = write_env(tmp_path, "prod", spec(["a.example.com", "b.example.com"]))
    pipeline = Pipeline()
    bundle = pipeline.build(pipeline.load(path))
    parsed = {obj.path: obj.obj for obj in bundle.objects}
    assert parsed == {p: load_object(bundle.files[p]) for p in parsed}
    old = {p: d.replace(b"a.example.com", b"c.example.com") for p, d in bundle.files.items()}
    reused = compute_plan("prod", old, bundle.files, pm=bundle.plugins, parsed=parsed)
    assert reused.as_dict() == compute_plan("prod", old, bundle.files, pm=bundle.plugins).as_dict()
    assert "+ a.example.com on Gateway shop/public-gw :80" in reused.to_text()
