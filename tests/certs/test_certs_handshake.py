"""Proof with real TLS handshakes: `certs dev` chains served by SNI on one port, checked as the walkthrough's curl does.

Clients are Python's `ssl` and, when installed, `curl` (the walkthrough's own tool). Each expectation is the
walkthrough's: no CA fails, the right CA with another host name fails, the right host succeeds; a MUTUAL
host fails without a client certificate and succeeds with one.
"""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from certs_helpers import run
from certs_sni_server import Host, SniServer

from gwpipe.testing import write_spec

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "walkthrough"
CLIENTS = ["python", "curl"] if shutil.which("curl") else ["python"]
WEBAPP, CATALOG = "webapp.istioinaction.io", "catalog.istioinaction.io"


@dataclass(frozen=True)
class Outcome:
    ok: bool
    body: str = ""
    error: str = ""


def dev(tmp_path: Path, example: str, out: str = "certs") -> dict[str, dict[str, object]]:
    specs = tmp_path / "environments"
    write_spec(specs, (EXAMPLES / f"{example}.yaml").read_text(encoding="utf-8"), name=example)
    result = run("certs", "dev", example, "--specs", str(specs), "--out", str(tmp_path / out), "--output", "json")
    assert (result.exit_code, result.stderr) == (0, "")
    return {c["name"]: c for c in json.loads(result.stdout)["credentials"]}


def hosts_of(credentials: dict[str, dict[str, object]]) -> list[Host]:
    return [
        Host(str(h), Path(str(c["folder"])), c["mode"] == "MUTUAL")
        for c in credentials.values()
        for h in c["hosts"]  # type: ignore[attr-defined]
    ]


def python_get(port: int, name: str, ca: Path | None, client: Path | None = None) -> Outcome:
    context = ssl.create_default_context(cafile=str(ca) if ca else None)
    if client is not None:
        context.load_cert_chain(client / "client.crt", client / "client.key")
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
            context.wrap_socket(raw, server_hostname=name) as tls,
        ):
            sans = tls.getpeercert()["subjectAltName"]
            tls.sendall(f"GET /api/catalog HTTP/1.1\r\nHost: {name}\r\n\r\n".encode())
            data = b""
            while chunk := tls.recv(4096):
                data += chunk
    except (ssl.SSLError, OSError) as exc:
        return Outcome(False, error=f"{type(exc).__name__}: {exc}")
    if not data:
        return Outcome(False, error="empty reply")
    assert sans == (("DNS", name),)
    return Outcome(True, body=data.split(b"\r\n\r\n", 1)[1].decode())


def curl_get(port: int, name: str, ca: Path | None, client: Path | None = None) -> Outcome:
    command = ["curl", "-sS", "--noproxy", "*", "--max-time", "10", "--resolve", f"{name}:{port}:127.0.0.1"]
    if ca is not None:
        command += ["--cacert", str(ca)]
    if client is not None:
        command += ["--cert", str(client / "client.crt"), "--key", str(client / "client.key")]
    result = subprocess.run(
        [*command, f"https://{name}:{port}/api/catalog"], capture_output=True, text=True, check=False
    )
    if result.returncode:
        return Outcome(False, error=f"curl exit {result.returncode}: {result.stderr.strip()}")
    return Outcome(True, body=result.stdout)


def get(client: str, port: int, name: str, ca: Path | None, cert: Path | None = None) -> Outcome:
    return (python_get if client == "python" else curl_get)(port, name, ca, cert)


NO_ISSUER = {
    "python": "unable to get local issuer certificate",
    "curl": "(60) SSL certificate problem: unable to get local issuer certificate",
}
NO_SERVER = {"python": "tlsv1 unrecognized name", "curl": "(35) OpenSSL/"}
WRONG_NAME = {
    "python": "Hostname mismatch, certificate is not valid for 'localhost'",
    "curl": "(60) SSL: no alternative certificate subject name matches target host name 'localhost'",
}


