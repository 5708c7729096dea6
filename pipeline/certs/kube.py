"""A Kubernetes API client chosen as kubectl chooses one, and API failures as one clear line each."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from gwpipe.checks.secrets import redact
from gwpipe.errors import GwpipeError, Problem, UsageError

T = TypeVar("T")
CERT_MANAGER = ("cert-manager.io", "v1", "certificates")


class ClusterError(GwpipeError):
    """The Kubernetes API refused or failed a request (exit 1)."""


@dataclass(frozen=True)
class Cluster:
    """API handles for one kubeconfig context, and how to name it in messages."""

    where: str
    server: str
    api: Any  # kubernetes.client.ApiClient
    timeout: float

    def core(self) -> Any:
        from kubernetes import client

        return client.CoreV1Api(self.api)

    def custom(self) -> Any:
        from kubernetes import client

        return client.CustomObjectsApi(self.api)


def kubeconfig_path(explicit: str | None) -> str:
    """--kubeconfig, else $KUBECONFIG (a path list), else ~/.kube/config, as kubectl does."""
    if explicit:
        return explicit
    return os.environ.get("KUBECONFIG") or os.path.join("~", ".kube", "config")


def connect(kubeconfig: str | None, context: str | None, timeout: float) -> Cluster:
    """A client for `context` (default: the current context) of the chosen kubeconfig."""
    from kubernetes import client, config

    path = kubeconfig_path(kubeconfig)
    where = f"kubeconfig {path}"
    files = [p for p in path.split(os.pathsep) if p]
    if not any(os.path.isfile(os.path.expanduser(p)) for p in files):
        raise UsageError(Problem(where, "no such file", "pass --kubeconfig or set KUBECONFIG"))
    try:
        contexts, current = config.list_kube_config_contexts(config_file=path)  # type: ignore[no-untyped-call]
    except Exception as exc:  # noqa: BLE001 - any unreadable kubeconfig is a usage problem, named once
        raise UsageError(Problem(where, f"cannot be read: {_first_line(exc)}")) from None
    names = {c["name"]: c for c in contexts or []}
    chosen = context or _first_current_context(files) or (current or {}).get("name")
    if not chosen:
        raise UsageError(Problem(where, "has no current-context; pass --context"))
    if chosen not in names:
        raise UsageError(Problem(where, f"no context {chosen!r}; allowed: {', '.join(sorted(names)) or 'none'}"))
    cluster_name = (names[chosen].get("context") or {}).get("cluster", "?")
    configuration = client.Configuration()
    try:
        config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=path, context=chosen, client_configuration=configuration, persist_config=False
        )
    except Exception as exc:  # noqa: BLE001 - e.g. an exec plugin that fails, or a missing CA file
        raise UsageError(Problem(f"{cluster_name}/{chosen}", f"cannot load credentials: {_first_line(exc)}")) from None
    # one attempt per request: a timeout means --timeout, not four times that
    configuration.retries = 0
    return Cluster(
        f"{cluster_name}/{chosen}", _without_userinfo(configuration.host), client.ApiClient(configuration), timeout
    )


def _first_current_context(files: list[str]) -> str | None:
    """kubectl takes current-context from the first file that sets it; the client library takes the last."""
    import yaml

    for name in files:
        try:
            with open(os.path.expanduser(name), encoding="utf-8") as handle:
                data = yaml.safe_load(handle)
        except (OSError, yaml.YAMLError):
            continue
        if isinstance(data, dict) and data.get("current-context"):
            return str(data["current-context"])
    return None


def call(
    cluster: Cluster,
    what: str,
    fn: Callable[..., T],
    *args: Any,
    missing_ok: str | None = None,
    unserved: str | None = None,
) -> T | None:
    """Run one API call; None when `missing_ok` names the object and the API says it does not exist.

    A 404 about anything else means the API itself is not served; `unserved` then says why it may be.

    Every other failure becomes a ClusterError naming the cluster and context; response headers and
    bodies are never shown as they are (a body may be a Secret).
    """
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    try:
        return fn(*args, _request_timeout=cluster.timeout)
    except ApiException as exc:
        status = _status(exc.body)
        if exc.status == 404 and missing_ok is not None and (status.get("details") or {}).get("name") == missing_ok:
            return None
        raise ClusterError(Problem(cluster.where, _describe(exc.status, exc.reason, status, what, unserved))) from None
    except HTTPError as exc:
        raise ClusterError(Problem(cluster.where, f"{what}: {_network(exc, cluster)}")) from None


def _status(body: Any) -> dict[str, Any]:
    try:
        data = json.loads(body) if isinstance(body, (str, bytes)) else None
    except ValueError:
        return {}
    return data if isinstance(data, dict) and data.get("kind") == "Status" else {}


def _describe(code: int | None, reason: str | None, status: dict[str, Any], what: str, unserved: str | None) -> str:
    message = clean_text(str(status.get("message", "")))
    if code == 401:
        return f"{what}: unauthorized (401): the kubeconfig credentials were rejected"
    if code == 403:
        return f"{what}: forbidden (403)" + (f": {message}" if message else "")
    if code == 404:
        if unserved:
            return f"{what}: not found (404): {unserved}"
        return f"{what}: not found (404)" + (f": {message}" if message else "")
    if code == 0:
        return f"{what}: {clean_text(reason or 'request failed')}"
    return f"{what}: {code} {clean_text(reason or '')}" + (f": {message}" if message else "")


def _network(exc: Exception, cluster: Cluster) -> str:
    from urllib3.exceptions import NewConnectionError, ProtocolError, SSLError, TimeoutError

    reason = getattr(exc, "reason", None) or exc
    # NewConnectionError subclasses ConnectTimeoutError in urllib3, so it is told apart first
    if isinstance(reason, NewConnectionError) and "refused" in str(reason).lower():
        return f"connection refused ({cluster.server})"
    if isinstance(reason, TimeoutError) and not isinstance(reason, NewConnectionError):
        return f"timed out after {cluster.timeout:g}s ({cluster.server})"
    if isinstance(reason, SSLError):
        return f"TLS error talking to {cluster.server}: {clean_text(str(reason))}"
    if isinstance(reason, (NewConnectionError, ProtocolError)):
        return f"cannot connect to {cluster.server}: {clean_text(str(reason))}"
    return f"request failed ({cluster.server}): {type(reason).__name__}"


def clean_text(text: str, limit: int = 300) -> str:
    """Cluster-supplied text made safe to print: one line, PEM blocks redacted, capped."""
    line = " ".join(redact(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _first_line(exc: Exception) -> str:
    return clean_text(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)


def _without_userinfo(url: str) -> str:
    return re.sub(r"//[^/@]*@", "//", url)
