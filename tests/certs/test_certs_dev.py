"""`gwpipe certs dev`: chains written outside any git repository, and applied as Secrets through the API stand-in."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from certs_helpers import SHOP, run
from click.testing import Result
from stand_ins.kube_api import KubeApiStandIn

from gwpipe.certs.dev import plan_credentials
from gwpipe.certs.expected import Credential
from gwpipe.errors import UsageError
from gwpipe.testing import write_spec

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "walkthrough"


def example(spec_dir: Path, name: str) -> Path:
    write_spec(spec_dir, (EXAMPLES / f"{name}.yaml").read_text(encoding="utf-8"), name=name)
    return spec_dir


def dev_apply(env: str, spec_dir: Path, out: Path, kubeconfig: Path) -> Result:
    """`gwpipe certs dev ENV --out OUT --kubeconfig KUBECONFIG --apply`, run in-process."""
    return run(
        "certs", "dev", env, "--specs", str(spec_dir), "--out", str(out), "--kubeconfig", str(kubeconfig), "--apply"
    )


def tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


def test_text_output_names_files_never_keys(tmp_path: Path, spec_dir: Path) -> None:
    example(spec_dir, "05-multi-host-tls")
    out = tmp_path / "dev-certs"
    result = run("certs", "dev", "05-multi-host-tls", "--specs", str(spec_dir), "--out", str(out), "--days", "30")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == (
        f"catalog-credential: wrote {out}/catalog-credential (ca.crt, tls.crt, tls.key) for catalog.istioinaction.io\n"
        f"webapp-credential: wrote {out}/webapp-credential (ca.crt, tls.crt, tls.key) for webapp.istioinaction.io\n"
    )
    assert tree(out) == [
        "catalog-credential",
        "catalog-credential/ca.crt",
        "catalog-credential/tls.crt",
        "catalog-credential/tls.key",
        "webapp-credential",
        "webapp-credential/ca.crt",
        "webapp-credential/tls.crt",
        "webapp-credential/tls.key",
    ]
    from cryptography import x509

    leaf = x509.load_pem_x509_certificates((out / "webapp-credential" / "tls.crt").read_bytes())[0]
    assert (leaf.not_valid_after_utc - leaf.not_valid_before_utc).days == 30  # 30 days from 5 minutes ago


@pytest.mark.parametrize("where", ["git", "gitops", "gitops-not-yet-a-repo"])
def test_refuses_folders_inside_repositories(tmp_path: Path, spec_dir: Path, where: str) -> None:
    example(spec_dir, "02-tls")
    repo = tmp_path / "repo"
    repo.mkdir()
    if where != "gitops-not-yet-a-repo":
        subprocess.run(["git", "init", "-q", str(repo)], check=True)
    out = repo / "deep" / "certs"
    extra = [] if where == "git" else ["--repo", str(repo)]
    result = run("certs", "dev", "02-tls", "--specs", str(spec_dir), "--out", str(out), *extra)
    assert result.exit_code == 2
    kind = "git repository" if where == "git" else "GitOps repository"
    real = repo.resolve()
    assert re.fullmatch(
        rf"error: {re.escape(str(out))}: is inside the {kind} {re.escape(str(real))}; private keys must never enter "
        rf"(a repository|it)\nhint: choose a folder outside any git repository, e.g\. ~/\.gwpipe-dev-certs\n",
        result.stderr,
    )
    assert not (repo / "deep").exists()


def test_refuses_a_symlinked_credential_folder(tmp_path: Path, spec_dir: Path) -> None:
    example(spec_dir, "02-tls")
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "webapp-credential").symlink_to(elsewhere)
    result = run("certs", "dev", "02-tls", "--specs", str(spec_dir), "--out", str(out))
    assert result.exit_code == 1
    assert result.stderr == f"error: {out}/webapp-credential: is not a folder (symlinks are refused)\n"
    assert tree(elsewhere) == []


def test_a_symlinked_key_file_is_replaced_not_written_through(tmp_path: Path, spec_dir: Path) -> None:
    example(spec_dir, "02-tls")
    out = tmp_path / "out"
    (out / "webapp-credential").mkdir(parents=True)
    victim = tmp_path / "victim.txt"
    victim.write_text("untouched\n")
    (out / "webapp-credential" / "tls.key").symlink_to(victim)
    result = run("certs", "dev", "02-tls", "--specs", str(spec_dir), "--out", str(out))
    assert result.exit_code == 0
    assert victim.read_text() == "untouched\n"
    key = out / "webapp-credential" / "tls.key"
    assert not key.is_symlink()
    assert oct(key.stat().st_mode & 0o777) == "0o600"


def test_apply_creates_then_updates_the_secret_and_status_is_clean(
    tmp_path: Path, spec_dir: Path, kube: KubeApiStandIn, kubeconfig: Path
) -> None:
    example(spec_dir, "04-mtls")
    out = tmp_path / "out"
    args = ["certs", "dev", "04-mtls", "--specs", str(spec_dir), "--out", str(out), "--kubeconfig", str(kubeconfig)]
    result = run(*args, "--apply")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout.splitlines()[1] == "webapp-credential-mtls: created Secret istio-system/webapp-credential-mtls"
    folder = out / "webapp-credential-mtls"
    stored = kube.secrets[("istio-system", "webapp-credential-mtls")]
    assert stored["type"] == "kubernetes.io/tls"
    assert stored["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "gwpipe"}
    assert kube.secret_data("istio-system", "webapp-credential-mtls") == {
        "tls.crt": (folder / "tls.crt").read_bytes(),
        "tls.key": (folder / "tls.key").read_bytes(),
        "ca.crt": (folder / "ca.crt").read_bytes(),
    }
    assert "PRIVATE KEY" not in result.stdout + result.stderr

    again = run(*args, "--apply", "--output", "json")
    assert again.exit_code == 0
    [credential] = json.loads(again.stdout)["credentials"]
    assert credential["applied"] == ["updated Secret istio-system/webapp-credential-mtls"]
    writes = [(m, p.split("?")[0]) for m, p, code in kube.log if m != "GET" and "dryRun" not in p]
    assert writes == [
        ("POST", "/api/v1/namespaces/istio-system/secrets"),
        ("PUT", "/api/v1/namespaces/istio-system/secrets/webapp-credential-mtls"),
    ]
    assert kube.secret_data("istio-system", "webapp-credential-mtls")["tls.crt"] == (folder / "tls.crt").read_bytes()

    status = run("certs", "status", "04-mtls", "--specs", str(spec_dir), "--kubeconfig", str(kubeconfig))
    assert (status.exit_code, status.stderr) == (0, "")


def test_apply_with_a_cacert_secret(tmp_path: Path, spec_dir: Path, kube: KubeApiStandIn, kubeconfig: Path) -> None:
    spec = json.loads(json.dumps(SHOP))
    del spec["hosts"]["a.example.com"]["tls"]["certificate"]  # no cert-manager: dev Secrets for both hosts
    spec["hosts"]["b.example.com"]["mtls"]["caSource"] = "cacert-secret"
    write_spec(spec_dir, spec, name="shop")
    out = tmp_path / "out"
    result = dev_apply("shop", spec_dir, out, kubeconfig)
    assert (result.exit_code, result.stderr) == (0, "")
    assert sorted(kube.secrets) == [("edge", "a-cred"), ("edge", "b-cred"), ("edge", "b-cred-cacert")]
    assert sorted(kube.secret_data("edge", "b-cred")) == ["tls.crt", "tls.key"]
    assert kube.secret_data("edge", "b-cred-cacert") == {"ca.crt": (out / "b-cred" / "ca.crt").read_bytes()}
    assert kube.secrets[("edge", "b-cred-cacert")]["type"] == "Opaque"
    assert tree(out / "b-cred") == ["ca.crt", "client.crt", "client.key", "tls.crt", "tls.key"]
    status = run("certs", "status", "shop", "--specs", str(spec_dir), "--kubeconfig", str(kubeconfig))
    assert (status.exit_code, status.stderr) == (0, "")


def test_apply_never_overwrites_a_cert_manager_secret_and_writes_nothing(
    tmp_path: Path, spec_dir: Path, kube: KubeApiStandIn, kubeconfig: Path
) -> None:
    example(spec_dir, "02-tls")
    kube.add_secret(
        "istio-system",
        "webapp-credential",
        {"tls.crt": b"x", "tls.key": b"y"},
        annotations={"cert-manager.io/certificate-name": "webapp"},
    )
    out = tmp_path / "out"
    result = dev_apply("02-tls", spec_dir, out, kubeconfig)
    assert result.exit_code == 1
    assert result.stderr == (
        "error: Secret istio-system/webapp-credential: is issued by cert-manager Certificate 'webapp'; not overwritten\n"
    )
    assert not out.exists()
    assert kube.secret_data("istio-system", "webapp-credential") == {"tls.crt": b"x", "tls.key": b"y"}


def test_apply_forbidden_is_found_by_the_dry_run_before_any_file(
    tmp_path: Path, spec_dir: Path, kube: KubeApiStandIn, kubeconfig: Path
) -> None:
    example(spec_dir, "02-tls")
    kube.forbidden.add(("create", "secrets", "istio-system"))
    out = tmp_path / "out"
    result = dev_apply("02-tls", spec_dir, out, kubeconfig)
    assert result.exit_code == 1
    assert result.stderr == (
        "error: kind-gwpipe/kind-gwpipe: create Secret istio-system/webapp-credential (dry run): forbidden (403): "
        'secrets "webapp-credential" is forbidden: User "system:serviceaccount:dev:gwpipe" cannot create resource '
        '"secrets" in API group "" in the namespace "istio-system"\n'
    )
    assert not out.exists()
    assert kube.secrets == {}


def test_apply_with_a_bad_kubeconfig_writes_nothing(tmp_path: Path, spec_dir: Path) -> None:
    example(spec_dir, "02-tls")
    out = tmp_path / "out"
    result = dev_apply("02-tls", spec_dir, out, tmp_path / "nope")
    assert (result.exit_code, result.stderr) == (
        2,
        f"error: kubeconfig {tmp_path}/nope: no such file\nhint: pass --kubeconfig or set KUBECONFIG\n",
    )
    assert not out.exists()


def test_plan_refuses_invalid_names_and_star_only_hosts() -> None:
    bad = Credential(
        "Bad_Name",
        "edge",
        "SIMPLE",
        ["a.example.com"],
        problems=["credentialName 'Bad_Name' of Gateway shop/web is not a valid Secret name"],
    )
    with pytest.raises(UsageError) as caught:
        plan_credentials([bad])
    assert [str(p) for p in caught.value.problems] == [
        "Secret edge/Bad_Name: credentialName 'Bad_Name' of Gateway shop/web is not a valid Secret name"
    ]
    star = Credential("any", "edge", "SIMPLE", ["*"])
    with pytest.raises(UsageError) as caught:
        plan_credentials([star])
    assert [str(p) for p in caught.value.problems] == [
        "credential 'any': serves only host '*', which no certificate can name"
    ]


def test_plan_merges_a_credential_expected_in_two_namespaces() -> None:
    one = Credential("shared", "edge-1", "SIMPLE", ["a.example.com"])
    two = Credential("shared", "edge-2", "MUTUAL", ["*", "b.example.com"], ca_source="credential")
    [planned] = plan_credentials([one, two])
    assert (planned.name, planned.mode, planned.ca_source, planned.hosts, planned.namespaces) == (
        "shared",
        "MUTUAL",
        "credential",
        ["a.example.com", "b.example.com"],
        ["edge-1", "edge-2"],
    )


def test_out_must_be_a_folder(tmp_path: Path, spec_dir: Path) -> None:
    example(spec_dir, "02-tls")
    out = tmp_path / "file"
    out.write_text("mine\n")
    result = run("certs", "dev", "02-tls", "--specs", str(spec_dir), "--out", str(out))
    assert (result.exit_code, result.stderr) == (2, f"error: {out}: exists and is not a folder\n")
    assert out.read_text() == "mine\n"
    assert sorted(os.listdir(tmp_path)) == ["environments", "file"]  # nothing else appeared next to it
