"""GitOps controllers: Argo CD Applications (or an ApplicationSet) and Flux Kustomizations per shard, waves, guards."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gwpipe.hooks.specs import hookimpl
from gwpipe.model import Finding, Placement, RenderedObject, ResourceRequest, Resources
from gwpipe.plugins import _istio as istio
from gwpipe.tree.layout import KUSTOMIZATION, environment_folders, shard_tier

if TYPE_CHECKING:
    from gwpipe.errors import Problem
    from gwpipe.importer.model import ImportClaim, ImportContext
    from gwpipe.spec.load import Spec

NAME = "gitops"
# Argo CD / Flux objects live here, outside the environment's own kustomization: the controller's
# bootstrap applies this folder, and the objects in it point at the environment (or its shards)
GITOPS_FOLDER = "_gitops"
ARGO_API = "argoproj.io/v1alpha1"
FLUX_SOURCE_API = "source.toolkit.fluxcd.io/v1"
FLUX_KUSTOMIZE_API = "kustomize.toolkit.fluxcd.io/v1"
WAVE = "argocd.argoproj.io/sync-wave"
SYNC_OPTIONS = "argocd.argoproj.io/sync-options"
FLUX_PRUNE = "kustomize.toolkit.fluxcd.io/prune"
# fields istiod rewrites after admission (caBundle patched in; failurePolicy flipped to Fail once
# istiod is ready, istio/istio#52785); Gateway and VirtualService have no such fields
IGNORE_DIFFERENCES = [
    {
        "group": "admissionregistration.k8s.io",
        "kind": "MutatingWebhookConfiguration",
        "jqPathExpressions": [".webhooks[]?.clientConfig.caBundle"],
    },
    {
        "group": "admissionregistration.k8s.io",
        "kind": "ValidatingWebhookConfiguration",
        "jqPathExpressions": [".webhooks[]?.clientConfig.caBundle", ".webhooks[]?.failurePolicy"],
    },
]
SYNC_OPTIONS_APP = ["PruneLast=true", "RespectIgnoreDifferences=true"]
MAX_NAME = 63  # names become label values (Argo CD instance label, Flux's kustomize.toolkit.fluxcd.io/name)

_FLUX_DURATION = {
    "type": "string",
    "regex": r"([0-9]+(\.[0-9]+)?(ms|s|m|h))+",
    "meta": {"description": "a duration such as 30s, 5m or 1h"},
}
_SCHEMA = {
    "type": "dict",
    "schema": {
        "repoURL": {
            "type": "string",
            "required": True,
            "maxlength": 2048,
            "regex": r"(https://|ssh://)[A-Za-z0-9._~:/?#@!$&()*+,;=%-]+|git@[A-Za-z0-9.-]+:[A-Za-z0-9._/~-]+",
            "meta": {"description": "an https://, ssh:// or git@host:path repository URL"},
        },
        "revision": {
            "type": "string",
            "maxlength": 255,
            "regex": r"[A-Za-z0-9][A-Za-z0-9._/-]*",
            "meta": {"description": "a branch name"},
        },
        "path": {
            "type": "string",
            "maxlength": 512,
            "regex": r"[A-Za-z0-9._{}/-]+",
            "meta": {"description": "a relative folder such as {env} or clusters/{env}"},
        },
        "argocd": {
            "type": "dict",
            "schema": {
                "enabled": {"type": "boolean"},
                "project": istio.LABEL,
                "namespace": istio.LABEL,
                "applicationSet": {"type": "boolean"},
                "destination": {
                    "type": "dict",
                    "schema": {
                        "server": {
                            "type": "string",
                            "regex": r"https://[A-Za-z0-9._:/-]+",
                            "excludes": "name",
                            "meta": {"description": "an https:// API server URL"},
                        },
                        "name": {**istio.LABEL, "excludes": "server"},
                    },
                },
            },
        },
        "flux": {
            "type": "dict",
            "schema": {
                "enabled": {"type": "boolean"},
                "namespace": istio.LABEL,
                "interval": _FLUX_DURATION,
                "timeout": _FLUX_DURATION,
                "sourceRef": istio.LABEL,
                "createSource": {"type": "boolean"},
            },
        },
    },
}


@dataclass(frozen=True)
class Settings:
    """The `gitops` spec key with its defaults applied."""

    env: str
    repo_url: str
    revision: str
    path: str
    argocd: dict[str, Any] | None
    flux: dict[str, Any] | None
    # the namespace Argo CD creates (`namespaces: {create: sync-option}`), else None
    create_namespace: str | None = None


def settings(spec: Spec) -> Settings | None:
    """None without a `gitops` key; Argo CD is the controller unless `argocd`/`flux` say otherwise."""
    raw = spec.get("gitops")
    if raw is None:
        return None
    argocd, flux = raw.get("argocd"), raw.get("flux")
    argo_on = argocd.get("enabled", True) if argocd is not None else flux is None
    flux_on = flux is not None and flux.get("enabled", True)
    return Settings(
        env=spec.name,
        repo_url=raw["repoURL"],
        revision=raw.get("revision", "main"),
        path=str(raw.get("path", "{env}")).replace("{env}", spec.name).strip("/"),
        argocd={**(argocd or {})} if argo_on else None,
        flux={**(flux or {})} if flux_on else None,
        create_namespace=istio.namespace(spec) if argo_on and _namespace_option(spec) else None,
    )


def _namespace_option(spec: Spec) -> bool:
    """The namespaces plugin's `create: sync-option` (read here: the Applications are this plugin's)."""
    return bool((spec.get("namespaces") or {}).get("create") == "sync-option")


@hookimpl
def gwpipe_spec_schema() -> dict[str, dict[str, Any]]:
    return {"": {"gitops": _SCHEMA}}


@hookimpl
def gwpipe_validate_spec(spec: Spec) -> list[Problem]:
    raw = spec.get("gitops")
    if raw is None or "path" not in raw:
        return []
    path = str(raw["path"])
    if re.sub(r"\{env\}", "", path).count("{") or re.sub(r"\{env\}", "", path).count("}"):
        return [spec.problem(("gitops", "path"), f"only the placeholder {{env}} is known, got {path!r}")]
    parts = path.replace("{env}", spec.name).split("/")
    if path.startswith("/") or any(p in ("", ".", "..") or p.lower() == ".git" for p in parts):
        return [
            spec.problem(
                ("gitops", "path"), f"must be a relative folder without '.', '..', '.git' or '//', got {path!r}"
            )
        ]
    return []


def wave_of(request: ResourceRequest) -> int:
    """The request's declared apply order: Namespaces, then installs and Certificates, then Gateways, then routes."""
    return request.placement.apply_order


