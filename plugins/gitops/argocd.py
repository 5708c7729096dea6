"""A small read-only client of the Argo CD REST API: one Application's sync and health, every failure one line."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from gwpipe.checks.secrets import redact
from gwpipe.errors import Problem, UsageError

TOKEN_VARIABLE = "ARGOCD_AUTH_TOKEN"
SERVER_VARIABLE = "ARGOCD_SERVER"
DEFAULT_NAMESPACE = "argocd"  # the control-plane namespace: Applications there need no appNamespace query
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
FAILED_PHASES = frozenset({"Failed", "Error"})
_MESSAGE_LIMIT = 300


class ApiFailure(Exception):
    """The API could not tell the Application's state; `what` is safe to print (token redacted)."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


@dataclass
class AppState:
    """What Argo CD reports about one Application (fields of `status` we judge)."""

    sync: str
    revision: str | None
    health: str
    health_message: str
    phase: str | None
    operation_message: str
    source_path: str | None = None


def server_url(given: str | None) -> str:
    """The API server as `https://host[:port]` (a bare host:port as the argocd CLI takes it means https)."""
    if not given:
        raise UsageError(Problem("--server", f"name the Argo CD API server (--server URL or {SERVER_VARIABLE})"))
    url = given if "://" in given else f"https://{given}"
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UsageError(Problem(f"--server {given!r}", "must be an https:// URL or host[:port]"))
    if "@" in parts.netloc:
        raise UsageError(Problem("--server", f"must not embed credentials; the token is read from {TOKEN_VARIABLE}"))
    if parts.scheme == "http" and parts.hostname not in LOOPBACK:
        raise UsageError(Problem(f"--server {given!r}", "plain http would send the token in clear; use https"))
    if parts.query or parts.fragment:
        raise UsageError(Problem(f"--server {given!r}", "must not carry a query or fragment"))
    return url.rstrip("/")


def token_from_environment() -> str:
    """The bearer token, only ever from ARGOCD_AUTH_TOKEN (argv is visible to every user of the machine)."""
    token = os.environ.get(TOKEN_VARIABLE, "")
    if not token:
        raise UsageError(Problem(TOKEN_VARIABLE, "is not set; export an Argo CD API token (never passed as an option)"))
    if any(not (33 <= ord(c) <= 126) for c in token):
        # an HTTP header cannot carry it, and requests would echo the header value in its error
        raise UsageError(Problem(TOKEN_VARIABLE, "contains whitespace or non-ASCII characters; not a valid token"))
    return token


class ArgoCD:
    """GET /api/v1/applications/{name} with a bearer token, a timeout and no retries."""

    def __init__(self, server: str, token: str, timeout: float, verify: bool | str = True) -> None:
        import requests

        self.server, self.token, self.timeout, self.verify = server, token, timeout, verify
        self.session = requests.Session()
        # no .netrc (it would replace the Authorization header) and no proxy credentials from the environment
        self.session.trust_env = False
        self.session.headers.update({"Authorization": f"Bearer {token}", "Accept": "application/json"})

    def close(self) -> None:
        self.session.close()

    def application(self, name: str, namespace: str) -> AppState:
        """The Application's state, or ApiFailure naming what went wrong."""
        try:
            payload = self._get(name, namespace)
        except ApiFailure as exc:
            raise ApiFailure(redact(exc.what, (self.token,))) from None
        return parse_application(payload)

    def _get(self, name: str, namespace: str) -> Any:
        import requests
        import urllib3

        params = {"appNamespace": namespace} if namespace != DEFAULT_NAMESPACE else {}
        url = f"{self.server}/api/v1/applications/{quote(name, safe='')}"
        try:
            with warnings.catch_warnings():
                # --insecure was asked for explicitly; one warning per request would bury the report
                warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
                response = self.session.get(
                    url, params=params, timeout=self.timeout, verify=self.verify, allow_redirects=False
                )
        except requests.exceptions.SSLError as exc:
            raise ApiFailure(f"TLS handshake failed ({_cause(exc)}); pass --ca-file, or --insecure") from None
        except requests.exceptions.Timeout:
            raise ApiFailure(f"no answer within {self.timeout:g}s (timeout)") from None
        except requests.exceptions.ConnectionError as exc:
            raise ApiFailure(f"cannot connect: {_cause(exc)}") from None
        except requests.RequestException as exc:
            raise ApiFailure(f"request failed: {type(exc).__name__}") from None
        return _payload(response)


