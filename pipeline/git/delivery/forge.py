"""The forge interface (open or update one pull request per branch) and bounded, backed-off HTTP calls."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from gwpipe.errors import GitError, Problem, UsageError
from gwpipe.git.delivery.remote import LOOPBACK

TOKEN_VARIABLES = {"github": "GITHUB_TOKEN", "gitlab": "GITLAB_TOKEN", "gitea": "GITEA_TOKEN"}
DEFAULT_API = {"github": "https://api.github.com", "gitlab": "https://gitlab.com/api/v4"}
RETRY_STATUSES = (429, 500, 502, 503, 504)


@dataclass(frozen=True)
class PullRequest:
    """A pull (merge) request as gwpipe needs it: its number, its page, its title and body."""

    number: int
    url: str
    title: str
    body: str


class ForgeApiError(GitError):
    """The forge answered with an error that retries did not fix."""

    def __init__(self, problem: Problem, status: int | None = None, payload: Any = None) -> None:
        super().__init__(problem)
        self.status = status
        self.payload = payload


class Forge(Protocol):
    """What gwpipe asks of a forge: find the open PR for a branch, create one, update one."""

    name: str

    def find(self, head: str, base: str) -> PullRequest | None: ...

    def create(self, head: str, base: str, title: str, body: str) -> PullRequest | None:
        """The new PR, or None when the forge says one already exists for `head`."""
        ...

    def update(self, pr: PullRequest, title: str, body: str) -> PullRequest: ...


def ensure_pull_request(forge: Forge, head: str, base: str, title: str, body: str) -> tuple[PullRequest, str]:
    """Open the PR for `head`, or update the one already open; (pr, "created" | "updated" | "unchanged")."""
    existing = forge.find(head, base)
    if existing is None:
        created = forge.create(head, base, title, body)
        if created is not None:
            return created, "created"
        existing = forge.find(head, base)
        if existing is None:
            raise ForgeApiError(Problem(f"{forge.name} {head}", "forge says a pull request exists but lists none"))
    if existing.title == title and existing.body == body:
        return existing, "unchanged"
    return forge.update(existing, title, body), "updated"


def check_api_url(url: str) -> str:
    """https only (plain http only to 127.0.0.1, for stand-ins); never credentials in the URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UsageError(Problem(f"--api-url {url!r}", "must be an https:// URL"))
    if parts.scheme == "http" and parts.hostname not in LOOPBACK:
        raise UsageError(Problem(f"--api-url {url!r}", "plain http is allowed only for 127.0.0.1; use https"))
    if "@" in parts.netloc:
        raise UsageError(Problem("--api-url", "must not embed credentials; use the token environment variable"))
    return url.rstrip("/")


def token_for(forge: str) -> str:
    """The forge token, only ever from the environment."""
    variable = TOKEN_VARIABLES[forge]
    token = os.environ.get(variable, "")
    if not token:
        raise UsageError(Problem(f"forge {forge}", f"{variable} is not set; export a token to open pull requests"))
    return token


class Http:
    """requests with a fixed auth header, bounded retries with backoff for 5xx and rate limits."""

    def __init__(
        self,
        forge: str,
        api: str,
        headers: dict[str, str],
        token: str,
        attempts: int = 4,
        backoff: float = 0.5,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        import requests

        self.forge, self.api, self.token = forge, api, token
        self.session = requests.Session()
        self.session.headers.update(headers)
        self.session.trust_env = False  # no .netrc or proxy credentials mixed into forge calls
        self.attempts, self.backoff = attempts, backoff
        self.sleep: Callable[[float], None] = sleep or (lambda seconds: time.sleep(seconds))

    def call(self, method: str, path: str, ok: tuple[int, ...], **kwargs: Any) -> tuple[int, Any]:
        import requests

        from gwpipe.checks.secrets import redact

        where = f"{self.forge} api {method} {path}"
        status: int | None = None
        detail = ""
        for attempt in range(self.attempts):
            try:
                response = self.session.request(method, self.api + path, timeout=30, **kwargs)
            except requests.RequestException as exc:
                status, detail = None, type(exc).__name__
            else:
                status = response.status_code
                payload = _json(response)
                if status in ok:
                    return status, payload
                limited = status in (403, 429) and (
                    response.headers.get("x-ratelimit-remaining") == "0" or "retry-after" in response.headers
                )
                if status not in RETRY_STATUSES and not limited:
                    message = payload.get("message") if isinstance(payload, dict) else None
                    what = f"failed with {status}" + (f": {redact(str(message), (self.token,))}" if message else "")
                    raise ForgeApiError(Problem(where, what), status, payload)
                detail = f"{status}"
                if attempt + 1 < self.attempts:
                    self.sleep(min(_retry_after(response.headers, self.backoff * 2**attempt), 30.0))
                    continue
            if attempt + 1 < self.attempts:
                self.sleep(min(self.backoff * 2**attempt, 30.0))
        raise ForgeApiError(Problem(where, f"failed after {self.attempts} attempts (last: {detail})"), status)


def _json(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _retry_after(headers: Any, default: float) -> float:
    value = headers.get("retry-after")
    if value and value.isdigit():
        return float(value)
    reset = headers.get("x-ratelimit-reset")
    if reset and reset.isdigit():
        return max(0.0, float(reset) - time.time())
    return default


def make_forge(name: str, api_url: str | None, slug: str, **http: Any) -> Forge:
    """The client for `name`, talking to `api_url` (or the public default) about repository `slug`."""
    if name not in TOKEN_VARIABLES:
        raise UsageError(Problem("--forge", f"unknown forge {name!r}; allowed: github, gitlab, gitea"))
    if not api_url and name not in DEFAULT_API:
        raise UsageError(Problem("--api-url", f"required for {name}"))
    api = check_api_url(api_url or DEFAULT_API[name])
    if not _valid_slug(slug):
        raise UsageError(Problem(f"--repo-slug {slug!r}", "must be owner/name (letters, digits, '.', '_', '-')"))
    token = token_for(name)
    if name == "github":
        from gwpipe.git.delivery.github import GitHub

        return GitHub(api, slug, token, **http)
    if name == "gitlab":
        from gwpipe.git.delivery.gitlab import GitLab

        return GitLab(api, slug, token, **http)
    from gwpipe.git.delivery.gitea import Gitea

    return Gitea(api, slug, token, **http)


def _valid_slug(slug: str) -> bool:

    return bool(re.fullmatch(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+", slug)) and ".." not in slug


def slug_from_remote(url: str) -> str | None:
    """owner/name from an https, ssh or scp-like remote URL, when it has one."""

    if "://" in url:
        path = urlsplit(url).path
    else:
        scp = re.match(r"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:(.+)$", url)
        if not scp:
            return None
        path = scp.group(1)
    path = path.strip("/")
    path = path[:-4] if path.endswith(".git") else path
    return path if _valid_slug(path) else None
