"""A stand-in of the Kubernetes API on 127.0.0.1 (plain HTTP), for Secrets and cert-manager Certificates only.

It answers the documented paths with the documented JSON: the objects themselves, and `Status` objects for
401 Unauthorized, 403 Forbidden, 404 NotFound (an object, or an API that is not served, as when cert-manager
is not installed), 409 AlreadyExists/Conflict and 422 Invalid. A delay makes requests time out. The
`kubernetes` client is used unmodified against it through a kubeconfig file the tests write. Plain HTTP keeps
the stand-in small; TLS to the API server is the client library's business, not gwpipe's.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

SECRET_PATH = re.compile(r"/api/v1/namespaces/([a-z0-9.-]+)/secrets(?:/([a-z0-9.-]+))?")
# the documented list API of namespaced resources: /api/v1/namespaces/NS/PLURAL, /apis/GROUP/VERSION/namespaces/NS/PLURAL
LIST_PATH = re.compile(r"/(?:api/(v1)|apis/([a-z0-9.-]+/[a-z0-9]+))/namespaces/([a-z0-9.-]+)/([a-z]+)")
CERTIFICATE_PATH = re.compile(r"/apis/cert-manager\.io/v1/namespaces/([a-z0-9.-]+)/certificates/([a-z0-9.-]+)")
USER = "system:serviceaccount:dev:gwpipe"


def status(code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """A `meta/v1 Status` as the API server sends with every failure."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "details": details or {},
        "code": code,
    }


def certificate(
    namespace: str,
    name: str,
    *,
    secret_name: str | None = None,
    dns_names: list[str],
    issuer: tuple[str, str] = ("ClusterIssuer", "dev-ca"),
    ready: str | None = "True",
    reason: str = "Ready",
    message: str = "Certificate is up to date and has not expired",
    not_after: str = "2099-01-01T00:00:00Z",
    renewal_time: str = "2098-12-01T00:00:00Z",
) -> dict[str, Any]:
    """A cert-manager.io/v1 Certificate with its status, as cert-manager writes it."""
    conditions = []
    if ready is not None:
        conditions.append(
            {
                "type": "Ready",
                "status": ready,
                "reason": reason,
                "message": message,
                "lastTransitionTime": "2026-01-01T00:00:00Z",
                "observedGeneration": 1,
            }
        )
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "generation": 1,
            "resourceVersion": "1",
            "uid": f"uid-{name}",
        },
        "spec": {
            "secretName": secret_name or name,
            "dnsNames": dns_names,
            "issuerRef": {"kind": issuer[0], "name": issuer[1], "group": "cert-manager.io"},
        },
        "status": {
            "conditions": conditions,
            "notBefore": "2026-01-01T00:00:00Z",
            "notAfter": not_after,
            "renewalTime": renewal_time,
            "revision": 1,
        },
    }


