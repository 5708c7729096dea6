"""The ingress plan: semantic changes per category, three renderings, and the comment-size limit."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from gwpipe.tree.plan import COMMENT_LIMIT, compute_plan


def _doc(kind: str, name: str, spec: dict[str, Any], ns: str = "istio-system") -> bytes:
    return yaml.safe_dump(
        {"apiVersion": "v1", "kind": kind, "metadata": {"name": name, "namespace": ns}, "spec": spec}
    ).encode()


def _gateway(servers: list[dict[str, Any]]) -> bytes:
    return _doc("Gateway", "gw", {"selector": {"istio": "ingressgateway"}, "servers": servers})


HTTP = {"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["a.example.com"]}


def _https(mode: str, cred: str, hosts: list[str]) -> dict[str, Any]:
    return {
        "port": {"number": 443, "name": "https", "protocol": "HTTPS"},
        "hosts": hosts,
        "tls": {"mode": mode, "credentialName": cred},
    }


def _lines(previous: dict[str, bytes], desired: dict[str, bytes]) -> list[str]:
    return [c.line() for c in compute_plan("prod", previous, desired).changes]


def test_hosts_ports_and_tls_changes() -> None:
    old = {"g.yaml": _gateway([HTTP, _https("SIMPLE", "a-cert", ["a.example.com"])])}
    new = {
        "g.yaml": _gateway(
            [
                {**HTTP, "tls": {"httpsRedirect": True}},
                _https("MUTUAL", "a-cert-v2", ["a.example.com", "b.example.com"]),
                {"port": {"number": 31400, "name": "tcp", "protocol": "TCP"}, "hosts": ["*"]},
            ]
        )
    }
    plan = compute_plan("prod", old, new)
    by_category = {
        c: [x.line() for x in plan.changes if x.category == c] for c in ("hosts", "ports", "tls", "redirects")
    }
    assert by_category["hosts"] == [
        "+ * on Gateway istio-system/gw :31400",
        "+ b.example.com on Gateway istio-system/gw :443",
    ]
    assert by_category["ports"] == ["+ Gateway istio-system/gw :31400/TCP"]
    assert by_category["tls"] == [
        "+ Gateway istio-system/gw :443 [a.example.com,b.example.com] (mode MUTUAL, credentialName a-cert-v2)",
        "- Gateway istio-system/gw :443 [a.example.com] (mode SIMPLE, credentialName a-cert)",
    ]
    assert by_category["redirects"] == ["+ Gateway istio-system/gw :80 [a.example.com] httpsRedirect"]
    assert [o.action for o in plan.objects] == ["changed"]


def test_tls_mode_change_on_same_hosts_is_one_change_line() -> None:
    old = {"g.yaml": _gateway([_https("SIMPLE", "c1", ["a.example.com"])])}
    new = {"g.yaml": _gateway([_https("MUTUAL", "c1", ["a.example.com"])])}
    assert _lines(old, new) == [
        "~ Gateway istio-system/gw :443 [a.example.com]: mode SIMPLE, credentialName c1 -> mode MUTUAL, credentialName c1"
    ]


def test_certificates_installs_and_control_plane() -> None:
    cert = {"secretName": "a-cert", "dnsNames": ["a.example.com"], "issuerRef": {"kind": "ClusterIssuer", "name": "le"}}
    iop = {
        "components": {
            "ingressGateways": [{"name": "istio-ingressgateway", "enabled": True}],
            "pilot": {"k8s": {"env": [{"name": "PILOT_FILTER_GATEWAY_CLUSTER_CONFIG", "value": "false"}]}},
        },
        "meshConfig": {"accessLogFile": "/dev/stdout"},
    }
    old = {"c.yaml": _doc("Certificate", "a", cert), "iop.yaml": _doc("IstioOperator", "main", iop)}
    iop2 = json.loads(json.dumps(iop))
    iop2["components"]["ingressGateways"].append({"name": "internal-gw", "enabled": True, "namespace": "internal"})
    iop2["components"]["pilot"]["k8s"]["env"][0]["value"] = "true"
    iop2["meshConfig"]["accessLogFile"] = ""
    new = {
        "c.yaml": _doc("Certificate", "a", {**cert, "dnsNames": ["a.example.com", "b.example.com"]}),
        "iop.yaml": _doc("IstioOperator", "main", iop2),
    }
    assert _lines(old, new) == [
        "~ Certificate istio-system/a dnsNames: a.example.com -> a.example.com,b.example.com",
        "+ IstioOperator istio-system/main ingressGateways internal-gw (enabled True, namespace internal, labels {}, "
        "service {})",
        "~ IstioOperator istio-system/main meshConfig.accessLogFile: /dev/stdout -> ",
        "~ IstioOperator istio-system/main pilot env PILOT_FILTER_GATEWAY_CLUSTER_CONFIG: false -> true",
    ]


def test_deployment_install_and_virtualservice_redirect() -> None:
    deploy = {
        "replicas": 2,
        "template": {
            "spec": {
                "containers": [
                    {
                        "name": "istio-proxy",
                        "image": "auto",
                        "env": [{"name": "ISTIO_META_ROUTER_MODE", "value": "standard"}],
                    }
                ]
            }
        },
    }
    vs = {"hosts": ["a.example.com"], "http": [{"match": [{"uri": {"prefix": "/old"}}], "redirect": {"uri": "/new"}}]}
    plan = compute_plan(
        "prod", {}, {"d.yaml": _doc("Deployment", "gw2", deploy), "v.yaml": _doc("VirtualService", "a", vs)}
    )
    assert [(c.category, c.action) for c in plan.changes] == [
        ("hosts", "added"),
        ("redirects", "added"),
        ("routes", "added"),
        ("installs", "added"),
        ("control-plane", "added"),
    ]


def test_three_renderings_are_deterministic() -> None:
    old = {"g.yaml": _gateway([HTTP])}
    new = {"g.yaml": _gateway([HTTP, _https("SIMPLE", "c", ["a.example.com"])]), "kustomization.yaml": b"x: 1\n"}
    one, two = compute_plan("prod", old, new, "main", "f" * 40), compute_plan("prod", old, new, "main", "f" * 40)
    assert one.to_markdown() == two.to_markdown()
    assert one.to_text() == two.to_text()
    assert one.to_json() == two.to_json()
    assert json.loads(one.to_json())["counts"] == {"added": 1, "changed": 1, "removed": 0}
    assert one.to_text().splitlines()[0] == "prod: 1 to add, 1 to change, 0 to remove"
    md = one.to_markdown()
    assert f"Base: `main` at `{'f' * 40}`" in md
    assert "<details><summary>Raw object diff</summary>" in md
    assert md.rstrip().endswith("</details>")


def test_empty_plan() -> None:
    files = {"g.yaml": _gateway([HTTP])}
    plan = compute_plan("prod", files, files)
    assert plan.empty
    assert plan.to_text() == "prod: no changes\n"
    assert "No changes." in plan.to_markdown()


def test_backticks_in_values_cannot_break_the_markdown() -> None:
    evil = "```\n</details>\n# injected"
    plan = compute_plan("prod", {}, {"x.yaml": _doc("ConfigMap", "x", {"data": evil})})
    md = plan.to_markdown()
    fences = re.findall(r"^(`{3,})diff$", md, flags=re.M)
    assert fences
    assert all(len(f) > 3 for f in fences)


def test_huge_plan_stays_under_the_comment_limit_and_counts_every_object() -> None:
    new = {
        f"ns/vs-{i}.yaml": _doc(
            "VirtualService",
            f"vs-{i}",
            {
                "hosts": [f"h{i}.example.com"],
                "http": [{"route": [{"destination": {"host": f"svc{i}", "port": {"number": 80}}}]}],
            },
            ns="ns",
        )
        for i in range(3000)
    }
    new["g.yaml"] = _gateway([{**HTTP, "hosts": [f"h{i}.example.com" for i in range(3000)]}])
    plan = compute_plan("prod", {}, new)
    md = plan.to_markdown()
    assert len(md) <= COMMENT_LIMIT
    left = re.search(r"\*\*(\d+) more objects changed, see the commit\*\*", md)
    shown = md.count("```diff")
    assert left
    assert int(left.group(1)) + shown == len(plan.objects)
    more = sum(int(n) for n in re.findall(r"… and (\d+) more \w[\w -]* changes, see the commit", md))
    listed = len(re.findall(r"^- [+~-] `", md, flags=re.M))
    kinds = sum(int(n) for n in re.findall(r"^- \+ (\d+) `", md, flags=re.M))
    assert kinds == len(plan.objects)  # every object counted in the per-kind summary
    assert listed + more == len(plan.changes)  # every semantic change shown or counted, none dropped


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=1, max_value=400), st.integers(min_value=2_000, max_value=COMMENT_LIMIT))
def test_markdown_never_exceeds_the_limit_nor_hides_a_change(count: int, limit: int) -> None:
    new = {f"v{i}.yaml": _doc("VirtualService", f"v{i}", {"hosts": [f"h{i}.e.com"]}) for i in range(count)}
    new["g.yaml"] = _gateway([{**HTTP, "hosts": [f"h{i}.e.com" for i in range(count)]}])
    plan = compute_plan("prod", {}, new)
    md = plan.to_markdown(limit=limit)
    assert len(md) <= limit or limit < 4_000
    shown = len(re.findall(r"^- [+~-] `(?!\d)", md, flags=re.M))
    hidden = sum(int(n) for n in re.findall(r"… and (\d+) more", md))
    assert shown + hidden >= len(plan.changes)
