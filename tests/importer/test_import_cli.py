"""`gwpipe import` on the command line: lossy reports, conflicts, passthrough, --base, the cluster form, failures."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from stand_ins.kube_api import KubeApiStandIn

from gwpipe.engine import Pipeline
from gwpipe.importer.conflicts import conflicts
from gwpipe.importer.model import ImportClaim, ImportContext

GATEWAY = {
    "apiVersion": "networking.istio.io/v1",
    "kind": "Gateway",
    "metadata": {"name": "public", "namespace": "shop"},
    "spec": {
        "selector": {"app": "istio-ingressgateway", "istio": "ingressgateway"},
        "servers": [{"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["shop.example.com"]}],
    },
}
VS = {
    "apiVersion": "networking.istio.io/v1beta1",
    "kind": "VirtualService",
    "metadata": {"name": "shop", "namespace": "shop"},
    "spec": {
        "hosts": ["shop.example.com"],
        "gateways": ["shop/public"],
        "http": [
            {
                "route": [{"destination": {"host": "webapp", "port": {"number": 80}}}],
                "fault": {"abort": {"httpStatus": 503, "percentage": {"value": 1}}},
            }
        ],
    },
}
RULE = {
    "apiVersion": "networking.istio.io/v1",
    "kind": "DestinationRule",
    "metadata": {"name": "webapp", "namespace": "shop"},
    "spec": {"host": "webapp", "trafficPolicy": {"tls": {"mode": "ISTIO_MUTUAL"}}},
}


def gwpipe(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["gwpipe", *args], cwd=cwd, capture_output=True, text=True, check=False)


def write(path: Path, *docs: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False), encoding="utf-8")
    return path


def test_lossy_import_lists_every_field_and_writes_nothing(tmp_path: Path) -> None:
    write(tmp_path / "in.yaml", GATEWAY, VS, RULE)
    done = gwpipe(tmp_path, "import", "in.yaml", "--env", "shop", "-o", "shop.yaml")
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        "read 3 objects: 1 expressed, 0 carried through, 2 lossy",
        "lossy: VirtualService shop/shop: spec.http[0].fault: no built-in plugin models HTTP fault injection"
        " (a hosts.*.routes[].fault key would)",
        "lossy: DestinationRule shop/webapp: (object): no plugin models kind DestinationRule"
        " (networking.istio.io/v1); carry it unchanged with --passthrough",
        "not written: shop.yaml; pass --allow-lossy to write a spec that drops the fields above",
    ]
    assert not (tmp_path / "shop.yaml").exists()


def test_passthrough_carries_an_unknown_kind_and_allow_lossy_writes(tmp_path: Path) -> None:
    write(tmp_path / "in.yaml", GATEWAY, VS, RULE)
    done = gwpipe(
        tmp_path,
        "import",
        "in.yaml",
        "--env",
        "shop",
        "-o",
        "shop.yaml",
        "--passthrough",
        "--allow-lossy",
        "--output",
        "json",
    )
    report = json.loads(done.stdout)
    assert done.returncode == 0, done.stderr
    assert report["carried"] == ["DestinationRule shop/webapp"]
    assert report["lossy"] == [
        {
            "object": "VirtualService shop/shop",
            "field": "spec.http[0].fault",
            "why": "no built-in plugin models HTTP fault injection (a hosts.*.routes[].fault key would)",
        }
    ]
    spec = yaml.safe_load((tmp_path / "shop.yaml").read_text(encoding="utf-8"))
    assert spec["passthrough"]["objects"] == [RULE]
    assert report["spec_lines"] == len((tmp_path / "shop.yaml").read_text(encoding="utf-8").splitlines())
    rendered = gwpipe(tmp_path, "render", "shop.yaml", "--out", "out")
    assert rendered.returncode == 0, rendered.stderr
    (path,) = (tmp_path / "out").rglob("destinationrule-webapp.yaml")
    carried = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert carried["spec"] == RULE["spec"]


def test_conflicts_name_both_objects(tmp_path: Path) -> None:
    other = {**GATEWAY, "metadata": {"name": "second", "namespace": "shop"}}
    stray = {**VS, "metadata": {"name": "stray", "namespace": "web"}, "spec": {**VS["spec"], "gateways": ["public"]}}
    assert [str(c) for c in conflicts([GATEWAY, other, stray])] == [
        "Gateway shop/public and Gateway shop/second: both serve host 'shop.example.com' on port 80 of the workload"
        " selected by app=istio-ingressgateway,istio=ingressgateway (IST0145); a spec binds each host to one Gateway",
        "VirtualService web/stray and Gateway shop/public: gateway reference 'public' resolves to web/public, which"
        " does not exist (IST0101); the Gateway is in namespace 'shop'",
    ]


def test_conflicting_manifests_fail_naming_both_objects(tmp_path: Path) -> None:
    write(tmp_path / "in.yaml", GATEWAY, {**GATEWAY, "metadata": {"name": "second", "namespace": "shop"}})
    done = gwpipe(tmp_path, "import", "in.yaml", "--env", "shop", "-o", "shop.yaml", "--allow-lossy")
    assert done.returncode == 1
    assert done.stdout.splitlines()[1:] == [
        "conflict: Gateway shop/public and Gateway shop/second: both serve host 'shop.example.com' on port 80 of the"
        " workload selected by app=istio-ingressgateway,istio=ingressgateway (IST0145); a spec binds each host to"
        " one Gateway",
        # no VirtualService binds the host, so neither Gateway keeps a server
        "not rendered: shop.yaml: gateways.public: Gateway shop/public has no servers; bind a host or a tcp entry to"
        " it, or remove it",
        "not rendered: shop.yaml: gateways.second: Gateway shop/second has no servers; bind a host or a tcp entry to"
        " it, or remove it",
        "not written: shop.yaml; the conflicts above leave no spec that renders",
    ]
    assert not (tmp_path / "shop.yaml").exists()


def test_base_writes_only_the_differences(tmp_path: Path) -> None:
    write(
        tmp_path / "in.yaml", GATEWAY, {**VS, "spec": {**VS["spec"], "http": [VS["spec"]["http"][0] | {"fault": None}]}}
    )
    (tmp_path / "in.yaml").write_text(
        (tmp_path / "in.yaml").read_text().replace("    fault: null\n", ""), encoding="utf-8"
    )
    (tmp_path / "_base.yaml").write_text("namespace: shop\ngateways:\n  public: {}\n", encoding="utf-8")
    done = gwpipe(tmp_path, "import", "in.yaml", "--env", "shop", "-o", "shop.yaml", "--base", "_base.yaml")
    assert done.returncode == 0, done.stdout + done.stderr
    spec = yaml.safe_load((tmp_path / "shop.yaml").read_text(encoding="utf-8"))
    assert spec["extends"] == "_base.yaml"
    assert "gateways" not in spec
    assert "namespace" not in spec
    assert spec["hosts"]["shop.example.com"]["routes"] == [{"destination": {"host": "webapp", "port": 80}}]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("kind: [unclosed\n", "error: bad.yaml:2:1: invalid YAML: expected ',' or ']', but got '<stream end>'"),
        (
            "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\n- just a list\n",
            "error: bad.yaml:5: not a Kubernetes object (needs apiVersion and kind)",
        ),
    ],
)
def test_bad_manifest_is_one_located_error(tmp_path: Path, content: str, expected: str) -> None:
    (tmp_path / "bad.yaml").write_text(content, encoding="utf-8")
    done = gwpipe(tmp_path, "import", "bad.yaml", "--env", "shop", "-o", "shop.yaml")
    assert done.returncode == 2
    assert done.stderr.splitlines()[0].replace(str(tmp_path) + "/", "") == expected
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "shop.yaml").exists()


def test_missing_and_unreadable_inputs_are_located_errors(tmp_path: Path) -> None:
    done = gwpipe(tmp_path, "import", "missing.yaml", "--env", "shop", "-o", "shop.yaml")
    assert (done.returncode, done.stderr.splitlines()) == (2, ["error: missing.yaml: no such file or folder"])
    (tmp_path / "latin1.yaml").write_bytes(b"\xffkind: Gateway\n")
    done = gwpipe(tmp_path, "import", "latin1.yaml", "--env", "shop", "-o", "shop.yaml")
    assert (done.returncode, done.stderr.splitlines()) == (
        2,
        ["error: latin1.yaml: cannot be read: 'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"],
    )
    assert not (tmp_path / "shop.yaml").exists()
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "comments.yaml").write_text("# nothing yet\n---\n")
    done = gwpipe(tmp_path, "import", "empty", "--env", "shop", "-o", "shop.yaml")
    assert (done.returncode, done.stderr.splitlines()) == (2, ["error: empty: no Kubernetes objects to import"])
    assert not (tmp_path / "shop.yaml").exists()


@pytest.fixture
def kube() -> Iterator[KubeApiStandIn]:
    """The Kubernetes API stand-in (tests/stand_ins/kube_api.py), serving the list API."""
    with KubeApiStandIn().running() as stand_in:
        yield stand_in


def test_cluster_form_strips_server_fields_and_round_trips(tmp_path: Path, kube: KubeApiStandIn) -> None:
    kube.add_object(GATEWAY, "gateways")
    exact = {
        **VS,
        "spec": {k: v for k, v in VS["spec"].items() if k != "http"}
        | {"http": [{"route": VS["spec"]["http"][0]["route"]}]},
    }
    stored = kube.add_object(exact, "virtualservices")
    assert "managedFields" in stored["metadata"]
    assert "status" in stored
    kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig")
    done = gwpipe(
        tmp_path,
        "import",
        "cluster:kind-gwpipe",
        "--namespace",
        "shop",
        "--env",
        "shop",
        "-o",
        "shop.yaml",
        "--kubeconfig",
        str(kubeconfig),
        "--output",
        "json",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["expressed"] == ["Gateway shop/public", "VirtualService shop/shop"]
    assert ("GET", "/apis/networking.istio.io/v1/namespaces/shop/gateways") in kube.received


PLURALS = {
    "Deployment": "deployments",
    "Service": "services",
    "Gateway": "gateways",
    "VirtualService": "virtualservices",
    "ServiceAccount": "serviceaccounts",
    "Role": "roles",
    "RoleBinding": "rolebindings",
}


def test_cluster_form_strips_defaulted_fields_of_an_injected_gateway(tmp_path: Path, kube: KubeApiStandIn) -> None:
    golden = Path(__file__).resolve().parents[1] / "golden" / "walkthrough" / "08-gateway-injection" / "istioinaction"
    for path in sorted(golden.glob("*.yaml")):
        obj = yaml.safe_load(path.read_text(encoding="utf-8"))
        kube.add_object(obj, PLURALS[obj["kind"]])
    served = kube.listed[("v1", "services")][0]
    assert served["spec"]["clusterIP"] == "10.96.0.17"
    assert served["spec"]["sessionAffinity"] == "None"
    kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig")
    done = gwpipe(
        tmp_path,
        "import",
        "cluster:kind-gwpipe",
        "--namespace",
        "istioinaction",
        "--env",
        "injected",
        "-o",
        "injected.yaml",
        "--kubeconfig",
        str(kubeconfig),
        "--output",
        "json",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert (report["lossy"], report["added"]) == ([], [])
    assert sorted(report["expressed"]) == [
        "Deployment istioinaction/my-user-gateway-injected",
        "Gateway istioinaction/echo-tcp-gateway",
        "Role istioinaction/my-user-gateway-injected",
        "RoleBinding istioinaction/my-user-gateway-injected",
        "Service istioinaction/my-user-gateway-injected",
        "ServiceAccount istioinaction/my-user-gateway-injected",
        "VirtualService istioinaction/tcp-echo-vs-from-gw",
    ]
    spec = yaml.safe_load((tmp_path / "injected.yaml").read_text(encoding="utf-8"))
    assert spec["workloads"]["my-user-gateway-injected"]["install"] == {"form": "injection"}


def test_unreachable_cluster_is_one_error(tmp_path: Path) -> None:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "gone",
        "clusters": [{"name": "gone", "cluster": {"server": "http://127.0.0.1:9"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "gone", "context": {"cluster": "gone", "user": "u"}}],
    }
    (tmp_path / "kubeconfig").write_text(yaml.safe_dump(config), encoding="utf-8")
    done = gwpipe(
        tmp_path,
        "import",
        "cluster:gone",
        "--namespace",
        "shop",
        "--env",
        "shop",
        "-o",
        "shop.yaml",
        "--kubeconfig",
        "kubeconfig",
        "--timeout",
        "2",
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "error: gone/gone: list gateways in namespace shop: connection refused (http://127.0.0.1:9)"
    ]
    assert not (tmp_path / "shop.yaml").exists()


def test_hook_gwpipe_import(tmp_path: Path) -> None:
    """Every built-in claims its objects through gwpipe_import; a claim is an ImportClaim with a spec fragment."""
    pipeline = Pipeline()
    context = ImportContext(environment="shop", objects=[GATEWAY, VS])
    results = pipeline.pm.hook.gwpipe_import(objects=[GATEWAY, VS], context=context)
    claims = [c for r in results for c in r]
    assert all(isinstance(c, ImportClaim) for c in claims)
    assert {c.ref for c in claims if c.ref} == {"Gateway shop/public", "VirtualService shop/shop"}