@hookimpl(trylast=True)
def gwpipe_modify_resources(spec: Spec, resources: Resources) -> None:
    """Annotate every environment object (sync wave, prune guards), then add the controller objects for its layout."""
    config = settings(spec)
    if config is None:
        return
    for request in list(resources):
        if not request.placement.folder:
            _annotate(request, config)
    for request in controller_requests(config, environment_folders(resources)):
        resources.add(request)


def _annotate(request: ResourceRequest, config: Settings) -> None:
    existing = dict(request.values.get("annotations") or {})
    wanted: dict[str, str] = {}
    if config.argocd is not None:
        wanted[WAVE] = str(wave_of(request))
        # objects whose deletion takes traffic down: Argo CD asks before pruning them, Flux never prunes them
        if request.placement.protected:
            options = [o for o in str(existing.get(SYNC_OPTIONS, "")).split(",") if o]
            if not any(o.startswith("Prune=") for o in options):
                wanted[SYNC_OPTIONS] = ",".join([*options, "Prune=confirm"])
    if config.flux is not None and request.placement.protected:
        wanted[FLUX_PRUNE] = "disabled"
    merged = {**existing, **{k: v for k, v in wanted.items() if k not in existing or k == SYNC_OPTIONS}}
    if merged != existing:
        request.values["annotations"] = merged
        request.touch(NAME)


def object_name(env: str, folder: str) -> str:
    """`<env>` or `<env>-<shard>`, hashed down to 63 characters when longer."""
    name = f"{env}-{folder}" if folder else env
    if len(name) <= MAX_NAME:
        return name
    return f"{name[: MAX_NAME - 9].rstrip('-')}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def source_path(config: Settings, folder: str) -> str:
    return f"{config.path}/{folder}" if folder else config.path


def controller_requests(config: Settings, folders: list[str]) -> list[ResourceRequest]:
    """Argo CD and/or Flux objects for the environment's folders ("" when it is flat)."""
    requests = []
    if config.argocd is not None:
        requests += _argo(config, config.argocd, folders)
    if config.flux is not None:
        requests += _flux(config, config.flux, folders)
    return requests


def _argo(config: Settings, argo: dict[str, Any], folders: list[str]) -> list[ResourceRequest]:
    namespace = argo.get("namespace", "argocd")
    destination = argo.get("destination") or {"server": "https://kubernetes.default.svc"}
    sync_options = SYNC_OPTIONS_APP
    if config.create_namespace:
        # Argo CD creates only the destination namespace; the namespaces plugin writes manifests for the others
        destination = {**destination, "namespace": config.create_namespace}
        sync_options = [*SYNC_OPTIONS_APP, "CreateNamespace=true"]
    common = {
        "project": argo.get("project", "default"),
        "repo_url": config.repo_url,
        "revision": config.revision,
        "destination": dict(sorted(destination.items())),
        "ignore_differences": IGNORE_DIFFERENCES,
        "sync_options": sync_options,
    }
    if argo.get("applicationSet"):
        sharded = folders != [""]
        directories = (
            [{"path": f"{config.path}/*"}, {"path": f"{config.path}/{GITOPS_FOLDER}", "exclude": True}]
            if sharded
            else [{"path": config.path}]
        )
        values = {
            **common,
            "directories": directories,
            "app_name": f"{config.env}-{{{{ .path.basename }}}}" if sharded else config.env,
            "app_path": "{{ .path.path }}",
        }
        return [_request("gitops/applicationset.yaml.j2", ARGO_API, "ApplicationSet", config.env, namespace, values)]
    return [
        _request(
            "gitops/application.yaml.j2",
            ARGO_API,
            "Application",
            object_name(config.env, folder),
            namespace,
            {**common, "path": source_path(config, folder), "annotations": {WAVE: str(shard_tier(folder))}},
        )
        for folder in folders
    ]


