"""Development certificate chains (root -> intermediate -> server, plus a client) made with `cryptography`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 3650
# clocks on kind/minikube nodes drift; a certificate valid from "now" can be rejected as not yet valid
BACKDATE = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class Issued:
    """A certificate and its private key."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )


@dataclass(frozen=True)
class DevChain:
    """Everything `certs dev` writes for one credential."""

    root: Issued
    intermediate: Issued
    server: Issued
    client: Issued | None

    def files(self) -> dict[str, bytes]:
        """File name -> content; `*.key` files hold private keys."""
        chain = self.intermediate.cert_pem()
        out = {
            "tls.crt": self.server.cert_pem() + chain,
            "tls.key": self.server.key_pem(),
            "ca.crt": chain + self.root.cert_pem(),
        }
        if self.client is not None:
            out["client.crt"] = self.client.cert_pem() + chain
            out["client.key"] = self.client.key_pem()
        return out


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "gwpipe development"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64]),
        ]
    )


def _issue(
    subject: str,
    issuer: Issued | None,
    days: int,
    now: dt.datetime,
    *,
    ca: bool,
    path_length: int | None = None,
    dns_names: list[str] | None = None,
    usage: x509.ObjectIdentifier | None = None,
) -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer.cert.subject if issuer else _name(subject))
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length if ca else None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
    )
    signer = issuer.key if issuer else key
    builder = builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False
    )
    if dns_names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names]), critical=False
        )
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    return Issued(builder.sign(signer, hashes.SHA256()), key)


def issue_chain(label: str, hosts: list[str], days: int, mutual: bool, now: dt.datetime | None = None) -> DevChain:
    """A fresh root and intermediate CA for `label`, a server certificate for `hosts` and, if `mutual`, a client one.

    Each credential gets its own CAs, as the walkthrough's ch4/certs and ch4/certs2 do, so a client
    trusting one credential's ca.crt cannot be fooled by another's server certificate.
    """
    if not hosts:
        raise ValueError("a server certificate needs at least one host")
    now = now or dt.datetime.now(dt.UTC)
    root = _issue(f"{label} root CA", None, CA_DAYS, now, ca=True, path_length=1)
    intermediate = _issue(f"{label} intermediate CA", root, CA_DAYS, now, ca=True, path_length=0)
    server = _issue(hosts[0], intermediate, days, now, ca=False, dns_names=hosts, usage=ExtendedKeyUsageOID.SERVER_AUTH)
    client = None
    if mutual:
        client = _issue(f"{label} client", intermediate, days, now, ca=False, usage=ExtendedKeyUsageOID.CLIENT_AUTH)
    return DevChain(root, intermediate, server, client)
