"""Gitea pull requests through the REST API v1 (list, create, edit)."""

from __future__ import annotations

from typing import Any

from gwpipe.git.delivery.forge import ForgeApiError, Http, PullRequest

PAGE = 50
MAX_PAGES = 20


class Gitea:
    """`/repos/{owner}/{repo}/pulls` with `Authorization: token`."""

    name = "gitea"

    def __init__(self, api: str, slug: str, token: str, **http: Any) -> None:
        self.slug = slug
        headers = {"Authorization": f"token {token}", "Accept": "application/json", "User-Agent": "gwpipe"}
        self.http = Http(self.name, api, headers, token, **http)

    def find(self, head: str, base: str) -> PullRequest | None:
        for page in range(1, MAX_PAGES + 1):
            params: dict[str, str | int] = {"state": "open", "page": page, "limit": PAGE}
            _status, items = self.http.call("GET", f"/repos/{self.slug}/pulls", (200,), params=params)
            for item in items or []:
                if item.get("head", {}).get("ref") == head and item.get("base", {}).get("ref") == base:
                    return _pr(item)
            if len(items or []) < PAGE:
                return None
        return None

    def create(self, head: str, base: str, title: str, body: str) -> PullRequest | None:
        payload = {"head": head, "base": base, "title": title, "body": body}
        try:
            _status, item = self.http.call("POST", f"/repos/{self.slug}/pulls", (201,), json=payload)
        except ForgeApiError as exc:
            if exc.status == 409:
                return None
            raise
        return _pr(item)

    def update(self, pr: PullRequest, title: str, body: str) -> PullRequest:
        payload = {"title": title, "body": body}
        _status, item = self.http.call("PATCH", f"/repos/{self.slug}/pulls/{pr.number}", (200, 201), json=payload)
        return _pr(item)


def _pr(item: dict[str, Any]) -> PullRequest:
    return PullRequest(
        int(item["number"]), str(item.get("html_url", "")), str(item.get("title", "")), str(item.get("body") or "")
    )
