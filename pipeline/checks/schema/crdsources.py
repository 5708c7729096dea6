"""Where CRDs come from (files, folders, pinned URLs, the live cluster) and reading them, once per process."""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from gwpipe.errors import CheckError, Problem, SpecError, UsageError
from gwpipe.render.readback import Loader
from gwpipe.spec.load import Spec

ENV_VAR = "GWPIPE_CRDS"
CLUSTER_PREFIX = "cluster:"
SUFFIXES = (".yaml", ".yml", ".json")
MAX_DOWNLOAD = 64 * 1024 * 1024
TIMEOUT_S = 30
# a URL names an immutable release: a version (v1.2, 1.24.0) or a full commit id somewhere in its path or query
_PINNED = re.compile(
    r"(?:^|[/@=_-])v?\d+\.\d+(?:\.\d+)?(?:[-+.][0-9A-Za-z.]+)?(?:[/?&#_-]|$)|(?:^|/)[0-9a-f]{40}(?:/|$)"
)
_ENV_ENTRY = re.compile(r"https?://[^/:]*(?::\d+)?[^:]*|cluster:[^:]*|[^:]*")
_USERINFO = re.compile(r"^(https?://)[^/@]*@")
_CRD_KINDS = ("CustomResourceDefinition",)
_LIST_KINDS = ("List", "CustomResourceDefinitionList")

_DOCS: dict[Any, list[dict[str, Any]]] = {}


@dataclass(frozen=True)
class Source:
    """One configured CRD source: `kind` is path, url or cluster; `where` names its configuration for errors."""

    kind: str
    ref: str
    where: str
    from_spec: bool = False


def configured_sources(spec: Spec) -> list[Source]:
    """GWPIPE_CRDS entries first, then the spec's `checks.crds`; an earlier source shadows a CRD in a later one."""
    sources = [_env_source(entry, i) for i, entry in enumerate(_env_entries())]
    checks = spec.get("checks") or {}
    for i, entry in enumerate(checks.get("crds") or [] if isinstance(checks, dict) else []):
        sources.append(_spec_source(spec, str(entry), i))
    return sources


def _env_entries() -> list[str]:
    raw = os.environ.get(ENV_VAR, "")
    if os.pathsep != ":":
        return [e for e in raw.split(os.pathsep) if e.strip()]
    # ':' also occurs inside URLs and cluster:CONTEXT, so entries are scanned rather than split
    entries, pos = [], 0
    while pos <= len(raw):
        match = _ENV_ENTRY.match(raw, pos)
        entry = match.group(0) if match else ""
        if entry.strip():
            entries.append(entry)
        pos += len(entry) + 1
    return entries


def _kind_of(entry: str) -> str:
    if entry.startswith(CLUSTER_PREFIX):
        return "cluster"
    if entry.startswith(("http://", "https://")):
        return "url"
    return "path"


def option_sources(entries: list[str], option: str) -> list[Source]:
    """Sources named on the command line (`option` names them in errors), in the GWPIPE_CRDS entry syntax."""
    return [_env_source(entry, i, option) for i, entry in enumerate(entries)]


def env_sources() -> list[Source]:
    """The GWPIPE_CRDS entries."""
    return [_env_source(entry, i) for i, entry in enumerate(_env_entries())]


def _env_source(entry: str, index: int, label: str = ENV_VAR) -> Source:
    where = f"{label}[{index}]"
    kind = _kind_of(entry)
    if kind == "path":
        path = Path(os.path.abspath(os.path.expanduser(entry)))
        if not path.exists():
            raise UsageError(Problem(where, f"crd source not found, got {entry!r}"))
        return Source("path", str(path), where)
    if kind == "url":
        _require_pinned(entry, where, UsageError)
    return Source(kind, entry[len(CLUSTER_PREFIX) :] if kind == "cluster" else entry, where)


def _spec_source(spec: Spec, entry: str, index: int) -> Source:
    path_key: tuple[str | int, ...] = ("checks", "crds", index)
    where = spec.where(*path_key)
    kind = _kind_of(entry)
    if kind == "url":
        _require_pinned(entry, where, SpecError)
        return Source("url", entry, where, True)
    if kind == "cluster":
        return Source("cluster", entry[len(CLUSTER_PREFIX) :], where, True)
    return Source("path", str(spec.resolve_path(path_key, "crd source")), where, True)


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _require_pinned(url: str, where: str, error: type[SpecError] | type[UsageError]) -> None:
    if not _PINNED.search(url.split("://", 1)[1].split("/", 1)[-1]):
        raise error(Problem(where, f"crd url must be pinned to a release version or a commit id, got {redact(url)!r}"))


def redact(url: str) -> str:
    """`url` with any user:password@ replaced by ***@, for messages."""
    return _USERINFO.sub(r"\1***@", url)


def load_documents(source: Source) -> list[dict[str, Any]]:
    """Every CustomResourceDefinition of `source` (List documents unpacked); read once per process."""
    if source.kind == "path":
        return _path_documents(source)
    if source.kind == "url":
        key: Any = ("url", source.ref)
        if key not in _DOCS:
            _DOCS[key] = _crds_in(_download(source), redact(source.ref), source)
        return _DOCS[key]
    key = ("cluster", source.ref, os.environ.get("KUBECONFIG", ""))
    if key not in _DOCS:
        _DOCS[key] = _cluster_crds(source)
    return _DOCS[key]


