"""GitHub pull requests through the REST API (list by head, create, update)."""

from __future__ import annotations

from typing import Any

from gwpipe.git.delivery.forge import ForgeApiError, Http, PullRequest


class GitHub:
    """`/repos/{owner}/{repo}/pulls` with `Authorization: Bearer`."""

    name = "github"

    def __init__(self, api: str, slug: str, token: str, **http: Any) -> None:
        self.slug = slug
        self.owner = slug.split("/", 1)[0]
        headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": "gwpipe",
        }
        self.http = Http(self.name, api, headers, token, **http)

    def find(self, head: str, base: str) -> PullRequest | None:
        params = {"head": f"{self.owner}:{head}", "base": base, "state": "open"}
        _status, items = self.http.call("GET", f"/repos/{self.slug}/pulls", (200,), params=params)
        for item in items or []:
            if item.get("head", {}).get("ref") == head:
                return _pr(item)
        return None

    def create(self, head: str, base: str, title: str, body: str) -> PullRequest | None:
        payload = {"title": title, "head": head, "base": base, "body": body}
        try:
            _status, item = self.http.call("POST", f"/repos/{self.slug}/pulls", (201,), json=payload)
        except ForgeApiError as exc:
            if exc.status == 422 and "already exists" in str(exc.payload):
                return None
            raise
        return _pr(item)

    def update(self, pr: PullRequest, title: str, body: str) -> PullRequest:
        payload = {"title": title, "body": body}
        _status, item = self.http.call("PATCH", f"/repos/{self.slug}/pulls/{pr.number}", (200,), json=payload)
        return _pr(item)


def _pr(item: dict[str, Any]) -> PullRequest:
    return PullRequest(
        int(item["number"]), str(item.get("html_url", "")), str(item.get("title", "")), str(item.get("body") or "")
    )