@pytest.mark.parametrize("client", CLIENTS)
def test_two_hosts_two_certificates_one_port(tmp_path: Path, client: str) -> None:
    creds = dev(tmp_path, "05-multi-host-tls")
    webapp_ca = Path(str(creds["webapp-credential"]["folder"])) / "ca.crt"
    catalog_ca = Path(str(creds["catalog-credential"]["folder"])) / "ca.crt"
    with SniServer(hosts_of(creds)).running() as server:
        no_ca = get(client, server.port, WEBAPP, None)
        wrong_name = get(client, server.port, "localhost", webapp_ca)
        webapp = get(client, server.port, WEBAPP, webapp_ca)
        catalog = get(client, server.port, CATALOG, catalog_ca)
        crossed = get(client, server.port, CATALOG, webapp_ca)
    # 1: the system trust store does not know the dev CA
    assert not no_ca.ok
    assert NO_ISSUER[client] in no_ca.error
    # 2: the right CA but the name localhost: like the gateway, the server has no certificate for that SNI
    assert not wrong_name.ok
    assert NO_SERVER[client] in wrong_name.error
    assert "unrecognized name" in wrong_name.error
    # 3: the right name and CA; each host gets its own certificate on the same port
    assert (webapp.ok, webapp.body) == (True, f"served {WEBAPP} to anonymous\n")
    assert (catalog.ok, catalog.body) == (True, f"served {CATALOG} to anonymous\n")
    # each credential has its own CA, so webapp's CA cannot vouch for catalog's certificate
    assert not crossed.ok
    assert NO_ISSUER[client] in crossed.error
    assert server.served == [(WEBAPP, None), (CATALOG, None)]


@pytest.mark.parametrize("client", CLIENTS)
def test_a_server_answering_any_name_is_still_rejected_for_the_wrong_name(tmp_path: Path, client: str) -> None:
    creds = dev(tmp_path, "05-multi-host-tls")
    webapp_ca = Path(str(creds["webapp-credential"]["folder"])) / "ca.crt"
    with SniServer(hosts_of(creds), default_host=WEBAPP).running() as server:
        wrong_name = get(client, server.port, "localhost", webapp_ca)
        right = get(client, server.port, WEBAPP, webapp_ca)
    assert not wrong_name.ok
    assert WRONG_NAME[client] in wrong_name.error
    assert right.ok


@pytest.mark.parametrize("client", CLIENTS)
def test_mutual_tls_needs_the_client_certificate(tmp_path: Path, client: str) -> None:
    creds = dev(tmp_path, "04-mtls")
    folder = Path(str(creds["webapp-credential-mtls"]["folder"]))
    stranger = Path(str(dev(tmp_path, "04-mtls", out="other")["webapp-credential-mtls"]["folder"]))
    with SniServer(hosts_of(creds)).running() as server:
        without = get(client, server.port, WEBAPP, folder / "ca.crt")
        refused_without = server.refusals(1)
        foreign = get(client, server.port, WEBAPP, folder / "ca.crt", stranger)
        refused_foreign = server.refusals(2)[1:]
        with_cert = get(client, server.port, WEBAPP, folder / "ca.crt", folder)
    # the server's handshake fails; TLS 1.3 clients learn it on their first read
    assert (without.ok, refused_without) == (False, ["PEER_DID_NOT_RETURN_A_CERTIFICATE"])
    assert (foreign.ok, refused_foreign) == (False, ["CERTIFICATE_VERIFY_FAILED"])  # another CA's client certificate
    assert (with_cert.ok, with_cert.body) == (True, f"served {WEBAPP} to 04-mtls webapp-credential-mtls client\n")
    assert server.served == [(WEBAPP, "04-mtls webapp-credential-mtls client")]


def test_files_hold_the_chain_the_walkthrough_uses(tmp_path: Path) -> None:
    from cryptography import x509

    creds = dev(tmp_path, "04-mtls")
    folder = Path(str(creds["webapp-credential-mtls"]["folder"]))
    leaf, intermediate = x509.load_pem_x509_certificates((folder / "tls.crt").read_bytes())
    ca_intermediate, root = x509.load_pem_x509_certificates((folder / "ca.crt").read_bytes())
    client, client_intermediate = x509.load_pem_x509_certificates((folder / "client.crt").read_bytes())
    assert intermediate == ca_intermediate == client_intermediate
    leaf.verify_directly_issued_by(intermediate)
    client.verify_directly_issued_by(intermediate)
    intermediate.verify_directly_issued_by(root)
    root.verify_directly_issued_by(root)
    eku = x509.ExtendedKeyUsage
    assert list(leaf.extensions.get_extension_for_class(eku).value) == [x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]
    assert list(client.extensions.get_extension_for_class(eku).value) == [x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]
    assert leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.DNSName
    ) == [WEBAPP]
    assert {p.name: oct(p.stat().st_mode & 0o777) for p in folder.iterdir()} == {
        "tls.crt": "0o644",
        "ca.crt": "0o644",
        "client.crt": "0o644",
        "tls.key": "0o600",
        "client.key": "0o600",
    }
