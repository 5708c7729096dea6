"""Stand-ins of the GitHub, GitLab and Gitea pull-request REST APIs on 127.0.0.1, strict about request shapes.

Each stand-in checks the documented path, method, JSON fields and auth header, answers with the documented
status and body (including "already exists" and rate limits), checks that a PR's head branch really exists
in the bare repository behind it, and logs every request so tests can assert what was (not) sent.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

Reply = tuple[int, Any, dict[str, str]]


@dataclass
class Fault:
    """Answer the next `count` requests matching `method` with `status` (and headers) instead."""

    method: str
    status: int
    count: int = 1
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None


class ForgeStandIn:
    """Base: an HTTP server, a PR store, a request log, scripted faults."""

    name = "forge"
    prefix = ""

    def __init__(self, bare: Path, token: str, owner: str = "acme", repo: str = "gitops") -> None:
        self.bare, self.token, self.owner, self.repo = bare, token, owner, repo
        self.pulls: list[dict[str, Any]] = []
        self.log: list[dict[str, Any]] = []
        self.faults: list[Fault] = []
        self.violations: list[str] = []
        self.hide_from_list = 0
        self.on_request: Callable[[str, str], None] | None = None
        self._lock = threading.Lock()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, body, headers = stand_in.handle(self.command, self.path, dict(self.headers.items()), raw)
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_PUT = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> ForgeStandIn:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def api_url(self) -> str:
        return self.root + self.prefix

    @property
    def slug(self) -> str:
        return f"{self.owner}/{self.repo}"

    def writes(self) -> list[dict[str, Any]]:
        """Requests that would create or change a PR."""
        return [entry for entry in self.log if entry["method"] != "GET"]

    def created(self) -> list[dict[str, Any]]:
        return [e for e in self.log if e["method"] == "POST" and e["status"] == 201]

    def branch_exists(self, branch: str) -> bool:
        out = subprocess.run(
            ["git", "--git-dir", str(self.bare), "rev-parse", "--verify", "-q", f"refs/heads/{branch}"],
            capture_output=True,
            check=False,
        )
        return out.returncode == 0

    def handle(self, method: str, raw_path: str, headers: dict[str, str], raw: bytes) -> Reply:
        with self._lock:
            parts = urlsplit(raw_path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            payload: Any = None
            if raw:
                try:
                    payload = json.loads(raw)
                except ValueError:
                    self.violations.append(f"{method} {raw_path}: body is not JSON")
                    return 400, {"message": "Problems parsing JSON"}, {}
            if method in ("POST", "PATCH", "PUT") and "application/json" not in headers.get("Content-Type", ""):
                self.violations.append(f"{method} {raw_path}: Content-Type is not application/json")
            if self.on_request is not None:
                self.on_request(method, raw_path)
            reply = self._fault(method) or self.auth(headers) or self.route(method, parts.path, query, payload)
            self.log.append(
                {"method": method, "path": raw_path, "status": reply[0], "json": payload, "headers": headers}
            )
            return reply

    def _fault(self, method: str) -> Reply | None:
        for fault in self.faults:
            if fault.method == method and fault.count > 0:
                fault.count -= 1
                return fault.status, fault.body or {"message": "stand-in fault"}, fault.headers
        return None

    def auth(self, headers: dict[str, str]) -> Reply | None:
        raise NotImplementedError

    def route(self, method: str, path: str, query: dict[str, str], payload: Any) -> Reply:
        raise NotImplementedError

    def bad(self, what: str) -> Reply:
        self.violations.append(what)
        return 400, {"message": f"stand-in: {what}"}, {}

    def open_pulls(self, head: str, base: str | None = None) -> list[dict[str, Any]]:
        return [p for p in self.pulls if p["head"] == head and p["state"] == "open" and base in (None, p["base"])]

    def open_pull(self, title: str, body: str, head: str, base: str) -> dict[str, Any]:
        """Record a new open pull request, numbered as forges number them (1, 2, ...)."""
        pull = {
            "number": len(self.pulls) + 1,
            "state": "open",
            "title": title,
            "body": body,
            "head": head,
            "base": base,
        }
        self.pulls.append(pull)
        return pull

    def pull(self, number: str) -> dict[str, Any] | None:
        return next((p for p in self.pulls if p["number"] == int(number)), None)


def _require(payload: Any, fields: tuple[str, ...], optional: tuple[str, ...] = ()) -> str | None:
    if not isinstance(payload, dict):
        return "body must be a JSON object"
    for name in fields:
        if not isinstance(payload.get(name), str) or not payload[name]:
            return f"field {name!r} must be a non-empty string"
    for name in optional:
        if name in payload and not isinstance(payload[name], str):
            return f"field {name!r} must be a string"
    return None


class GitHubStandIn(ForgeStandIn):
    """Stand-in of GitHub's REST API v3: pulls list/create/update (docs.github.com/rest/pulls/pulls)."""

    name = "github"

    def auth(self, headers: dict[str, str]) -> Reply | None:
        if headers.get("Authorization") != f"Bearer {self.token}":
            return 401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}, {}
        if headers.get("Accept") != "application/vnd.github+json":
            return self.bad("Accept must be application/vnd.github+json")
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", headers.get("X-GitHub-Api-Version", "")):
            return self.bad("X-GitHub-Api-Version must be a dated version")
        return None

    def _item(self, pr: dict[str, Any]) -> dict[str, Any]:
        return {
            "number": pr["number"],
            "state": pr["state"],
            "title": pr["title"],
            "body": pr["body"],
            "html_url": f"https://github.example/{self.slug}/pull/{pr['number']}",
            "head": {"ref": pr["head"], "label": f"{self.owner}:{pr['head']}"},
            "base": {"ref": pr["base"]},
        }

    def route(self, method: str, path: str, query: dict[str, str], payload: Any) -> Reply:
        pulls = f"/repos/{self.slug}/pulls"
        if path == pulls and method == "GET":
            head = query.get("head", "")
            if head and ":" not in head:
                return self.bad("head filter must be user:ref-name")
            if self.hide_from_list:
                self.hide_from_list -= 1
                return 200, [], {}
            found = [p for p in self.pulls if p["state"] == query.get("state", "open")]
            if head:
                found = [p for p in found if f"{self.owner}:{p['head']}" == head]
            if "base" in query:
                found = [p for p in found if p["base"] == query["base"]]
            return 200, [self._item(p) for p in found], {}
        if path == pulls and method == "POST":
            problem = _require(payload, ("title", "head", "base"), ("body",))
            if problem:
                return (
                    422,
                    {"message": "Validation Failed", "errors": [{"resource": "PullRequest", "message": problem}]},
                    {},
                )
            if len(payload.get("body", "")) > 65536:
                return (
                    422,
                    {
                        "message": "Validation Failed",
                        "errors": [
                            {
                                "resource": "Issue",
                                "code": "custom",
                                "field": "body",
                                "message": "body is too long (maximum is 65536 characters)",
                            }
                        ],
                    },
                    {},
                )
            if not self.branch_exists(payload["head"]):
                return (
                    422,
                    {
                        "message": "Validation Failed",
                        "errors": [{"resource": "PullRequest", "field": "head", "code": "invalid"}],
                    },
                    {},
                )
            if self.open_pulls(payload["head"], payload["base"]):
                return (
                    422,
                    {
                        "message": "Validation Failed",
                        "errors": [
                            {
                                "resource": "PullRequest",
                                "code": "custom",
                                "message": f"A pull request already exists for {self.owner}:{payload['head']}.",
                            }
                        ],
                        "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request",
                    },
                    {},
                )
            pr = self.open_pull(payload["title"], payload.get("body", ""), payload["head"], payload["base"])
            return 201, self._item(pr), {}
        match = re.fullmatch(rf"{re.escape(pulls)}/(\d+)", path)
        if match and method == "PATCH":
            problem = _require(payload, (), ("title", "body"))
            if problem:
                return 422, {"message": "Validation Failed", "errors": [{"message": problem}]}, {}
            pr = self.pull(match.group(1))
            if pr is None:
                return 404, {"message": "Not Found"}, {}
            pr.update({k: payload[k] for k in ("title", "body") if k in payload})
            return 200, self._item(pr), {}
        return self.bad(f"unexpected {method} {path}")