def _flux(config: Settings, flux: dict[str, Any], folders: list[str]) -> list[ResourceRequest]:
    namespace = flux.get("namespace", "flux-system")
    source = flux.get("sourceRef", "gitops")
    interval = flux.get("interval", "5m")
    requests = []
    if flux.get("createSource", True):
        values = {"url": config.repo_url, "branch": config.revision, "interval": interval}
        requests.append(
            _request("gitops/gitrepository.yaml.j2", FLUX_SOURCE_API, "GitRepository", source, namespace, values)
        )
    tiers = sorted({shard_tier(f) for f in folders})
    for folder in folders:
        tier = shard_tier(folder)
        earlier = [t for t in tiers if t < tier]
        before = [object_name(config.env, f) for f in folders if earlier and shard_tier(f) == earlier[-1]]
        values = {
            "path": f"./{source_path(config, folder)}",
            "source": source,
            "interval": interval,
            "timeout": flux.get("timeout", "5m"),
            "depends_on": before,
        }
        name = object_name(config.env, folder)
        requests.append(
            _request("gitops/flux-kustomization.yaml.j2", FLUX_KUSTOMIZE_API, "Kustomization", name, namespace, values)
        )
    return requests


def _request(template: str, api: str, kind: str, name: str, namespace: str, values: dict[str, Any]) -> ResourceRequest:
    return ResourceRequest(
        NAME, template, api, kind, name, namespace, values, placement=Placement(folder=GITOPS_FOLDER)
    )


@hookimpl
def gwpipe_check(spec: Spec, objects: list[RenderedObject]) -> list[Finding]:
    """Every folder of the rendered layout is synced by some controller object (a later plugin may add objects)."""
    config = settings(spec)
    if config is None:
        return []
    folders = environment_folders(o.request for o in objects)
    findings = []
    synced = {o.request.values.get("path") for o in objects if o.request.plugin == NAME}
    for controller, on in (("Application", config.argocd), ("Kustomization", config.flux)):
        if on is None or (controller == "Application" and on.get("applicationSet")):
            continue
        prefix = "./" if controller == "Kustomization" else ""
        for folder in folders:
            if f"{prefix}{source_path(config, folder)}" not in synced:
                findings.append(
                    Finding(
                        "GWP0901",
                        "Error",
                        controller,
                        "",
                        object_name(config.env, folder),
                        f"no {controller} syncs folder {folder or '.'}: a plugin added objects after the gitops plugin",
                    )
                )
    return findings


@hookimpl
def gwpipe_commands() -> dict[str, str]:
    return {"status": "gwpipe.plugins.gitops.status:command"}


@hookimpl
def gwpipe_synced_folders(files: dict[str, bytes]) -> list[str]:
    """The folders the Applications, ApplicationSets and Flux Kustomizations in `_gitops/` sync."""
    found: list[str] = []
    for path, data in files.items():
        if path.startswith(f"{GITOPS_FOLDER}/") and not path.endswith(f"/{KUSTOMIZATION}"):
            found += _synced_paths(data)
    return found


def _synced_paths(data: bytes) -> list[str]:
    """spec.source.path (Application), spec.path (Flux Kustomization), git directories (ApplicationSet)."""
    import yaml  # only when a tree is compared: `gwpipe --help` imports this module

    from gwpipe.render.readback import Loader

    try:
        doc = yaml.load(data, Loader=Loader)
    except yaml.YAMLError:
        return []
    spec = doc.get("spec") if isinstance(doc, dict) else None
    if not isinstance(spec, dict):
        return []
    kind = doc.get("kind")
    if kind == "Application":
        source = spec.get("source")
        return [str(source["path"])] if isinstance(source, dict) and source.get("path") else []
    if kind == "Kustomization" and spec.get("path"):
        return [str(spec["path"]).removeprefix("./")]
    if kind == "ApplicationSet":
        found = []
        for generator in spec.get("generators") or []:
            git = generator.get("git") if isinstance(generator, dict) else None
            for entry in (git or {}).get("directories") or []:
                if isinstance(entry, dict) and entry.get("path") and not entry.get("exclude"):
                    found.append(str(entry["path"]).removesuffix("/*"))
        return found
    return []


@hookimpl
def gwpipe_import(context: ImportContext) -> list[ImportClaim]:
    if context.leftovers:
        return []
    from gwpipe.plugins.importers import gitops as importer  # only `gwpipe import` needs it

    return importer.claims(context)