def _path_documents(source: Source) -> list[dict[str, Any]]:
    root = Path(source.ref)
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.suffix in SUFFIXES and p.is_file())
    docs: list[dict[str, Any]] = []
    for file in files:
        real = Path(os.path.realpath(file))
        if source.from_spec and not _inside(real, Path(os.path.realpath(root if root.is_dir() else root.parent))):
            raise CheckError(Problem(str(file), "refusing to follow a symlink out of the crd folder"))
        stat = real.stat()
        key = ("file", str(real), stat.st_mtime_ns, stat.st_size)
        if key not in _DOCS:
            _DOCS[key] = _crds_in(real.read_bytes(), str(file), source)
        docs.extend(_DOCS[key])
    if not docs:
        raise CheckError(Problem(source.where, f"no CustomResourceDefinition found in {source.ref}"))
    return docs


def _crds_in(data: bytes, name: str, source: Source) -> list[dict[str, Any]]:
    try:
        loaded = list(yaml.load_all(data, Loader=Loader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{name}:{mark.line + 1}:{mark.column + 1}" if mark is not None else name
        raise CheckError(
            Problem(where, f"invalid YAML in crd source: {getattr(exc, 'problem', None) or exc}")
        ) from None
    out: list[dict[str, Any]] = []
    for doc in loaded:
        items = doc.get("items") if isinstance(doc, dict) and doc.get("kind") in _LIST_KINDS else [doc]
        out.extend(d for d in items or [] if isinstance(d, dict) and d.get("kind") in _CRD_KINDS)
    return out


def cache_dir() -> Path:
    """$XDG_CACHE_HOME/gwpipe/crds (default ~/.cache/gwpipe/crds)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "gwpipe" / "crds"


def cache_path(url: str) -> Path:
    return cache_dir() / hashlib.sha256(url.encode("utf-8")).hexdigest()


def _fetch_problem(source: Source, reason: str) -> Problem:
    hint = (
        f"{source.where} lists this URL; fetch it once online (it is then cached), or save the file and run "
        "`gwpipe crds import FILE`, or drop the entry: the built-in catalog covers Istio, Gateway API, "
        "cert-manager, Argo CD and Flux"
    )
    return Problem(redact(source.ref), f"cannot fetch: {reason}", hint)


def _download(source: Source) -> bytes:
    cached = cache_path(source.ref)
    if cached.is_file():
        return cached.read_bytes()
    import requests  # only a URL source needs it

    try:
        with requests.get(source.ref, timeout=TIMEOUT_S, stream=True) as response:
            if response.status_code != 200:
                raise CheckError(_fetch_problem(source, f"HTTP {response.status_code}"))
            body = b""
            for chunk in response.iter_content(1 << 20):
                body += chunk
                if len(body) > MAX_DOWNLOAD:
                    raise CheckError(_fetch_problem(source, f"larger than {MAX_DOWNLOAD} bytes"))
    except requests.ConnectionError:
        raise CheckError(_fetch_problem(source, "cannot connect (offline, or the host is unreachable)")) from None
    except requests.Timeout:
        raise CheckError(_fetch_problem(source, f"no answer within {TIMEOUT_S}s")) from None
    except requests.RequestException as exc:
        raise CheckError(_fetch_problem(source, type(exc).__name__)) from None
    _crds_in(body, redact(source.ref), source)  # never cache what does not parse
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_name(f".{cached.name}.{os.getpid()}.tmp")
    tmp.write_bytes(body)
    os.replace(tmp, cached)
    return body


def _cluster_crds(source: Source) -> list[dict[str, Any]]:
    from kubernetes import client, config
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    label = f"{CLUSTER_PREFIX}{source.ref}"
    kubeconfig = os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
    try:
        new_client: Any = config.new_client_from_config
        api_client = new_client(config_file=kubeconfig, context=source.ref or None)
    except config.ConfigException as exc:
        raise CheckError(Problem(source.where, f"{label}: cannot load kubeconfig: {exc}")) from None
    try:
        api = client.ApiextensionsV1Api(api_client)
        response: Any = api.list_custom_resource_definition(_preload_content=False, _request_timeout=TIMEOUT_S)
        data = json.loads(response.data)
    except ApiException as exc:
        raise CheckError(
            Problem(source.where, f"{label}: cannot list CustomResourceDefinitions: HTTP {exc.status} {exc.reason}")
        ) from None
    except (HTTPError, OSError, ValueError) as exc:
        raise CheckError(
            Problem(source.where, f"{label}: cannot list CustomResourceDefinitions: {type(exc).__name__}")
        ) from None
    finally:
        api_client.close()
    items = data.get("items") if isinstance(data, dict) else None
    return [d for d in items or [] if isinstance(d, dict)]


def clear_cache() -> None:
    """Forget what was read (tests)."""
    _DOCS.clear()
