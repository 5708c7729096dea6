"""The `gwpipe init` command: scaffold `_base.yaml` and one spec per environment, then validate and render them."""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import click

from gwpipe.cli import options
from gwpipe.cli.main import STATE, _pipeline, _set_common, failures

BASE = "_base.yaml"
_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+")
_URL = re.compile(r"(https://|ssh://)[A-Za-z0-9._~:/?#@!$&()*+,;=%-]+|git@[A-Za-z0-9.-]+:[A-Za-z0-9._/~-]+")
# these environments serve the bare domain; every other one serves <env>.<domain>
APEX_ENVIRONMENTS = ("prod", "production")


@dataclass(frozen=True)
class Fleet:
    """What the flags ask for."""

    environments: tuple[str, ...]
    gateway: str
    domain: str
    namespace: str
    issuer: str | None
    gitops: str | None
    gitops_url: str | None


def _q(value: str) -> str:
    """A YAML scalar that stays a string (JSON strings are YAML)."""
    return json.dumps(value)


def base_text(fleet: Fleet) -> str:
    lines = [
        "# Settings every environment shares; each environment file `extends` this one and sets `vars`.",
        "# Files whose name starts with '_' are bases, never rendered on their own. Keys: docs/spec.md.",
        f"namespace: {_q(fleet.namespace)}            # where the Gateways and VirtualServices go",
        "namespaces:",
        "  create: manifests            # a Namespace (never pruned) for every namespace the output uses",
        "  existing: [istio-system]     # owned by the Istio installation",
        "gateways:",
        f"  {fleet.gateway}:",
        "    workload: istio-ingressgateway   # the ingress gateway of an Istio install, in istio-system",
    ]
    if fleet.gitops:
        lines += ["gitops:", f"  repoURL: {_q(fleet.gitops_url or '')}", f"  {fleet.gitops}: {{}}"]
    lines += host_lines(fleet)
    return "\n".join(lines) + "\n"


def environment_domain(env: str, domain: str) -> str:
    return domain if env in APEX_ENVIRONMENTS else f"{env}.{domain}"


def environment_text(fleet: Fleet, env: str) -> str:
    """What differs per environment: its domain, as the variable the base's host names use."""
    lines = [
        f"# The {env} environment: what differs from {BASE}. Render it with `gwpipe render {env}`.",
        f"extends: {BASE}",
        "vars:",
        f"  domain: {_q(environment_domain(env, fleet.domain))}",
    ]
    return "\n".join(lines) + "\n"


def host_lines(fleet: Fleet) -> list[str]:
    """The shared host, named through the `domain` variable each environment sets."""
    lines = [
        "hosts:",
        '  "www.${domain}":',
        f"    gateway: {fleet.gateway}",
        "    virtualService: www",
    ]
    if fleet.issuer:
        lines += ["    redirect: true               # plain HTTP answers with a redirect to HTTPS"]
    lines += ["    routes:", "      - destination: {host: web, port: 80}"]
    if fleet.issuer:
        lines += [
            "    tls:",
            "      credentialName: www-credential",
            "      certificate:               # cert-manager issues the Secret",
            f"        issuerRef: {{name: {_q(fleet.issuer)}, kind: ClusterIssuer}}",
            "        issuerType: acme",
        ]
    return lines


def scaffold(fleet: Fleet) -> dict[str, str]:
    """File name -> text, base first."""
    return {BASE: base_text(fleet), **{f"{env}.yaml": environment_text(fleet, env) for env in fleet.environments}}


def _check_flags(fleet: Fleet) -> None:
    from gwpipe.errors import Problem, UsageError

    if not fleet.environments:
        raise UsageError(Problem("--env", "name at least one environment (--env dev --env prod)"))
    seen: set[str] = set()
    for env in fleet.environments:
        if not _LABEL.fullmatch(env) or len(env) > 63:
            raise UsageError(Problem(f"--env {env!r}", "must be a DNS label: lower-case letters, digits and '-'"))
        if env in seen:
            raise UsageError(Problem(f"--env {env!r}", "is given twice"))
        seen.add(env)
    for flag, value in (("--gateway", fleet.gateway), ("--namespace", fleet.namespace)):
        if not _LABEL.fullmatch(value) or len(value) > 63:
            raise UsageError(Problem(f"{flag} {value!r}", "must be a DNS label: lower-case letters, digits and '-'"))
    if not _DOMAIN.fullmatch(fleet.domain) or len(fleet.domain) > 240:
        raise UsageError(Problem(f"--domain {fleet.domain!r}", "must be a lower-case DNS name such as example.com"))
    if fleet.issuer is not None and not _DOMAIN.fullmatch(fleet.issuer) and not _LABEL.fullmatch(fleet.issuer):
        raise UsageError(Problem(f"--issuer {fleet.issuer!r}", "must be a ClusterIssuer name such as letsencrypt"))
    if fleet.gitops and not (fleet.gitops_url and _URL.fullmatch(fleet.gitops_url)):
        raise UsageError(
            Problem("--gitops-url", f"--gitops {fleet.gitops} needs the GitOps repository's https:// or ssh:// URL")
        )


