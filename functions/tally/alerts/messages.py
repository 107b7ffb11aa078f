"""What a person reads: one line that says which source, what holds, under which rule,
when (in the config's time zone) and where to look.

    ブラック・ロータス (card-price): 45,940 JPY, up 12.3 % within 1d (from 40,900 JPY)
    (rule: change 10 % / 1d) — 2026-11-25 09:00 JST — https://…/s/card-price.html

Names, units and values arrive in whatever script they were written in: the text is
plain Unicode, never markup, whichever service Apprise hands it to.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tally.alerts.state import OpenIncident
from tally.config import Config, SourceBase
from tally.formatting import format_elapsed


@dataclass(frozen=True)
class Text:
    title: str
    body: str
    notify_type: str  # Apprise's: failure (firing), success (resolved), warning (reminder)


def site_url(config: Config) -> str | None:
    """The page's public address: `site_url` in tally.yaml, else $TALLY_SITE_URL."""
    url = config.site_url or os.environ.get("TALLY_SITE_URL") or ""
    return url.rstrip("/") or None


def source_link(config: Config, source_id: str) -> str | None:
    base = site_url(config)
    return f"{base}/s/{source_id}.html" if base else None


def label(source: SourceBase | None, source_id: str) -> str:
    """`Name (id)`, or the id alone when the source has no other name."""
    if source is None or not source.name or source.name == source_id:
        return source_id
    return f"{source.name} ({source_id})"


def local_time(epoch: int, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(epoch, UTC).astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")


def _tail(config: Config, source_id: str, epoch: int) -> str:
    parts = [local_time(epoch, config.tz)]
    link = source_link(config, source_id)
    if link:
        parts.append(link)
    return " — " + " — ".join(parts)


def firing(config: Config, source: SourceBase | None, incident: OpenIncident) -> Text:
    name = label(source, incident.source)
    body = f"{name}: {incident.summary} (rule: {incident.rule_text})"
    return Text(
        title=f"tally: {name} — {incident.rule}",
        body=body + _tail(config, incident.source, incident.since),
        notify_type="failure",
    )


def reminder(config: Config, source: SourceBase | None, incident: OpenIncident, now: int) -> Text:
    name = label(source, incident.source)
    lasted = format_elapsed(timedelta(seconds=now - incident.since))
    body = (
        f"{name}: still {incident.rule} after {lasted}: {incident.summary} "
        f"(rule: {incident.rule_text})"
    )
    return Text(
        title=f"tally: {name} — still {incident.rule}",
        body=body + _tail(config, incident.source, now),
        notify_type="warning",
    )


def resolved(
    config: Config, source: SourceBase | None, incident: OpenIncident, now: int, why: str
) -> Text:
    name = label(source, incident.source)
    lasted = format_elapsed(timedelta(seconds=now - incident.since))
    body = f"{name}: resolved after {lasted} — {why} (rule: {incident.rule_text})"
    return Text(
        title=f"tally: {name} — {incident.rule} resolved",
        body=body + _tail(config, incident.source, now),
        notify_type="success",
    )


def test_message(config: Config, channel: str, now: datetime) -> Text:
    return Text(
        title=f"tally: test message ({config.title})",
        body=(
            f"A test message from tally ({config.title}) to the channel '{channel}': "
            f"alerts will arrive here. — {now.astimezone(config.tz):%Y-%m-%d %H:%M %Z}"
        ),
        notify_type="info",
    )
