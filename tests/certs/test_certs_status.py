"""`gwpipe certs status` against the Kubernetes API stand-in: one test per problem it must report."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from certs_helpers import Material, material, run, tls_data
from stand_ins.kube_api import KubeApiStandIn, certificate


def status(shop: Path, kubeconfig: Path, *extra: str) -> tuple[int, str, str]:
    result = run("certs", "status", "shop", "--specs", str(shop), "--kubeconfig", str(kubeconfig), *extra)
    return result.exit_code, result.stdout, result.stderr


def errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error: ")]


def assert_no_key(healthy: dict[str, Material], *outputs: str) -> None:
    for output in outputs:
        assert "PRIVATE KEY" not in output
        for m in healthy.values():
            body = m.key.decode().splitlines()[1]
            assert body not in output


def test_healthy_cluster_exits_0_with_a_row_per_credential(
    shop: Path, kubeconfig: Path, healthy: dict[str, Material]
) -> None:
    code, out, err = status(shop, kubeconfig)
    assert (code, err) == (0, "")
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if line.startswith("│ edge/")}
    assert sorted(rows) == ["edge/a-cred", "edge/b-cred"]
    assert re.search(r"│ SIMPLE\s+│ a\.example\.com\s+│ Ready\s+│ 20\d\d-\d\d-\d\d \(8\dd\)", rows["edge/a-cred"])
    assert re.search(r"│ MUTUAL\s+│ b\.example\.com\s+│ - \(none rendered\)", rows["edge/b-cred"])
    assert all(line.rstrip().endswith("ok  │") or "│ ok" in line for line in rows.values())
    assert_no_key(healthy, out, err)


def test_json_output_is_parsed_fields(shop: Path, kubeconfig: Path, healthy: dict[str, Material]) -> None:
    code, out, err = status(shop, kubeconfig, "--output", "json")
    doc = json.loads(out)
    assert (code, err, doc["ok"], doc["errors"]) == (0, "", True, [])
    assert doc["context"] == "kind-gwpipe/kind-gwpipe"
    a, b = doc["credentials"]
    assert (a["name"], a["namespace"], a["mode"], a["hosts"], a["gateways"]) == (
        "a-cred",
        "edge",
        "SIMPLE",
        ["a.example.com"],
        ["shop/web"],
    )
    assert a["certificate"]["ready"] == "True"
    assert a["certificate"]["issuer"] == "ClusterIssuer/dev-ca"
    assert a["certificate"]["renewalTime"] == "2098-12-01T00:00:00Z"
    assert a["secret"]["keys"] == ["tls.crt", "tls.key"]
    assert a["secret"]["dnsNames"] == ["a.example.com"]
    assert re.fullmatch(r"20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ", a["secret"]["notAfter"])
    assert (b["mode"], b["certificate"], b["secret"]["clientCA"]) == ("MUTUAL", None, "Secret edge/b-cred")
    assert_no_key(healthy, out)


def test_certificate_not_ready_reports_reason_and_message(
    shop: Path, kubeconfig: Path, kube: KubeApiStandIn, healthy: dict[str, Material]
) -> None:
    kube.add_certificate(
        certificate(
            "edge",
            "a-cred",
            dns_names=["a.example.com"],
            ready="False",
            reason="DoesNotExist",
            message="Issuing certificate as Secret does not exist",
        )
    )
    code, out, err = status(shop, kubeconfig)
    assert code == 1
    assert errors(err) == [
        "error: Certificate edge/a-cred: not ready (Ready=False): DoesNotExist: Issuing certificate as Secret does not exist"
    ]
    assert re.search(r"│ edge/a-cred .*│ not ready: DoesNotExist .*│ 1 problem", out)


def test_certificate_without_ready_condition(
    shop: Path, kubeconfig: Path, kube: KubeApiStandIn, healthy: dict[str, Material]
) -> None:
    kube.add_certificate(certificate("edge", "a-cred", dns_names=["a.example.com"], ready=None))
    code, _out, err = status(shop, kubeconfig)
    assert (code, errors(err)) == (1, ["error: Certificate edge/a-cred: not ready: no Ready condition yet"])


def test_certificate_missing_in_cluster(
    shop: Path, kubeconfig: Path, kube: KubeApiStandIn, healthy: dict[str, Material]
) -> None:
    del kube.certificates[("edge", "a-cred")]
    code, _out, err = status(shop, kubeconfig)
    assert (code, errors(err)) == (1, ["error: Certificate edge/a-cred: not found in the cluster"])


def test_certificate_issuer_and_secret_name_drift(
    shop: Path, kubeconfig: Path, kube: KubeApiStandIn, healthy: dict[str, Material]
) -> None:
    kube.add_certificate(
        certificate(
            "edge", "a-cred", secret_name="other", dns_names=["a.example.com"], issuer=("Issuer", "letsencrypt")
        )
    )
    code, _out, err = status(shop, kubeconfig)
    assert code == 1
    assert errors(err) == [
        "error: Certificate edge/a-cred: issuerRef is Issuer/letsencrypt, the environment expects ClusterIssuer/dev-ca",
        "error: Certificate edge/a-cred: secretName is 'other', the Gateway expects 'a-cred'",
    ]


def test_expiring_within_threshold_fails_and_a_shorter_threshold_passes(
    shop: Path, kubeconfig: Path, kube: KubeApiStandIn, healthy: dict[str, Material]
) -> None:
    kube.add_secret("edge", "a-cred", tls_data(material(["a.example.com"], days=5)))
    code, _out, err = status(shop, kubeconfig)
    assert code == 1
    [line] = errors(err)
    assert re.fullmatch(
        r"error: Secret edge/a-cred: certificate in tls\.crt expires on 20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ, in 4d, "
        r"within the 14d threshold",
        line,
    )
    code, _out, err = status(shop, kubeconfig, "--threshold", "3d")
    assert (code, err) == (0, "")
    code, _out, err = status(shop, kubeconfig, "--threshold", "1w")
    assert code == 1
    assert errors(err)[0].endswith("within the 7d threshold")


def test_expired_certificate(shop: Path, kubeconfig: Path, kube: KubeApiStandIn, healthy: dict[str, Material]) -> None:
    kube.add_secret("edge", "b-cred", tls_data(material(["b.example.com"], days=30, issued_days_ago=100), ca=True))
    code, out, err = status(shop, kubeconfig)
    assert code == 1
    [line] = errors(err)
    assert re.fullmatch(
        r"error: Secret edge/b-cred: certificate in tls\.crt expired on 20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ", line
    )
    assert re.search(r"│ edge/b-cred .*\(expired\)", out)


def test_certificate_status_not_after_is_used_when_the_secret_is_missing(
    shop: Path, kubeconfig: Path, kube: KubeApiStandIn, healthy: dict[str, Material]
) -> None:
    del kube.secrets[("edge", "a-cred")]
    kube.add_certificate(certificate("edge", "a-cred", dns_names=["a.example.com"], not_after="2020-01-01T00:00:00Z"))
    code, _out, err = status(shop, kubeconfig)
    assert code == 1
    assert errors(err) == [
        "error: Secret edge/a-cred: not found in the gateway workload namespace",
        "error: Certificate edge/a-cred: status.notAfter expired on 2020-01-01T00:00:00Z",
    ]


def test_dns_names_not_covering_a_host_single_label_wildcards(
    shop: Path, kubeconfig: Path, kube: KubeApiStandIn, healthy: dict[str, Material]
) -> None:
    kube.add_certificate(certificate("edge", "a-cred", dns_names=["*.a.example.com", "example.com"]))
    kube.add_secret("edge", "a-cred", tls_data(material(["*.example.com"])))
    code, _out, err = status(shop, kubeconfig)
    assert code == 1
    # *.example.com covers a.example.com (one label); *.a.example.com and example.com do not
    assert errors(err) == ["error: Certificate edge/a-cred: dnsNames do not cover host(s) a.example.com"]


def test_leaf_sans_not_covering_a_host(
    shop: Path, kubeconfig: Path, kube: KubeApiStandIn, healthy: dict[str, Material]
) -> None:
    kube.add_secret("edge", "b-cred", tls_data(material(["*.b.example.com"]), ca=True))
    code, _out, err = status(shop, kubeconfig)
    assert (code, errors(err)) == (
        1,
        ["error: Secret edge/b-cred: certificate in tls.crt has no SAN covering host(s) b.example.com"],
    )


def test_secret_missing(shop: Path, kubeconfig: Path, kube: KubeApiStandIn, healthy: dict[str, Material]) -> None:
    del kube.secrets[("edge", "b-cred")]
    code, out, err = status(shop, kubeconfig)
    assert (code, errors(err)) == (1, ["error: Secret edge/b-cred: not found in the gateway workload namespace"])
    assert re.search(r"│ edge/b-cred .*│ 1 problem", out)


def test_secret_in_the_gateway_namespace_instead_of_the_workload_namespace(
    shop: Path, kubeconfig: Path, kube: KubeApiStandIn, healthy: dict[str, Material]
) -> None:
    kube.secrets[("shop", "b-cred")] = kube.secrets.pop(("edge", "b-cred"))
    code, _out, err = status(shop, kubeconfig)
    assert (code, errors(err)) == (
        1,
        [
            "error: Secret edge/b-cred: not found; a Secret 'b-cred' exists in namespace(s) shop, but istio reads "
            "credentials only from the gateway workload namespace 'edge'"
        ],
    )


def test_missing_tls_key(shop: Path, kubeconfig: Path, kube: KubeApiStandIn, healthy: dict[str, Material]) -> None:
    kube.add_secret("edge", "a-cred", {"tls.crt": healthy["a-cred"].crt})
    code, out, err = status(shop, kubeconfig)
    assert (code, errors(err)) == (1, ["error: Secret edge/a-cred: has no tls.key"])
    assert_no_key(healthy, out, err)


def test_key_of_another_certificate(
    shop: Path, kubeconfig: Path, kube: KubeApiStandIn, healthy: dict[str, Material]
) -> None:
    other = material(["a.example.com"])
    kube.add_secret("edge", "a-cred", {"tls.crt": healthy["a-cred"].crt, "tls.key": other.key})
    code, out, err = status(shop, kubeconfig, "--debug")
    assert (code, errors(err)) == (
        1,
        ["error: Secret edge/a-cred: private key does not belong to the certificate in tls.crt"],
    )
    assert_no_key({**healthy, "other": other}, out, err)


def test_garbage_certificate_and_key(
    shop: Path, kubeconfig: Path, kube: KubeApiStandIn, healthy: dict[str, Material]
) -> None:
    kube.add_secret(
        "edge", "a-cred", {"tls.crt": b"not a certificate", "tls.key": b"-----BEGIN PRIVATE KEY-----\nsecretbody\n"}
    )
    code, out, err = status(shop, kubeconfig)
    assert (code, errors(err)) == (1, ["error: Secret edge/a-cred: tls.crt is not a PEM certificate"])
    assert "secretbody" not in out + err


def test_mutual_without_client_ca(
    shop: Path, kubeconfig: Path, kube: KubeApiStandIn, healthy: dict[str, Material]
) -> None:
    kube.add_secret("edge", "b-cred", tls_data(healthy["b-cred"]))
    code, _out, err = status(shop, kubeconfig)
    assert (code, errors(err)) == (
        1,
        ["error: Secret edge/b-cred: MUTUAL needs a client CA: ca.crt in this Secret or a Secret 'b-cred-cacert'"],
    )


def test_mutual_with_a_cacert_secret_passes(
    shop: Path, kubeconfig: Path, kube: KubeApiStandIn, healthy: dict[str, Material]
) -> None:
    kube.add_secret("edge", "b-cred", tls_data(healthy["b-cred"]))
    kube.add_secret("edge", "b-cred-cacert", {"ca.crt": healthy["b-cred"].ca}, type_="Opaque")
    code, out, err = status(shop, kubeconfig, "--output", "json")
    assert (code, err) == (0, "")
    assert json.loads(out)["credentials"][1]["secret"]["clientCA"] == "Secret edge/b-cred-cacert"


def test_cacert_secret_without_ca_key(
    shop: Path, kubeconfig: Path, kube: KubeApiStandIn, healthy: dict[str, Material]
) -> None:
    kube.add_secret("edge", "b-cred-cacert", {"tls.crt": healthy["b-cred"].ca}, type_="Opaque")
    code, _out, err = status(shop, kubeconfig)
    assert (code, errors(err)) == (1, ["error: Secret edge/b-cred-cacert: has no ca.crt or cacert"])


def test_declared_ca_source_is_strict(
    spec_dir: Path, kubeconfig: Path, kube: KubeApiStandIn, healthy: dict[str, Material]
) -> None:
    from certs_helpers import SHOP

    from gwpipe.testing import write_spec

    spec = json.loads(json.dumps(SHOP))
    spec["hosts"]["b.example.com"]["mtls"]["caSource"] = "cacert-secret"
    write_spec(spec_dir, spec, name="shop")
    code, _out, err = status(spec_dir, kubeconfig)  # ca.crt sits in the Secret, but the spec says elsewhere
    assert (code, errors(err)) == (
        1,
        ["error: Secret edge/b-cred: MUTUAL with caSource cacert-secret needs Secret edge/b-cred-cacert with ca.crt"],
    )


# --- API failures: one line naming cluster and context, exit 1, no traceback, no token -------------------------


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (
            "token",
            r"get Certificate edge/a-cred: unauthorized \(401\): the kubeconfig credentials were rejected",
        ),
        (
            "forbid-secrets",
            r'get Secret edge/a-cred: forbidden \(403\): secrets "a-cred" is forbidden: User '
            r'"system:serviceaccount:dev:gwpipe" cannot get resource "secrets" in API group "" in the namespace "edge"',
        ),
        (
            "no-cert-manager",
            r"get Certificate edge/a-cred: not found \(404\): the cert-manager\.io/v1 Certificate API is not served; "
            r"is cert-manager installed\?",
        ),
        ("slow", r"get Certificate edge/a-cred: timed out after 0\.3s \(http://127\.0\.0\.1:\d+\)"),
    ],
)
def test_api_failures_are_one_line(
    tmp_path: Path, shop: Path, kube: KubeApiStandIn, healthy: dict[str, Material], setup: str, message: str
) -> None:
    kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig", context="dev", cluster="kind-dev")
    if setup == "token":
        kube.token = "rotated-token-value"
    elif setup == "forbid-secrets":
        kube.forbidden.add(("get", "secrets", "edge"))
    elif setup == "no-cert-manager":
        kube.cert_manager = False
    else:
        kube.delay = 3.0
    result = run("certs", "status", "shop", "--specs", str(shop), "--kubeconfig", str(kubeconfig), "--timeout", "0.3")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert re.fullmatch(rf"error: kind-dev/dev: {message}\n", result.stderr)
    assert "stand-in-token" not in result.stderr
    assert "Traceback" not in result.stderr


def test_timeout_is_one_attempt(tmp_path: Path, shop: Path, kube: KubeApiStandIn, healthy: dict[str, Material]) -> None:
    kube.delay = 3.0
    kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig")
    result = run("certs", "status", "shop", "--specs", str(shop), "--kubeconfig", str(kubeconfig), "--timeout", "0.2")
    assert result.exit_code == 1
    # urllib3 would retry a read timeout three times by default; gwpipe asks once
    assert kube.received == [("GET", "/apis/cert-manager.io/v1/namespaces/edge/certificates/a-cred")]


def test_connection_refused(tmp_path: Path, shop: Path) -> None:
    with KubeApiStandIn().running() as gone:
        kubeconfig = gone.write_kubeconfig(tmp_path / "kubeconfig")
    result = run("certs", "status", "shop", "--specs", str(shop), "--kubeconfig", str(kubeconfig))
    assert result.exit_code == 1
    assert re.fullmatch(
        r"error: kind-gwpipe/kind-gwpipe: get Certificate edge/a-cred: connection refused \(http://127\.0\.0\.1:\d+\)\n",
        result.stderr,
    )


def test_json_output_of_an_api_failure(tmp_path: Path, shop: Path, kube: KubeApiStandIn) -> None:
    kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig")
    kube.token = "other"
    result = run("certs", "status", "shop", "--specs", str(shop), "--kubeconfig", str(kubeconfig), "--output", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["ok"] is False


# --- choosing the kubeconfig and context as kubectl does; usage errors exit 2 -------------------------------


def test_kubeconfig_from_environment_and_context_option(
    tmp_path: Path, shop: Path, kube: KubeApiStandIn, healthy: dict[str, Material], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = kube.write_kubeconfig(tmp_path / "one", context="one", cluster="c1")
    second = kube.write_kubeconfig(tmp_path / "two", context="two", cluster="c2", token="wrong")
    monkeypatch.setenv("KUBECONFIG", f"{second}:{first}")
    result = run("certs", "status", "shop", "--specs", str(shop), "--context", "one")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout.startswith("certificates in c1/one\n")
    # as kubectl: the first file that sets current-context wins (the client library alone would take the last)
    result = run("certs", "status", "shop", "--specs", str(shop))
    assert result.exit_code == 1
    assert re.fullmatch(r"error: c2/two: get Certificate edge/a-cred: unauthorized \(401\): .*\n", result.stderr)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBECONFIG")
    (tmp_path / ".kube").mkdir()
    kube.write_kubeconfig(tmp_path / ".kube" / "config", context="home", cluster="c3")
    result = run("certs", "status", "shop", "--specs", str(shop))
    assert (result.exit_code, result.stdout.splitlines()[0]) == (0, "certificates in c3/home")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--threshold", "14x"], r"error: --threshold: expected a duration such as 14d, 36h or 2w, got '14x'"),
        (["--context", "nope"], r"error: kubeconfig .*/kubeconfig: no context 'nope'; allowed: kind-gwpipe"),
        (["--kubeconfig", "/nonexistent/kc"], r"error: kubeconfig /nonexistent/kc: no such file"),
    ],
)
def test_usage_errors_exit_2(shop: Path, kubeconfig: Path, args: list[str], message: str) -> None:
    result = run("certs", "status", "shop", "--specs", str(shop), "--kubeconfig", str(kubeconfig), *args)
    assert result.exit_code == 2
    assert re.match(rf"{message}\n", result.stderr)


def test_unknown_environment_exits_2(tmp_path: Path, kubeconfig: Path) -> None:
    result = run("certs", "status", "nope", "--specs", str(tmp_path), "--kubeconfig", str(kubeconfig))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")


def test_an_environment_without_tls_needs_no_cluster(spec_dir: Path, tmp_path: Path) -> None:
    from gwpipe.testing import write_spec

    examples = Path(__file__).resolve().parents[2] / "examples" / "walkthrough"
    write_spec(spec_dir, (examples / "01-http.yaml").read_text(encoding="utf-8"), name="01-http")
    result = run("certs", "status", "01-http", "--specs", str(spec_dir), "--kubeconfig", str(tmp_path / "absent"))
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == "01-http: no Gateway server references a credentialName; nothing to check\n"
    result = run("certs", "dev", "01-http", "--specs", str(spec_dir), "--out", str(tmp_path / "out"))
    assert (result.exit_code, result.stdout) == (
        0,
        "01-http: no Gateway server references a credentialName; nothing to generate\n",
    )
    assert not (tmp_path / "out").exists()


def test_the_command_module_imports_only_click_and_the_standard_library() -> None:
    import subprocess
    import sys

    code = (
        "import sys, gwpipe.cli.commands.certs; "
        "print(sorted(m for m in ('kubernetes', 'cryptography', 'rich', 'gwpipe.certs', 'yaml') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout == "[]\n"


def test_debug_shows_a_traceback_but_no_token_and_no_key(
    tmp_path: Path, shop: Path, kube: KubeApiStandIn, healthy: dict[str, Material]
) -> None:
    kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig", token="canary-token-5f1e")
    kube.forbidden.add(("get", "secrets", "edge"))
    kube.token = "canary-token-5f1e"
    result = run("--debug", "certs", "status", "shop", "--specs", str(shop), "--kubeconfig", str(kubeconfig))
    assert result.exit_code == 1
    assert "Traceback" in result.stderr
    assert "canary-token-5f1e" not in result.stdout + result.stderr
    assert_no_key(healthy, result.stdout, result.stderr)


def test_cluster_text_with_key_material_is_redacted(
    shop: Path, kubeconfig: Path, kube: KubeApiStandIn, healthy: dict[str, Material]
) -> None:
    pem = healthy["b-cred"].key.decode()
    kube.add_certificate(
        certificate("edge", "a-cred", dns_names=["a.example.com"], ready="False", reason="Failed", message=f"bad {pem}")
    )
    for output in ("text", "json"):
        code, out, err = status(shop, kubeconfig, "--output", output)
        assert code == 1
        assert re.fullmatch(
            r"error: Certificate edge/a-cred: not ready \(Ready=False\): Failed: bad <redacted, \d+ bytes>",
            errors(err)[0],
        )
        assert_no_key(healthy, out, err)
