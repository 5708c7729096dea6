"""Hostile inputs rows 43-53 (TLS plugin and secrets): key material never reaches the tree, a log or a commit."""

from __future__ import annotations

import base64
import re
import textwrap
from pathlib import Path

from .conftest import GOOD_SPEC, Workspace, assert_f0, install_plugin, loc

CANARY = "CANARYKEYMATERIAL"
PEM = f"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC{CANARY}{CANARY}\n-----END PRIVATE KEY-----\n"
TLS_SPEC = textwrap.dedent(
    """\
    namespace: shop
    gateways:
      web:
        selector:
          istio: ingressgateway
    checks:
      inventory:
        - {kind: Secret, namespace: istio-system, name: a-cred, keys: [tls.crt, tls.key]}
    hosts:
      a.example.com:
        gateway: web
        routes:
          - destination: {host: webapp, port: 80}
        tls:
          credentialName: a-cred
    """
)


def _quoted(text: str) -> str:
    return '"' + text.replace("\n", "\\n") + '"'


def test_row43_inline_pem_key_in_a_spec_is_refused_unechoed(workspace: Workspace) -> None:
    workspace.write("bad", TLS_SPEC + f"      key: {_quoted(PEM)}\n")
    assert_f0(
        workspace,
        ["render", "bad"],
        [
            loc("bad", 16, 12, 'hosts["a.example.com"].tls.key')
            + r"contains a PEM private key \(value redacted, \d+ bytes\)",
            loc("bad", 16, 12, 'hosts["a.example.com"].tls.key') + "unknown field; allowed: certificate, cipherSuites, "
            "credentialName, maxProtocolVersion, minProtocolVersion, serverName",
        ],
        canaries=[CANARY, "BEGIN PRIVATE KEY"],
    )


def test_row44_encoded_encrypted_and_short_keys_are_caught_in_any_field(workspace: Workspace) -> None:
    encoded = base64.b64encode(PEM.encode()).decode()
    encrypted = f"-----BEGIN ENCRYPTED PRIVATE KEY-----\\nMIIB{CANARY}\\n-----END ENCRYPTED PRIVATE KEY-----"
    short = "-----BEGIN EC PRIVATE KEY-----\\nMHc=\\n-----END EC PRIVATE KEY-----"
    text = GOOD_SPEC.replace("host: webapp", f'host: "{encoded}"').replace("host: shopapp", f'host: "{encrypted}"')
    workspace.write("bad", text + f'templates: "{short}"\n')
    result = assert_f0(
        workspace,
        ["render", "bad"],
        [
            loc("bad", 11, 17, 'hosts["a.example.com"].routes[0].destination.host')
            + r"contains a base64-encoded PEM block \(value redacted, \d+ bytes\)",
            loc("bad", 11, 17, 'hosts["a.example.com"].routes[0].destination.host')
            + r"invalid value, got <redacted, \d+ bytes>; expected a Service name or FQDN",
            loc("bad", 17, 17, 'hosts["b.example.com"].routes[0].destination.host')
            + r"contains a PEM private key \(value redacted, \d+ bytes\)",
            loc("bad", 17, 17, 'hosts["b.example.com"].routes[0].destination.host')
            + r"invalid value, got <redacted, \d+ bytes>; expected a Service name or FQDN",
            loc("bad", 19, 12, "templates") + r"contains a PEM private key \(value redacted, \d+ bytes\)",
        ],
        canaries=[CANARY, encoded[:40], "MHc="],
    )
    assert result.returncode == 2


def test_row44_key_material_a_template_writes_is_blocked_before_the_tree(workspace: Workspace) -> None:
    folder = workspace.root / "environments" / "tpl" / "http"
    folder.mkdir(parents=True)
    builtin = Path(__file__).resolve().parents[2] / "templates" / "http" / "gateway.yaml.j2"
    stolen = f"# {base64.b64encode(PEM.encode()).decode()}\n"
    (folder / "gateway.yaml.j2").write_text(builtin.read_text(encoding="utf-8") + stolen, encoding="utf-8")
    workspace.write("good", GOOD_SPEC + "templates: tpl\n")
    assert_f0(
        workspace,
        ["render", "good"],
        [
            r"web/gateway-web.yaml: GWP0003 Gateway shop/web: output contains a base64-encoded PEM block; "
            r"private keys never enter the GitOps tree".replace("web/gateway-web", "shop/gateway-web")
        ],
        exit_code=1,
        canaries=[CANARY],
    )


