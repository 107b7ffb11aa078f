"""Generated tally.yaml files of any size, for the checks that must hold at 1,000 sources
(Terraform's plan-level structure, the functions' environment, the config object).

Every kind, crons and `every:`, headers, `${env:NAME}` in URLs, tokens and channel URLs,
and a few alert rules: about as many bytes a source as a hand-written config.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

KINDS = ("json", "html", "http", "github")

# Channel secrets: a whole Slack webhook URL, and SMTP credentials inside a mailtos:// URL.
NOTIFY = {
    "team": "${env:SLACK_WEBHOOK_URL}",
    "me": "mailtos://${env:SMTP_USER}:${env:SMTP_PASSWORD}@smtp.example.com?to=me@example.com",
    "phone": "ntfys://ntfy.sh/tally-generated-topic",
}


def many_sources(count: int, notify: bool = True) -> dict[str, Any]:
    """A valid config with `count` sources."""
    sources: list[dict[str, Any]] = []
    for index in range(count):
        kind = KINDS[index % 4]
        source: dict[str, Any] = {
            "id": f"s{index:04d}",
            "name": f"Source number {index}",
            "kind": kind,
            "unit": "items",
        }
        if index % 3 == 0:
            source["schedule"] = ["*/15 * * * *", "0 3 * * 1-5"] if index % 2 else "7 * * * *"
        else:
            source["every"] = ["1m", "5m", "1h", "1d"][index % 4]
        if kind == "github":
            source.update(
                repo="owner/repo", metric="stars", token="${env:TOKEN_" + str(index // 4 % 2) + "}"
            )
        else:
            source["url"] = f"https://api.example.com/v1/items/{index}"
            if index % 6 == 1:
                source["url"] += "?key=${env:URL_KEY}"
            if index % 5 == 0:
                source["headers"] = {"X-Key": "${env:SHARED_KEY}"}
        if kind == "json":
            source["query"] = "data.count"
        if kind == "html":
            source["selector"] = ".product .price"
        if index % 7 == 0:
            source["alerts"] = {
                "above": 10,
                "below": 1,
                "change": {"percent": 5, "window": "2h"},
                "stale_after": "3h",
            }
        sources.append(source)
    config: dict[str, Any] = {"title": "generated", "render_every": "10m", "sources": sources}
    if notify:
        config["notify"] = dict(NOTIFY)
    return config


def write_many_sources(path: Path, count: int, notify: bool = True) -> Path:
    path.write_text(yaml.safe_dump(many_sources(count, notify), sort_keys=False), encoding="utf-8")
    return path
