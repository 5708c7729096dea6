"""`gwpipe status` against a stand-in of the Argo CD API (tests/stand_ins/argocd_api.py) and a real GitOps repo."""

from __future__ import annotations

import json
import re
import shutil
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result
from stand_ins.argocd_api import ArgoCDStandIn, Raw

from gwpipe.certs.devca import issue_chain
from gwpipe.cli.main import main
from gwpipe.testing import git

from .specs import http_env

TOKEN = "argocd-canary-7f3e9b1c5d2a4e6f8091"


@dataclass
class World:
    """A specs folder, a GitOps repository with `dev` (flat) and `big` (sharded) rendered, and the stand-in."""

    specs: Path
    repo: Path
    head: str
    argo: ArgoCDStandIn

    def run(self, *args: str, token: str | None = TOKEN, debug: bool = False, server: str | None = None) -> Result:
        env = {"ARGOCD_AUTH_TOKEN": token, "ARGOCD_SERVER": None}
        argv = [*(["--debug"] if debug else []), "status", *args, "--specs", str(self.specs), "--repo", str(self.repo)]
        argv += ["--server", server or self.argo.url]
        return CliRunner().invoke(main, argv, env=env)

    def healthy(self, env: str) -> list[str]:
        """Every Application committed in `<env>/_gitops/argocd/` added to the stand-in as Synced at HEAD, Healthy."""
        names = []
        for path in sorted((self.repo / env / "_gitops" / "argocd").glob("application-*.yaml")):
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
            meta = doc["metadata"]
            self.argo.add(meta["name"], self.head, namespace=meta["namespace"], path=doc["spec"]["source"]["path"])
            names.append(meta["name"])
        return names


def errors(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("error: ")]


def assert_errors(result: Result, expected: list[str]) -> None:
    lines = errors(result)
    assert len(lines) == len(expected), result.stderr
    for pattern, line in zip(expected, lines, strict=True):
        assert re.fullmatch(pattern, line), f"{line!r} !~ {pattern!r}"