@dataclass
class KubeApiStandIn:
    """The server state: objects, who may do what, and a log of every request."""

    token: str = "stand-in-token-0123456789"
    certificates: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    secrets: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    forbidden: set[tuple[str, str, str]] = field(default_factory=set)  # (verb, resource, namespace)
    cert_manager: bool = True
    delay: float = 0.0
    log: list[tuple[str, str, int]] = field(default_factory=list)
    received: list[tuple[str, str]] = field(default_factory=list)
    bodies: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""
    # served by the list API: (apiVersion, plural) -> objects as stored (with status and server metadata)
    listed: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    _version: int = 1
    _stop: threading.Event = field(default_factory=threading.Event)

    def add_secret(
        self,
        namespace: str,
        name: str,
        data: dict[str, bytes],
        type_: str = "kubernetes.io/tls",
        annotations: dict[str, str] | None = None,
    ) -> None:
        self.secrets[(namespace, name)] = self._secret(namespace, name, type_, data, annotations or {})

    def add_certificate(self, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        self.certificates[(meta["namespace"], meta["name"])] = obj

    def add_object(self, obj: dict[str, Any], plural: str) -> dict[str, Any]:
        """Store `obj` as the API server would: server metadata, managedFields, a status, defaulted fields."""
        self._version += 1
        stored = json.loads(json.dumps(obj))
        meta = stored["metadata"]
        meta.update(
            uid=f"uid-{meta.get('namespace')}-{meta['name']}",
            resourceVersion=str(self._version),
            generation=1,
            creationTimestamp="2026-01-01T00:00:00Z",
            managedFields=[
                {"manager": "kubectl-client-side-apply", "operation": "Update", "apiVersion": obj["apiVersion"]}
            ],
        )
        meta.setdefault("annotations", {})["kubectl.kubernetes.io/last-applied-configuration"] = json.dumps(obj)
        if obj["kind"] == "Service":
            spec = stored.setdefault("spec", {})
            spec.setdefault("type", "ClusterIP")
            spec.update(clusterIP="10.96.0.17", clusterIPs=["10.96.0.17"], ipFamilies=["IPv4"])
            spec.update(ipFamilyPolicy="SingleStack", sessionAffinity="None", internalTrafficPolicy="Cluster")
            for port in spec.get("ports", []):
                port.setdefault("protocol", "TCP")
        if obj["kind"] == "Deployment":
            spec = stored.setdefault("spec", {})
            spec.setdefault("replicas", 1)
            spec.update(progressDeadlineSeconds=600, revisionHistoryLimit=10)
            spec["template"]["spec"].update(
                dnsPolicy="ClusterFirst", restartPolicy="Always", schedulerName="default-scheduler"
            )
            for container in spec["template"]["spec"].get("containers", []):
                container.update(terminationMessagePath="/dev/termination-log", terminationMessagePolicy="File")
        stored["status"] = {"observedGeneration": 1}
        self.listed.setdefault((obj["apiVersion"], plural), []).append(stored)
        return stored

    def _list(self, api: str, namespace: str, plural: str) -> tuple[int, dict[str, Any]]:
        group = api.rpartition("/")[0]
        if not any(a.rpartition("/")[0] == group for a, _ in self.listed):
            return 404, status(404, "NotFound", "the server could not find the requested resource")
        items = []
        kind = ""
        # every served version of a group lists the same objects (the API server converts between them)
        stored = [
            o for (a, p), objs in self.listed.items() if a.rpartition("/")[0] == group and p == plural for o in objs
        ]
        for obj in stored:
            kind = obj["kind"]
            if obj["metadata"].get("namespace") == namespace:
                # list items carry neither kind nor apiVersion: the list's own kind names them
                items.append({k: v for k, v in obj.items() if k not in ("kind", "apiVersion")})
        list_kind = f"{kind or plural.capitalize().rstrip('s')}List"
        return 200, {
            "kind": list_kind,
            "apiVersion": api,
            "metadata": {"resourceVersion": str(self._version)},
            "items": items,
        }

    def secret_data(self, namespace: str, name: str) -> dict[str, bytes]:
        return {k: base64.b64decode(v) for k, v in self.secrets[(namespace, name)].get("data", {}).items()}

    def _secret(
        self, namespace: str, name: str, type_: str, data: dict[str, bytes], annotations: dict[str, str]
    ) -> dict[str, Any]:
        self._version += 1
        return {
            "kind": "Secret",
            "apiVersion": "v1",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "uid": f"uid-{namespace}-{name}",
                "resourceVersion": str(self._version),
                "creationTimestamp": "2026-01-01T00:00:00Z",
                "annotations": annotations,
            },
            "type": type_,
            "data": {k: base64.b64encode(v).decode() for k, v in data.items()},
        }

    def write_kubeconfig(
        self, path: Path, context: str = "kind-gwpipe", cluster: str = "kind-gwpipe", token: str | None = None
    ) -> Path:
        """A kubeconfig with one cluster, user and context pointing at this stand-in."""
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": cluster, "cluster": {"server": self.url}}],
            "users": [{"name": f"{cluster}-user", "user": {"token": token or self.token}}],
            "contexts": [{"name": context, "context": {"cluster": cluster, "user": f"{cluster}-user"}}],
            "current-context": context,
        }
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        return path

    # --- request handling -------------------------------------------------

    def handle(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, dict[str, Any]]:
        self.received.append((method, path))
        if self.delay:
            self._stop.wait(self.delay)
        if headers.get("Authorization") != f"Bearer {self.token}":
            return 401, status(401, "Unauthorized", "Unauthorized")
        path, _, query = path.partition("?")
        match = CERTIFICATE_PATH.fullmatch(path)
        if match and self.cert_manager:
            return self._certificate(method, *match.groups())
        match = SECRET_PATH.fullmatch(path)
        if match is None and method == "GET":
            listing = LIST_PATH.fullmatch(path)
            if listing:
                core, group_version, namespace, plural = listing.groups()
                return self._list(core or group_version, namespace, plural)
        if match:
            return self._secrets(method, match.group(1), match.group(2), body, "dryRun=All" in query)
        return 404, status(404, "NotFound", "the server could not find the requested resource")

    def _denied(self, verb: str, resource: str, namespace: str, name: str) -> tuple[int, dict[str, Any]] | None:
        if (verb, resource, namespace) not in self.forbidden:
            return None
        group = "cert-manager.io" if resource == "certificates" else ""
        message = (
            f'{resource} "{name}" is forbidden: User "{USER}" cannot {verb} resource "{resource}" '
            f'in API group "{group}" in the namespace "{namespace}"'
        )
        return 403, status(403, "Forbidden", message, {"name": name, "kind": resource})

    def _certificate(self, method: str, namespace: str, name: str) -> tuple[int, dict[str, Any]]:
        if method != "GET":
            return 405, status(
                405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
            )
        denied = self._denied("get", "certificates", namespace, name)
        if denied:
            return denied
        obj = self.certificates.get((namespace, name))
        if obj is None:
            details = {"name": name, "group": "cert-manager.io", "kind": "certificates"}
            return 404, status(404, "NotFound", f'certificates.cert-manager.io "{name}" not found', details)
        return 200, obj

    def _secrets(
        self, method: str, namespace: str, name: str | None, body: bytes, dry_run: bool
    ) -> tuple[int, dict[str, Any]]:
        verb = {"GET": "get", "POST": "create", "PUT": "update"}.get(method)
        if verb is None or (name is None) != (method == "POST"):
            return 405, status(
                405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
            )
        obj = json.loads(body) if body else {}
        if method == "POST":
            if not dry_run:
                self.bodies.append(obj)
            name = str(obj.get("metadata", {}).get("name", ""))
        assert name is not None
        denied = self._denied(verb, "secrets", namespace, name)
        if denied:
            return denied
        current = self.secrets.get((namespace, name))
        details = {"name": name, "kind": "secrets"}
        if method == "GET":
            if current is None:
                return 404, status(404, "NotFound", f'secrets "{name}" not found', details)
            return 200, current
        if method == "PUT":
            if not dry_run:
                self.bodies.append(obj)
            if current is None:
                return 404, status(404, "NotFound", f'secrets "{name}" not found', details)
            wanted = obj.get("metadata", {}).get("resourceVersion")
            if wanted and wanted != current["metadata"]["resourceVersion"]:
                message = (
                    f'Operation cannot be fulfilled on secrets "{name}": the object has been modified; '
                    "please apply your changes to the latest version and try again"
                )
                return 409, status(409, "Conflict", message, details)
        elif current is not None:
            return 409, status(409, "AlreadyExists", f'secrets "{name}" already exists', details)
        invalid = _invalid_secret(obj, namespace, name)
        if invalid:
            return 422, status(422, "Invalid", f'Secret "{name}" is invalid: {invalid}', details)
        data = {k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()}
        meta = obj.get("metadata", {})
        stored = self._secret(namespace, name, obj.get("type", "Opaque"), data, meta.get("annotations") or {})
        stored["metadata"]["labels"] = meta.get("labels") or {}
        if not dry_run:  # a dry run answers as the real request would, and stores nothing
            self.secrets[(namespace, name)] = stored
        return (201 if method == "POST" else 200), stored

    # --- server lifecycle -------------------------------------------------

    @contextmanager
    def running(self) -> Iterator[KubeApiStandIn]:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                code, payload = stand_in.handle(self.command, self.path, self.headers, body)
                stand_in.log.append((self.command, self.path, code))
                data = json.dumps(payload).encode()
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up (a timeout test)

            do_GET = do_POST = do_PUT = _reply

            def log_message(self, format: str, *args: Any) -> None:
                return

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            server.shutdown()
            server.server_close()


def _invalid_secret(obj: dict[str, Any], namespace: str, name: str) -> str | None:
    """The API server's own validation of what --apply sends."""
    meta = obj.get("metadata") or {}
    if obj.get("kind") != "Secret" or obj.get("apiVersion") != "v1":
        return "kind/apiVersion must be Secret/v1"
    if meta.get("name") != name or meta.get("namespace", namespace) != namespace:
        return "metadata.name/namespace do not match the request path"
    data = obj.get("data") or {}
    if obj.get("type") == "kubernetes.io/tls" and not {"tls.crt", "tls.key"} <= set(data):
        return 'data[tls.crt]/data[tls.key]: Required value (type "kubernetes.io/tls")'
    for value in data.values():
        try:
            base64.b64decode(value, validate=True)
        except ValueError:
            return "data: Invalid value: illegal base64 data"
    return None
