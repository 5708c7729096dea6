"""GitLab merge requests through the REST API v4 (list by source branch, create, update)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from gwpipe.git.delivery.forge import ForgeApiError, Http, PullRequest


class GitLab:
    """`/projects/:id/merge_requests` with the `PRIVATE-TOKEN` header."""

    name = "gitlab"

    def __init__(self, api: str, slug: str, token: str, **http: Any) -> None:
        self.project = quote(slug, safe="")
        self.http = Http(self.name, api, {"PRIVATE-TOKEN": token, "User-Agent": "gwpipe"}, token, **http)

    def find(self, head: str, base: str) -> PullRequest | None:
        params = {"source_branch": head, "target_branch": base, "state": "opened"}
        _status, items = self.http.call("GET", f"/projects/{self.project}/merge_requests", (200,), params=params)
        for item in items or []:
            if item.get("source_branch") == head:
                return _mr(item)
        return None

    def create(self, head: str, base: str, title: str, body: str) -> PullRequest | None:
        payload = {"source_branch": head, "target_branch": base, "title": title, "description": body}
        try:
            _status, item = self.http.call("POST", f"/projects/{self.project}/merge_requests", (201,), json=payload)
        except ForgeApiError as exc:
            if exc.status == 409 and "already exists" in str(exc.payload):
                return None
            raise
        return _mr(item)

    def update(self, pr: PullRequest, title: str, body: str) -> PullRequest:
        payload = {"title": title, "description": body}
        path = f"/projects/{self.project}/merge_requests/{pr.number}"
        _status, item = self.http.call("PUT", path, (200,), json=payload)
        return _mr(item)


def _mr(item: dict[str, Any]) -> PullRequest:
    return PullRequest(
        int(item["iid"]), str(item.get("web_url", "")), str(item.get("title", "")), str(item.get("description") or "")
    )