@pytest.fixture(scope="module")
def _rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Specs and a GitOps repository with every environment rendered, made once and copied per test."""
    base = tmp_path_factory.mktemp("status-base")
    specs = base / "environments"
    specs.mkdir()
    (specs / "dev.yaml").write_text(yaml.safe_dump(http_env(2, gitops={})), encoding="utf-8")
    (specs / "big.yaml").write_text(yaml.safe_dump(http_env(300, gitops={})), encoding="utf-8")
    (specs / "flux.yaml").write_text(yaml.safe_dump(http_env(1, gitops={"flux": {}})), encoding="utf-8")
    repo = base / "gitops"
    git(base, "init", "-q", "-b", "main", str(repo))
    rendered = CliRunner().invoke(main, ["render", "--all", "--specs", str(specs), "--repo", str(repo)])
    assert rendered.exit_code == 0, rendered.stderr
    return base


@pytest.fixture
def world(_rendered: Path, tmp_path: Path) -> Iterator[World]:
    root = tmp_path / "ws"
    shutil.copytree(_rendered, root, symlinks=True)
    repo = root / "gitops"
    head = git(repo, "rev-parse", "HEAD").strip()
    with ArgoCDStandIn(TOKEN) as argo:
        yield World(root / "environments", repo, head, argo)


def test_all_synced_at_head_and_healthy(world: World) -> None:
    world.healthy("dev")
    result = world.run("dev")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == f"dev: dev: Synced at HEAD {world.head[:12]}, Healthy\n"
    [request] = world.argo.log
    assert request["path"] == "/api/v1/applications/dev"
    assert request["query"] == {}  # the Application lives in argocd: no appNamespace
    assert request["headers"]["Authorization"] == f"Bearer {TOKEN}"


def test_json_is_one_document(world: World) -> None:
    world.healthy("dev")
    result = world.run("dev", "--output", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["ok"] is True
    assert doc["errors"] == []
    assert doc["head"] == world.head
    [app] = doc["applications"]
    assert {k: app[k] for k in ("application", "sync", "revision", "at_head", "health", "problems")} == {
        "application": "dev",
        "sync": "Synced",
        "revision": world.head,
        "at_head": True,
        "health": "Healthy",
        "problems": [],
    }


def test_out_of_sync(world: World) -> None:
    world.argo.add("dev", world.head, sync="OutOfSync")
    result = world.run("dev")
    assert result.exit_code == 1
    assert_errors(result, [rf"error: {re.escape(world.argo.url)}/dev: sync status is OutOfSync, not Synced"])
    assert result.stdout == f"dev: dev: OutOfSync at HEAD {world.head[:12]}, Healthy\n"


def test_synced_at_an_older_revision(world: World) -> None:
    older = world.head
    (world.specs / "dev.yaml").write_text(yaml.safe_dump(http_env(3, gitops={})), encoding="utf-8")
    rendered = CliRunner().invoke(main, ["render", "dev", "--specs", str(world.specs), "--repo", str(world.repo)])
    assert rendered.exit_code == 0, rendered.stderr
    head = git(world.repo, "rev-parse", "HEAD").strip()
    assert head != older
    world.argo.add("dev", older)
    result = world.run("dev")
    assert result.exit_code == 1
    assert_errors(
        result,
        [
            rf"error: {re.escape(world.argo.url)}/dev: synced revision {older[:12]} is not HEAD {head[:12]}; "
            r"Argo CD has not caught up"
        ],
    )


def test_degraded_health_with_its_message(world: World) -> None:
    world.argo.add("dev", world.head, health="Degraded", health_message="Deployment istio-ingressgateway: 0/2 ready")
    result = world.run("dev")
    assert result.exit_code == 1
    url = re.escape(world.argo.url)
    assert_errors(
        result, [rf"error: {url}/dev: health is Degraded, not Healthy: Deployment istio-ingressgateway: 0/2 ready"]
    )


def test_failed_sync_operation(world: World) -> None:
    message = 'one or more objects failed to apply, reason: admission webhook "validation.istio.io" denied the request'
    world.argo.add("dev", world.head, sync="OutOfSync", phase="Failed", operation_message=message)
    result = world.run("dev")
    assert result.exit_code == 1
    url = re.escape(world.argo.url)
    assert_errors(
        result,
        [
            rf"error: {url}/dev: sync status is OutOfSync, not Synced",
            rf"error: {url}/dev: last sync Failed: {re.escape(message)}",
        ],
    )
    assert result.stdout.endswith("Healthy, last sync Failed\n")


def test_application_syncing_another_path(world: World) -> None:
    world.argo.add("dev", world.head, path="old/dev")
    result = world.run("dev")
    url = re.escape(world.argo.url)
    assert result.exit_code == 1
    assert_errors(result, [rf"error: {url}/dev: syncs path 'old/dev', gwpipe renders 'dev'; apply the _gitops folder"])


def test_401_wrong_token(world: World) -> None:
    world.healthy("dev")
    token, said = "wrong-token-5b1d", "invalid session: token signature is invalid"
    result = world.run("dev", token=token)
    assert result.exit_code == 1
    url = re.escape(world.argo.url)
    assert_errors(
        result,
        [rf"error: {url}/dev: unauthorized \(401\), the token in ARGOCD_AUTH_TOKEN was refused: {re.escape(said)}"],
    )
    assert token not in result.output
    assert result.stdout == "dev: dev: unknown (the API did not answer it)\n"


def test_403_permission_denied(world: World) -> None:
    world.healthy("dev")
    world.argo.forbidden.add("dev")
    result = world.run("dev")
    assert result.exit_code == 1
    url = re.escape(world.argo.url)
    assert_errors(
        result,
        [rf"error: {url}/dev: permission denied \(403\), the token may not get this application: permission denied"],
    )


def test_404_application_not_found(world: World) -> None:
    result = world.run("dev")
    assert result.exit_code == 1
    url = re.escape(world.argo.url)
    assert_errors(
        result,
        [
            rf"error: {url}/dev: application not found \(404\): applications\.argoproj\.io \"dev\" not found; "
            r"is its _gitops folder applied\?"
        ],
    )


def test_server_error_and_non_json_answers(world: World) -> None:
    world.healthy("dev")
    world.argo.raw["dev"] = Raw(200, b"<!doctype html><title>Argo CD</title>")
    result = world.run("dev")
    url = re.escape(world.argo.url)
    assert_errors(
        result, [rf"error: {url}/dev: answer is not JSON \(text/html\); is --server the Argo CD API server\?"]
    )
    world.argo.raw["dev"] = Raw(200, b'{"items": []}', "application/json")
    result = world.run("dev")
    assert_errors(result, [rf"error: {url}/dev: answer is not an Argo CD Application \(no metadata\)"])
    world.argo.raw["dev"] = Raw(502, b"bad gateway")
    result = world.run("dev")
    assert_errors(result, [rf"error: {url}/dev: server error \(502\)"])
    assert result.exit_code == 1


def test_timeout(world: World) -> None:
    world.healthy("dev")
    world.argo.slow["dev"] = 60.0
    result = world.run("dev", "--timeout", "0.3")
    assert result.exit_code == 1
    assert_errors(result, [rf"error: {re.escape(world.argo.url)}/dev: no answer within 0\.3s \(timeout\)"])


def test_connection_refused(world: World) -> None:
    # a bound socket that never listens: the kernel refuses connections to it for as long as the test holds it
    with socket.socket() as hole:
        hole.bind(("127.0.0.1", 0))
        server = f"http://127.0.0.1:{hole.getsockname()[1]}"
        result = world.run("dev", server=server)
    assert result.exit_code == 1
    assert_errors(result, [rf"error: {re.escape(server)}/dev: cannot connect: connection refused"])
    assert "Traceback" not in result.output


@pytest.mark.parametrize("debug", [False, True])
def test_token_never_in_output(world: World, debug: bool) -> None:
    world.healthy("dev")
    for setup in (lambda: None, lambda: world.argo.forbidden.add("dev"), lambda: world.argo.slow.update(dev=60.0)):
        setup()
        for args in (("dev",), ("dev", "--output", "json")):
            result = world.run(*args, "--timeout", "0.3", debug=debug)
            assert TOKEN not in result.output
            assert TOKEN not in result.stderr
            assert "Traceback" not in result.output
    with_wrong = world.run("dev", token=TOKEN + "-stale", debug=debug)
    assert TOKEN not in with_wrong.output
    assert with_wrong.exit_code == 1


def test_token_only_from_the_environment(world: World) -> None:
    world.healthy("dev")
    missing = world.run("dev", token=None)
    assert missing.exit_code == 2
    assert missing.stderr == (
        "error: ARGOCD_AUTH_TOKEN: is not set; export an Argo CD API token (never passed as an option)\n"
    )
    assert world.argo.log == []
    as_option = world.run("dev", "--token", TOKEN, token=None)
    assert as_option.exit_code == 2
    assert "No such option '--token'" in as_option.stderr
    assert TOKEN not in as_option.stderr
    spaced = world.run("dev", token=f"{TOKEN}\nX-Injected: 1")
    assert spaced.exit_code == 2
    assert TOKEN not in spaced.output
    assert errors(spaced) == [
        "error: ARGOCD_AUTH_TOKEN: contains whitespace or non-ASCII characters; not a valid token"
    ]


def test_server_is_required_and_checked(world: World) -> None:
    result = CliRunner().invoke(
        main,
        ["status", "dev", "--specs", str(world.specs), "--repo", str(world.repo)],
        env={"ARGOCD_AUTH_TOKEN": TOKEN, "ARGOCD_SERVER": None},
    )
    assert result.exit_code == 2
    assert errors(result) == ["error: --server: name the Argo CD API server (--server URL or ARGOCD_SERVER)"]
    plain = world.run("dev", server="http://argocd.example.com")
    assert plain.exit_code == 2
    assert errors(plain) == [
        "error: --server 'http://argocd.example.com': plain http would send the token in clear; use https"
    ]
    from_env = CliRunner().invoke(
        main,
        ["status", "dev", "--specs", str(world.specs), "--repo", str(world.repo)],
        env={"ARGOCD_AUTH_TOKEN": TOKEN, "ARGOCD_SERVER": world.argo.url},
    )
    assert from_env.exit_code == 1
    assert len(world.argo.log) == 1


def test_every_shard_application_is_queried(world: World) -> None:
    names = world.healthy("big")
    assert len(names) > 2  # > 250 objects: one Application per shard folder
    result = world.run("big")
    assert result.exit_code == 0, result.stderr
    assert sorted(r["name"] for r in world.argo.log) == sorted(names)
    lines = result.stdout.splitlines()
    assert sorted(line.split(": ")[1] for line in lines) == sorted(names)
    stale = sorted(names)[-1]
    world.argo.add(
        stale, world.head, sync="OutOfSync", path=world.argo.apps[("argocd", stale)]["spec"]["source"]["path"]
    )
    result = world.run("big")
    assert result.exit_code == 1
    assert_errors(result, [rf"error: {re.escape(world.argo.url)}/{stale}: sync status is OutOfSync, not Synced"])


def test_applications_outside_argocd_are_asked_with_app_namespace(world: World) -> None:
    data = http_env(2, gitops={"argocd": {"namespace": "team-a"}})
    (world.specs / "team.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    world.argo.add("team", world.head, namespace="team-a", path="team")
    result = world.run("team")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"team: team-a/team: Synced at HEAD {world.head[:12]}, Healthy\n"
    [request] = world.argo.log
    assert request["query"] == {"appNamespace": ["team-a"]}
    world.argo.apps.clear()
    world.argo.add("team", world.head, path="team")  # same name in argocd: not the Application gwpipe renders
    missing = world.run("team")
    assert missing.exit_code == 1
    assert errors(missing)[0].startswith(f"error: {world.argo.url}/team-a/team: application not found (404)")


def test_application_set_generated_names(world: World) -> None:
    data = http_env(300, gitops={"argocd": {"applicationSet": True}})
    (world.specs / "fleet.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    out = world.specs.parent / "out"
    rendered = CliRunner().invoke(main, ["render", "fleet", "--specs", str(world.specs), "--out", str(out)])
    assert rendered.exit_code == 0, rendered.stderr
    shards = sorted(p.parent.name for p in (out / "fleet").glob("*/kustomization.yaml") if p.parent.name != "_gitops")
    assert len(shards) > 2
    for shard in shards:
        world.argo.add(f"fleet-{shard}", world.head, path=f"fleet/{shard}")
    result = world.run("fleet")
    assert result.exit_code == 0, result.stderr
    assert sorted(r["name"] for r in world.argo.log) == [f"fleet-{s}" for s in shards]


def test_environment_without_argo_cd(world: World) -> None:
    world.healthy("dev")
    only_flux = world.run("flux")
    assert only_flux.exit_code == 2
    assert errors(only_flux) == ["error: flux: renders no Argo CD Application (gitops.argocd); nothing to check"]
    both = world.run("dev", "flux")
    assert both.exit_code == 0
    assert both.stderr == "info: flux: renders no Argo CD Application; skipped\n"


def test_missing_gitops_repository(world: World, tmp_path: Path) -> None:
    world.healthy("dev")
    result = CliRunner().invoke(
        main,
        ["status", "dev", "--specs", str(world.specs), "--repo", str(tmp_path / "nowhere"), "--server", world.argo.url],
        env={"ARGOCD_AUTH_TOKEN": TOKEN},
    )
    assert result.exit_code == 1
    assert errors(result) == [
        f"error: {tmp_path / 'nowhere'}: not a git repository (pass the GitOps checkout with --repo)"
    ]


def _tls(tmp_path: Path) -> tuple[ssl.SSLContext, Path]:
    chain = issue_chain("argocd", ["localhost"], 30, mutual=False)
    files = {name: tmp_path / name for name in ("server.crt", "server.key", "ca.crt")}
    files["server.crt"].write_bytes(chain.server.cert_pem() + chain.intermediate.cert_pem())
    files["server.key"].write_bytes(chain.server.key_pem())
    files["ca.crt"].write_bytes(chain.root.cert_pem())
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(files["server.crt"], files["server.key"])
    return context, files["ca.crt"]


def test_tls_verified_with_ca_file_refused_without(world: World, tmp_path: Path) -> None:
    context, ca = _tls(tmp_path)
    with ArgoCDStandIn(TOKEN, tls=context) as argo:
        argo.add("dev", world.head, path="dev")
        server = f"https://localhost:{argo.server.server_address[1]}"
        unverified = world.run("dev", server=server)
        assert unverified.exit_code == 1
        assert_errors(
            unverified,
            [
                rf"error: {re.escape(server)}/dev: TLS handshake failed \(.*certificate.*\); "
                r"pass --ca-file, or --insecure"
            ],
        )
        verified = world.run("dev", "--ca-file", str(ca), server=server)
        assert verified.exit_code == 0, verified.stderr
        insecure = world.run("dev", "--insecure", server=server)
        assert (insecure.exit_code, insecure.stderr) == (0, "")
        assert [r["headers"]["Authorization"] for r in argo.log] == [f"Bearer {TOKEN}"] * 2
