"""A stand-in of the Argo CD REST API server on 127.0.0.1: GET /api/v1/applications/{name}, strict about auth.

It answers with the documented Application shape (metadata, spec.source, status.sync, status.health,
status.operationState), looks Applications up by name and `appNamespace` (default `argocd`, as
Argo CD does for apps in any namespace), answers 401 without or with a wrong bearer token, 403
("permission denied", gRPC code 7) for applications the token may not see, 404 with Argo CD's
grpc-gateway error JSON (code 5) for unknown ones, can answer slowly or with a non-JSON body, and
logs every request (path, query, headers) so tests can assert the request shape. Optionally TLS.
"""

from __future__ import annotations

import json
import ssl
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

PREFIX = "/api/v1/applications/"


@dataclass
class Raw:
    """Answer a request for this application with exactly these bytes."""

    status: int
    body: bytes
    content_type: str = "text/html; charset=utf-8"


class ArgoCDStandIn:
    """Holds Applications by (namespace, name); every request is logged as {path, name, query, headers, status}."""

    def __init__(self, token: str, tls: ssl.SSLContext | None = None) -> None:
        self.token = token
        self.apps: dict[tuple[str, str], dict[str, Any]] = {}
        self.forbidden: set[str] = set()
        self.slow: dict[str, float] = {}
        self.raw: dict[str, Raw] = {}
        self.log: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                status, body, content_type = stand_in.handle(self.path, dict(self.headers.items()))
                delay = stand_in.slow.get(stand_in.name_of(self.path), 0.0)
                if delay and stand_in._release.wait(delay):
                    return  # the test is over; the client gave up long ago
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # a client that timed out closed the connection

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.scheme = "https" if tls is not None else "http"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> ArgoCDStandIn:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.server.server_address[1]}"

    def add(
        self,
        name: str,
        revision: str,
        *,
        namespace: str = "argocd",
        path: str | None = None,
        sync: str = "Synced",
        health: str = "Healthy",
        health_message: str = "",
        phase: str = "Succeeded",
        operation_message: str = "successfully synced (all tasks run)",
    ) -> dict[str, Any]:
        """An Application as the API returns it (fields gwpipe does not read are present too, as in Argo CD)."""
        health_status: dict[str, Any] = {"status": health}
        if health_message:
            health_status["message"] = health_message
        app = {
            "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{namespace}-{name}", "generation": 3},
            "spec": {
                "project": "default",
                "source": {"repoURL": "https://git.example.com/acme/gitops.git", "path": path or name},
                "destination": {"server": "https://kubernetes.default.svc"},
                "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
            },
            "status": {
                "sync": {"status": sync, "revision": revision, "comparedTo": {"source": {"path": path or name}}},
                "health": health_status,
                "operationState": {
                    "operation": {"sync": {"revision": revision}},
                    "phase": phase,
                    "message": operation_message,
                    "syncResult": {"revision": revision},
                    "startedAt": "2026-11-26T20:00:00Z",
                },
                "reconciledAt": "2026-11-26T20:00:05Z",
            },
        }
        self.apps[(namespace, name)] = app
        return app

    @staticmethod
    def name_of(raw_path: str) -> str:
        path = urlsplit(raw_path).path
        return unquote(path[len(PREFIX) :]) if path.startswith(PREFIX) else ""

    def handle(self, raw_path: str, headers: dict[str, str]) -> tuple[int, bytes, str]:
        with self._lock:
            parts = urlsplit(raw_path)
            query = dict(parse_qs(parts.query).items())
            name = self.name_of(raw_path)
            status, payload = self._route(parts.path, name, query, headers)
            raw = self.raw.get(name) if status == 200 else None
            self.log.append({"path": parts.path, "name": name, "query": query, "headers": headers, "status": status})
            if raw is not None:
                return raw.status, raw.body, raw.content_type
            return status, json.dumps(payload).encode(), "application/json"

    def _route(self, path: str, name: str, query: dict[str, list[str]], headers: dict[str, str]) -> tuple[int, Any]:
        auth = headers.get("Authorization")
        if auth is None:
            return 401, _error("no session information", 16)
        if auth != f"Bearer {self.token}":
            return 401, _error("invalid session: token signature is invalid", 16)
        if not path.startswith(PREFIX) or not name or "/" in name:
            return 404, _error("Not Found", 5)
        namespace = query.get("appNamespace", ["argocd"])[0]
        if name in self.forbidden:
            return 403, _error("permission denied", 7)
        app = self.apps.get((namespace, name))
        if app is None:
            return 404, _error(f'applications.argoproj.io "{name}" not found', 5)
        return 200, app


def _error(message: str, code: int) -> dict[str, Any]:
    """grpc-gateway's error body, which Argo CD's REST API returns."""
    return {"error": message, "code": code, "message": message}