def test_row45_a_plugin_emitting_a_secret_with_data_is_refused(workspace: Workspace) -> None:
    install_plugin(
        workspace,
        "leaky",
        textwrap.dedent(
            """\
            from gwpipe.hooks.specs import hookimpl
            from gwpipe.model import ResourceRequest

            @hookimpl
            def gwpipe_template_folders():
                import os
                return {"leaky": os.path.join(os.path.dirname(__file__), "leaky_templates")}

            @hookimpl
            def gwpipe_resources(spec):
                return [ResourceRequest("leaky", "leaky/secret.yaml.j2", "v1", "Secret", "a-cred", "istio-system")]
            """
        ),
    )
    templates = workspace.root / "site" / "leaky_templates"
    templates.mkdir(parents=True)
    (templates / "secret.yaml.j2").write_text(
        '{% from "_macros/metadata.j2" import metadata %}\napiVersion: v1\nkind: Secret\n{{ metadata(meta) -}}\n'
        "type: kubernetes.io/tls\ndata:\n  tls.key: bm90LWEta2V5\n",
        encoding="utf-8",
    )
    assert_f0(
        workspace,
        ["render", "good"],
        [
            r"istio-system/secret-a-cred.yaml: GWP0002 Secret istio-system/a-cred: Secret objects with data never go "
            r"into the GitOps tree; use cert-manager or credentialName"
        ],
        exit_code=1,
        canaries=["bm90LWEta2V5"],
    )


def test_row48_credential_in_another_namespace_is_refused(workspace: Workspace) -> None:
    workspace.write("bad", TLS_SPEC.replace("credentialName: a-cred", "credentialName: other/a-cred"))
    assert_f0(
        workspace,
        ["render", "bad"],
        [loc("bad", 15, 23, 'hosts["a.example.com"].tls.credentialName') + r".*namespace.*"],
    )


def test_row50_empty_credential_name_is_refused(workspace: Workspace) -> None:
    workspace.write("bad", TLS_SPEC.replace("credentialName: a-cred", 'credentialName: ""'))
    assert_f0(
        workspace,
        ["render", "bad"],
        [loc("bad", 15, 23, 'hosts["a.example.com"].tls.credentialName') + "required field empty"],
    )


def test_row53_debug_output_still_redacts_key_material(workspace: Workspace) -> None:
    workspace.write("bad", TLS_SPEC + f"      key: {_quoted(PEM)}\n")
    result = workspace.run("render", "bad", debug=True)
    assert result.returncode == 2
    assert "Traceback (most recent call last)" in result.stderr
    assert CANARY not in result.stdout + result.stderr
    assert not re.search(r"BEGIN PRIVATE KEY", result.stdout + result.stderr)


def test_row47_rendered_trees_hold_only_yaml_files(workspace: Workspace) -> None:
    # the writer only ever writes object files and kustomizations; no *.key/*.pem/*.p12 can appear
    files = [p for p in workspace.repo.rglob("*") if p.is_file() and ".git" not in p.parts]
    assert files
    assert all(p.suffix == ".yaml" for p in files), files


def test_row43_key_material_as_a_mapping_key_is_never_printed(workspace: Workspace) -> None:
    encoded = base64.b64encode(PEM.encode()).decode()
    workspace.write("bad", GOOD_SPEC.replace("  b.example.com:", f"  {encoded}:"))
    assert_f0(
        workspace,
        ["render", "bad"],
        [
            loc("bad", 14, 5) + r"hosts\.<redacted key>: a mapping key contains a base64-encoded PEM block "
            r"\(redacted, \d+ bytes\)",
            r'environments/bad\.yaml:14:5: hosts\["<redacted, \d+ bytes>"\]: invalid value, got <redacted, \d+ bytes>; '
            r"expected a lower-case FQDN, \*\.domain or \*",
        ],
        canaries=[CANARY, encoded[:40]],
    )
