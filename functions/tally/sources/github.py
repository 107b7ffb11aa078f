"""`github`: a repository's stars, forks, open issues, watchers or commit count, or its
releases or tags as entries (the newest page of up to 100: the value is how many it
holds, and alerting can tell each new one).

The commit count costs one request whatever the history length: ask for one commit
per page and read the page number of `Link: rel="last"`. An empty repository answers
`/commits` with 409 Conflict ("Git Repository is empty"): that is 0 commits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal
from urllib.parse import parse_qs, urlparse

from pydantic import field_validator

from tally.sample import Reading
from tally.secrets import resolve
from tally.sources.failure import FetchError
from tally.sources.http import fetch_url, http_failure
from tally.sources.kind import Kind
from tally.sources.listing import listed_reading
from tally.sources.model import SourceBase, http_url
from tally.sources.readers import read_body

EMPTY_REPOSITORY = 409  # GitHub's answer to /commits of a repository without commits
REPO_FIELDS = {
    "stars": "stargazers_count",
    "forks": "forks_count",
    "open_issues": "open_issues_count",
    "watchers": "subscribers_count",  # GitHub's `watchers_count` is a legacy alias of stars
}
LISTS = ("releases", "tags")
PER_PAGE = "100"  # GitHub's largest page: the newest 100 releases or tags


def web_address(api_url: str) -> str:
    """GitHub's site for its API's address: api.github.com → github.com, an Enterprise
    server's https://host/api/v3 → https://host."""
    base = api_url.rstrip("/")
    if base.endswith("/api/v3"):
        return base[: -len("/api/v3")]
    return base.replace("://api.", "://", 1)


class GithubSource(SourceBase):
    """A GitHub repository's stars, forks, open issues, watchers or commit count."""

    kind: Literal["github"]
    repo: str
    metric: Literal["stars", "forks", "open_issues", "watchers", "commits", "releases", "tags"]
    token: str | None = None
    api_url: str = "https://api.github.com"

    _api_url = field_validator("api_url")(http_url)

    @field_validator("repo")
    @classmethod
    def _repo(cls, value: str) -> str:
        if not re.match(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", value):
            raise ValueError("must be 'owner/name'")
        return value

    def secret_templates(self) -> Iterable[str]:
        yield from self.headers.values()
        if self.token:
            yield self.token


class Github(Kind):
    name = "github"
    model = GithubSource

    def address(self, source: GithubSource) -> str:
        return source.api_url

    def fetch(self, source: GithubSource, headers: dict[str, str]) -> Reading:
        sent = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            **headers,
        }
        if source.token:
            sent["Authorization"] = f"Bearer {resolve(source.token)}"
        base = f"{source.api_url.rstrip('/')}/repos/{source.repo}"
        timeout = source.timeout.total_seconds()
        secret = source.secret_header_names()  # Authorization never follows to another host
        if source.metric in LISTS:
            response = fetch_url(
                f"{base}/{source.metric}",
                headers=sent,
                timeout=timeout,
                params={"per_page": PER_PAGE},
                secret_headers=secret,
            )
            found = read_body(  # tally/reading/entries.py, in a reader process
                "github_entries",
                response,
                metric=source.metric,
                web=web_address(source.api_url),
                repo=source.repo,
            )
            return listed_reading(found, response)
        if source.metric == "commits":
            response = fetch_url(
                f"{base}/commits",
                headers=sent,
                timeout=timeout,
                params={"per_page": "1"},
                allow_status=True,
                secret_headers=secret,
            )
            if response.status == EMPTY_REPOSITORY:
                return Reading(value=0.0, latency_ms=response.latency_ms, status=response.status)
            if response.status >= 400:
                raise http_failure(response.status, latency_ms=response.latency_ms)
            last = response.links.get("last", {}).get("url")
            if last:
                page = parse_qs(urlparse(last).query).get("page", [""])[0]
                if not page.isdigit():
                    raise FetchError("GitHub Link rel=last has no page number")
                count = float(page)
            else:  # one page: its length (tally/reading/json_text.py, in a reader process)
                count = read_body("json_length", response)
            return Reading(value=count, latency_ms=response.latency_ms, status=response.status)
        response = fetch_url(base, headers=sent, timeout=timeout, secret_headers=secret)
        value = read_body("json_field", response, field=REPO_FIELDS[source.metric])
        return Reading(value=value, latency_ms=response.latency_ms, status=response.status)

    def lists_entries(self, source: GithubSource) -> bool:
        return source.metric in LISTS


KIND = Github()