class GitLabStandIn(ForgeStandIn):
    """Stand-in of GitLab's REST API v4: merge requests (docs.gitlab.com/api/merge_requests)."""

    name = "gitlab"
    prefix = "/api/v4"

    def auth(self, headers: dict[str, str]) -> Reply | None:
        if headers.get("PRIVATE-TOKEN") != self.token:
            return 401, {"message": "401 Unauthorized"}, {}
        return None

    def _item(self, mr: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": 1000 + mr["number"],
            "iid": mr["number"],
            "state": "opened" if mr["state"] == "open" else "closed",
            "title": mr["title"],
            "description": mr["body"],
            "source_branch": mr["head"],
            "target_branch": mr["base"],
            "web_url": f"https://gitlab.example/{self.slug}/-/merge_requests/{mr['number']}",
        }

    def route(self, method: str, path: str, query: dict[str, str], payload: Any) -> Reply:
        # the project id is the URL-encoded path: acme%2Fgitops, never a raw slash
        mrs = f"{self.prefix}/projects/{self.owner}%2F{self.repo}/merge_requests"
        if path == mrs and method == "GET":
            if self.hide_from_list:
                self.hide_from_list -= 1
                return 200, [], {}
            state = {"opened": "open"}.get(query.get("state", ""), query.get("state"))
            found = [m for m in self.pulls if state in (None, m["state"])]
            if "source_branch" in query:
                found = [m for m in found if m["head"] == query["source_branch"]]
            if "target_branch" in query:
                found = [m for m in found if m["base"] == query["target_branch"]]
            return 200, [self._item(m) for m in found], {}
        if path == mrs and method == "POST":
            problem = _require(payload, ("source_branch", "target_branch", "title"), ("description",))
            if problem:
                return 400, {"message": problem}, {}
            if len(payload.get("description", "")) > 1_048_576:
                return 400, {"message": {"description": ["is too long (maximum is 1048576 characters)"]}}, {}
            if not self.branch_exists(payload["source_branch"]):
                return 400, {"message": ["Source branch does not exist"]}, {}
            existing = self.open_pulls(payload["source_branch"], payload["target_branch"])
            if existing:
                return (
                    409,
                    {
                        "message": [
                            f"Another open merge request already exists for this source branch: !{existing[0]['number']}"
                        ]
                    },
                    {},
                )
            mr = self.open_pull(
                payload["title"], payload.get("description", ""), payload["source_branch"], payload["target_branch"]
            )
            return 201, self._item(mr), {}
        match = re.fullmatch(rf"{re.escape(mrs)}/(\d+)", path)
        if match and method == "PUT":
            problem = _require(payload, (), ("title", "description"))
            if problem:
                return 400, {"message": problem}, {}
            mr = self.pull(match.group(1))
            if mr is None:
                return 404, {"message": "404 Not found"}, {}
            mr.update({"title": payload.get("title", mr["title"]), "body": payload.get("description", mr["body"])})
            return 200, self._item(mr), {}
        return self.bad(f"unexpected {method} {path}")