def _render_all(files: dict[str, str], folder: Path, blocked: tuple[str, ...]) -> list[tuple[str, int]]:
    """(environment, objects) for each environment in `folder`; raises what validation or rendering raises."""
    pipeline = _pipeline(blocked, ())
    rendered = []
    for name in files:
        if name != BASE:
            bundle = pipeline.build(pipeline.load(folder / name, folder))
            rendered.append((bundle.spec.name, len(bundle.objects)))
    return rendered


def _rendered_as(files: dict[str, str], scratch: Path, target: Path, blocked: tuple[str, ...]) -> list[tuple[str, int]]:
    """`_render_all` on the scratch copy, its errors pointing at the files init would have written."""
    from gwpipe.errors import GwpipeError, Problem

    try:
        return _render_all(files, scratch, blocked)
    except GwpipeError as exc:
        moved = [Problem(p.where.replace(str(scratch), str(target)), p.what, p.hint) for p in exc.problems]
        raise type(exc)(*moved) from None


def _write(files: dict[str, str], folder: Path) -> None:
    """Create every file or none: exclusive creation, and what was written is removed on failure."""
    from gwpipe.errors import Problem, WriteError

    written: list[Path] = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            path = folder / name
            with path.open("x", encoding="utf-8") as handle:  # "x": a file that appeared meanwhile is kept
                written.append(path)
                handle.write(text)
    except OSError as exc:
        for path in written:
            path.unlink(missing_ok=True)
        where = exc.filename or str(folder)
        raise WriteError(Problem(str(where), f"cannot write: {exc.strerror}")) from None


@click.command(name="init")
@click.option("--env", "environments", multiple=True, metavar="NAME", help="An environment to create (repeat).")
@click.option("--gateway", default="public", show_default=True, help="Name of the shared Gateway.")
@click.option(
    "--domain", default="example.com", show_default=True, help="prod serves www.DOMAIN, others www.ENV.DOMAIN."
)
@click.option("--namespace", default="default", show_default=True, help="Namespace of Gateways and VirtualServices.")
@click.option("--issuer", metavar="NAME", help="cert-manager ClusterIssuer (ACME): hosts get TLS and a redirect.")
@click.option("--gitops", type=click.Choice(["argocd", "flux"]), help="Write Argo CD Applications or Flux objects.")
@click.option("--gitops-url", metavar="URL", help="The GitOps repository the controller pulls (with --gitops).")
@options.specs
@options.plugins
@options.common
def command(
    environments: tuple[str, ...],
    gateway: str,
    domain: str,
    namespace: str,
    issuer: str | None,
    gitops: str | None,
    gitops_url: str | None,
    specs_dir: Path,
    blocked: tuple[str, ...],
    templates: tuple[str, ...],
    debug: bool,
    output: str,
) -> None:
    """Start a fleet: write specs/_base.yaml and one spec per --env, then validate and render them."""
    _set_common(debug, output)
    with failures():
        from gwpipe.errors import Problem, UsageError

        fleet = Fleet(environments, gateway, domain, namespace, issuer, gitops, gitops_url)
        _check_flags(fleet)
        files = scaffold(fleet)
        taken = [name for name in files if (specs_dir / name).exists() or (specs_dir / name).is_symlink()]
        if taken:
            raise UsageError(Problem(str(specs_dir / taken[0]), "already exists; init never overwrites a spec"))
        # rendered from a scratch copy first, so that nothing is written unless every environment renders
        with tempfile.TemporaryDirectory(prefix="gwpipe-init-") as scratch:
            for name, text in files.items():
                (Path(scratch) / name).write_text(text, encoding="utf-8")
            rendered = _rendered_as(files, Path(scratch), specs_dir, blocked)
        _write(files, specs_dir)
        if STATE.output == "json":
            written = [str(specs_dir / name) for name in files]
            objects = dict(rendered)
            click.echo(json.dumps({"ok": True, "files": written, "objects": objects}))
            return
        for name in files:
            click.echo(f"created {specs_dir / name}")
        for env, count in rendered:
            click.echo(f"{env}: valid, renders {count} objects")
        click.echo(f"next: gwpipe plan {fleet.environments[0]}, then gwpipe render --all")