def _payload(response: Any) -> Any:
    status = int(response.status_code)
    try:
        payload = response.json()
    except ValueError:
        payload = None
    detail = _message(payload)
    said = f": {detail}" if detail else ""
    if status == 200:
        if not isinstance(payload, dict):
            kind = response.headers.get("Content-Type", "no content type").split(";")[0]
            raise ApiFailure(f"answer is not JSON ({kind}); is --server the Argo CD API server?")
        return payload
    if 300 <= status < 400:
        raise ApiFailure(f"redirected ({status}); pass the API server's own URL as --server")
    if status == 401:
        raise ApiFailure(f"unauthorized (401), the token in {TOKEN_VARIABLE} was refused{said}")
    if status == 403:
        raise ApiFailure(f"permission denied (403), the token may not get this application{said}")
    if status == 404:
        raise ApiFailure(f"application not found (404){said}; is its _gitops folder applied?")
    if status >= 500:
        raise ApiFailure(f"server error ({status}){said}")
    raise ApiFailure(f"unexpected answer ({status}){said}")


def _message(payload: Any) -> str:
    """Argo CD's error text (`message`, else `error`), on one printable line, capped."""
    if not isinstance(payload, dict):
        return ""
    text = payload.get("message") or payload.get("error") or ""
    return _line(text) if isinstance(text, str) else ""


def _line(text: str) -> str:
    flat = "".join(c if c.isprintable() else " " for c in text).strip()
    return flat if len(flat) <= _MESSAGE_LIMIT else flat[: _MESSAGE_LIMIT - 3] + "..."


def _cause(exc: BaseException) -> str:
    """The innermost OS-level reason (e.g. `connection refused`) instead of urllib3's nested repr."""
    seen: set[int] = set()
    current: BaseException | None = exc
    reason = type(exc).__name__
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.strerror:
            reason = current.strerror.lower()
        elif type(current).__name__ == "SSLCertVerificationError":
            reason = getattr(current, "verify_message", "") or "certificate verify failed"
        inner = getattr(current, "reason", None)
        current = inner if isinstance(inner, BaseException) else (current.__cause__ or current.__context__)
    return _line(reason)


def parse_application(payload: dict[str, Any]) -> AppState:
    """status.sync, status.health and status.operationState of an Application; absent fields are Unknown."""
    status = payload.get("status")
    if not isinstance(payload.get("metadata"), dict) or not isinstance(status, dict | None):
        raise ApiFailure("answer is not an Argo CD Application (no metadata)")
    status = status or {}
    sync, health, operation = (_dict(status, key) for key in ("sync", "health", "operationState"))
    revision = sync.get("revision")
    if not isinstance(revision, str) or not revision:
        revisions = sync.get("revisions")
        revision = revisions[0] if isinstance(revisions, list) and revisions and isinstance(revisions[0], str) else None
    source = _dict(_dict(payload, "spec"), "source")
    phase = operation.get("phase")
    return AppState(
        sync=_line(str(sync.get("status") or "Unknown")),
        revision=_line(revision) if revision else None,
        health=_line(str(health.get("status") or "Unknown")),
        health_message=_line(str(health.get("message") or "")),
        phase=_line(phase) if isinstance(phase, str) and phase else None,
        operation_message=_line(str(operation.get("message") or "")),
        source_path=source.get("path") if isinstance(source.get("path"), str) else None,
    )


def _dict(parent: dict[str, Any], key: str) -> dict[str, Any]:
    value = parent.get(key)
    return value if isinstance(value, dict) else {}