class GiteaStandIn(ForgeStandIn):
    """Stand-in of Gitea's REST API v1: pulls (gitea.com/api/swagger#/repository)."""

    name = "gitea"
    prefix = "/api/v1"

    def auth(self, headers: dict[str, str]) -> Reply | None:
        if headers.get("Authorization") != f"token {self.token}":
            return 401, {"message": "token is required", "url": f"{self.root}/api/swagger"}, {}
        return None

    def _item(self, pr: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": 2000 + pr["number"],
            "number": pr["number"],
            "state": pr["state"],
            "title": pr["title"],
            "body": pr["body"],
            "html_url": f"https://gitea.example/{self.slug}/pulls/{pr['number']}",
            "head": {"ref": pr["head"], "label": pr["head"]},
            "base": {"ref": pr["base"], "label": pr["base"]},
        }

    def route(self, method: str, path: str, query: dict[str, str], payload: Any) -> Reply:
        pulls = f"{self.prefix}/repos/{self.slug}/pulls"
        if path == pulls and method == "GET":
            if self.hide_from_list:
                self.hide_from_list -= 1
                return 200, [], {}
            page, limit = int(query.get("page", "1")), int(query.get("limit", "30"))
            found = [p for p in self.pulls if query.get("state", "open") in ("all", p["state"])]
            return 200, [self._item(p) for p in found[(page - 1) * limit : page * limit]], {}
        if path == pulls and method == "POST":
            problem = _require(payload, ("head", "base", "title"), ("body",))
            if problem:
                return 422, {"message": problem, "url": f"{self.root}/api/swagger"}, {}
            if not self.branch_exists(payload["head"]):
                return 404, {"message": "The target couldn't be found.", "errors": []}, {}
            existing = self.open_pulls(payload["head"], payload["base"])
            if existing:
                return (
                    409,
                    {
                        "message": f"pull request already exists for these targets [id: {existing[0]['number']}]",
                        "url": f"{self.root}/api/swagger",
                    },
                    {},
                )
            pr = self.open_pull(payload["title"], payload.get("body", ""), payload["head"], payload["base"])
            return 201, self._item(pr), {}
        match = re.fullmatch(rf"{re.escape(pulls)}/(\d+)", path)
        if match and method == "PATCH":
            problem = _require(payload, (), ("title", "body"))
            if problem:
                return 422, {"message": problem}, {}
            pr = self.pull(match.group(1))
            if pr is None:
                return 404, {"message": "The target couldn't be found."}, {}
            pr.update({k: payload[k] for k in ("title", "body") if k in payload})
            return 201, self._item(pr), {}
        return self.bad(f"unexpected {method} {path}")


STAND_INS: dict[str, type[ForgeStandIn]] = {"github": GitHubStandIn, "gitlab": GitLabStandIn, "gitea": GiteaStandIn}
TOKEN_VARIABLES = {"github": "GITHUB_TOKEN", "gitlab": "GITLAB_TOKEN", "gitea": "GITEA_TOKEN"}
