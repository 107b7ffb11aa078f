"""What a person reads: which source, what happened (once) or what holds now, when (in
the config's time zone) and where to look.

    firing     Echo service (echo-health): down: unexpected HTTP 503, 2 failed checks in a row
    resolved   Echo service (echo-health): up again: 107.3 ms (down for 2 minutes)
    digest     1,000 incidents opened: down 1,000 (s0000, s0001, s0002, s0003, s0004 and 995 more)

each followed by ` — 2026-11-25 17:01 JST` and tally's page as the message's link.

A message is inert text. Names and units come from tally.yaml, reasons from the web:
`inert` defangs anything a chat app or mail client would turn into a link
(`https://ev.il/x` → `hxxps[:]//ev[.]il/x`, `ev.il` → `ev[.]il`), mentions
(`@everyone`) and control characters; the one link a message carries is tally's own
page, kept apart (`Text.link`) so that `channels.py` can escape the text for the
channel's format (HTML, Markdown) and still give the link as a link.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tally.alerts.state import Incident
from tally.config import Config, SourceBase
from tally.formatting import format_number, format_span

MAX_TITLE = 250
MAX_BODY = 1500
DIGEST_NAMES = 5  # names a digest lists per rule

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]+")
_SCHEME = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]{0,15}):(/|\\)")
_HOST = re.compile(r"((?:[^\W_][\w\-]{0,62}\.)+)([^\W\d_]{2,63})\b")
_IPV4 = re.compile(r"\b(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\b")
_MENTION = re.compile(r"@(everyone|here|channel)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Text:
    title: str
    body: str
    notify_type: str  # Apprise's: failure (firing), success (resolved), warning, info
    link: str | None = None


def inert(text: str) -> str:
    """Text from tally.yaml or the web, as a message may carry it: no link a client
    would make of it, no mention, no control or direction-changing character."""
    text = _CONTROL.sub(" ", text)
    text = _SCHEME.sub(lambda m: _defang_scheme(m.group(1)) + "[:]" + m.group(2), text)
    text = _HOST.sub(lambda m: m.group(1).replace(".", "[.]") + m.group(2), text)
    text = _IPV4.sub(lambda m: "[.]".join(m.groups()), text)
    text = _MENTION.sub(lambda m: "@\u2024" + m.group(1), text)
    return " ".join(text.split())


def _defang_scheme(scheme: str) -> str:
    lower = scheme.lower()
    if lower.startswith("http"):
        return "hxxp" + scheme[4:]
    return scheme


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def site_url(config: Config) -> str | None:
    """The page's public address: `site_url` in tally.yaml, else $TALLY_SITE_URL."""
    url = config.site_url or os.environ.get("TALLY_SITE_URL") or ""
    return url.rstrip("/") or None


def source_link(config: Config, source_id: str) -> str | None:
    base = site_url(config)
    return f"{base}/s/{source_id}.html" if base else None


def index_link(config: Config) -> str | None:
    base = site_url(config)
    return f"{base}/index.html" if base else None


def label(source: SourceBase | None, source_id: str) -> str:
    """`Name (id)`, or the id alone when the source has no other name."""
    if source is None or not source.name or source.name == source_id:
        return source_id
    return f"{source.name} ({source_id})"


def local_time(epoch: int, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(epoch, UTC).astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")


def _text(
    config: Config, title: str, body: str, notify_type: str, epoch: int, link: str | None
) -> Text:
    body = f"{inert(body)} — {local_time(epoch, config.tz)}"
    return Text(_clip(inert(title), MAX_TITLE), _clip(body, MAX_BODY), notify_type, link)


def _lasted(incident: Incident, now: int) -> str:
    return format_span(timedelta(seconds=now - incident.since))


def _was(rule: str, incident: Incident) -> str:
    """What the incident was, in a few words: `above 150 円`, `down`, `changed`."""
    words = {"down": "down", "stale": "stale", "change": "changed"}
    return words.get(rule) or incident.rule_text or rule


def firing(
    config: Config, source: SourceBase | None, source_id: str, rule: str, incident: Incident
) -> Text:
    name = label(source, source_id)
    return _text(
        config,
        f"tally: {name} — {rule}",
        f"{name}: {incident.summary}",
        "failure",
        incident.since,
        source_link(config, source_id),
    )


def after_silence(
    config: Config,
    source: SourceBase | None,
    source_id: str,
    rule: str,
    incident: Incident,
    now: int,
) -> Text:
    """The firing a silence held back, sent once when it ends with the incident open."""
    name = label(source, source_id)
    since = local_time(incident.since, config.tz)
    return _text(
        config,
        f"tally: {name} — {rule}",
        f"{name}: {incident.summary} (open since {since}, while alerts were silenced)",
        "failure",
        now,
        source_link(config, source_id),
    )


def reminder(
    config: Config,
    source: SourceBase | None,
    source_id: str,
    rule: str,
    incident: Incident,
    now: int,
) -> Text:
    name = label(source, source_id)
    return _text(
        config,
        f"tally: {name} — still {rule}",
        f"{name}: still {incident.summary} (for {_lasted(incident, now)})",
        "warning",
        now,
        source_link(config, source_id),
    )


def resolved(
    config: Config,
    source: SourceBase | None,
    source_id: str,
    rule: str,
    incident: Incident,
    now: int,
    holds_now: str,
) -> Text:
    """`back under 150 円: 120 円 (above 150 円 for 3 minutes)`."""
    name = label(source, source_id)
    return _text(
        config,
        f"tally: {name} — {rule} resolved",
        f"{name}: {holds_now} ({_was(rule, incident)} for {_lasted(incident, now)})",
        "success",
        now,
        source_link(config, source_id),
    )


def held_end(
    config: Config, source: SourceBase | None, source_id: str, held: dict[str, Any]
) -> Text:
    """The end of an incident whose firing went out, held back by a silence until now."""
    name = label(source, source_id)
    lasted = format_span(timedelta(seconds=held["at"] - held["since"]))
    was = {"down": "down", "stale": "stale", "change": "changed"}.get(held["rule"]) or (
        held.get("rule_text") or held["rule"]
    )
    return _text(
        config,
        f"tally: {name} — {held['rule']} resolved",
        f"{name}: {held['now']} ({was} for {lasted}; told now: alerts were silenced then)",
        "success",
        held["at"],
        source_link(config, source_id),
    )


def rule_changed(
    config: Config,
    source: SourceBase | None,
    source_id: str,
    rule: str,
    incident: Incident,
    now: int,
    new_rule: str,
    holds_now: str,
) -> Text:
    """An open incident the changed rule no longer holds for."""
    name = label(source, source_id)
    return _text(
        config,
        f"tally: {name} — {rule} resolved (rule changed)",
        f"{name}: the rule is now “{new_rule}”, which does not hold: {holds_now} "
        f"(firing for {_lasted(incident, now)} under “{incident.rule_text or rule}”)",
        "success",
        now,
        source_link(config, source_id),
    )


def closed(
    config: Config,
    source: SourceBase | None,
    source_id: str,
    rule: str,
    incident: Incident,
    now: int,
    what: str,
) -> Text:
    """A rule or a source that left tally.yaml while its incident was open."""
    name = label(source, source_id)
    return _text(
        config,
        f"tally: {name} — {rule} closed",
        f"{name}: {rule} closed: {what} removed from the config "
        f"(“{incident.rule_text or rule}” had held for {_lasted(incident, now)})",
        "info",
        now,
        source_link(config, source_id),
    )


def flapping(
    config: Config,
    source: SourceBase | None,
    source_id: str,
    rule: str,
    incident: Incident,
    opens: int,
    within: timedelta,
    steady: timedelta,
) -> Text:
    name = label(source, source_id)
    return _text(
        config,
        f"tally: {name} — {rule} flapping",
        f"{name}: {rule} is flapping, {opens} times within {format_span(within)}; now "
        f"{incident.summary}. No more messages about it until it holds steady for "
        f"{format_span(steady)}",
        "warning",
        incident.since,
        source_link(config, source_id),
    )


def steady(
    config: Config,
    source: SourceBase | None,
    source_id: str,
    rule: str,
    incident: Incident,
    now: int,
    summary: str,
    flapped_since: int,
) -> Text:
    """Flapping ended with the rule holding: the incident stays open."""
    name = label(source, source_id)
    since = local_time(flapped_since, config.tz)
    return _text(
        config,
        f"tally: {name} — {rule} steady",
        f"{name}: steady again, still {summary} (flapping since {since})",
        "failure",
        now,
        source_link(config, source_id),
    )


def steady_resolved(
    config: Config,
    source: SourceBase | None,
    source_id: str,
    rule: str,
    incident: Incident,
    now: int,
    holds_now: str,
) -> Text:
    """Flapping ended with the rule not holding: the incident resolves."""
    name = label(source, source_id)
    since = local_time(incident.flapping or incident.since, config.tz)
    return _text(
        config,
        f"tally: {name} — {rule} resolved",
        f"{name}: steady again, {holds_now} (flapping since {since})",
        "success",
        now,
        source_link(config, source_id),
    )


def epoch_of(iso: Any) -> int | None:
    """An entry's time (ISO 8601, as reading/entries.py keeps it) as epoch seconds."""
    if not iso:
        return None
    try:
        return int(datetime.fromisoformat(str(iso).replace("Z", "+00:00")).timestamp())
    except (ValueError, OverflowError):
        return None


def new_entry(config: Config, source: SourceBase, entry: dict[str, Any], tick: int) -> Text:
    """`New in Uploads (uploads): Piano cover (published 2026-12-05 06:00 JST)`: the
    entry's title is inert text like any other from the web; its link (http or https,
    checked and escaped where it was read: reading/entries.py) is the message's one link,
    else the source's page."""
    name = label(source, source.id)
    title = entry.get("title") or "(no title)"
    moment = epoch_of(entry.get("time"))
    published = None if moment is None else local_time(moment, config.tz)
    body = f"{name}: {title}" + (f" (published {published})" if published else "")
    return _text(
        config,
        f"New in {name}: {title}",
        body,
        "info",
        tick,
        entry.get("link") or source_link(config, source.id),
    )


@dataclass(frozen=True)
class Item:
    """One incident's news in a digest (or one new entry: kind `entries`, `rule` its
    title, `source` its source)."""

    kind: str  # opened | resolved | other | entries
    rule: str
    source: str


def _entries_part(items: list[Item]) -> str:
    """`5 new entries: uploads 4 (Piano cover, Live tonight, …), releases 1 (v2.1.0)`."""
    by_source: dict[str, list[str]] = {}
    for item in items:
        by_source.setdefault(item.source, []).append(item.rule or "(no title)")
    described = []
    for source, titles in by_source.items():
        names = ", ".join(titles[:DIGEST_NAMES])
        more = len(titles) - DIGEST_NAMES
        names += f" and {format_number(more)} more" if more > 0 else ""
        described.append(f"{source} {format_number(len(titles))} ({names})")
    noun = "entry" if len(items) == 1 else "entries"
    return f"{format_number(len(items))} new {noun}: {'; '.join(described)}"


def digest(config: Config, items: list[Item], now: int) -> Text:
    """Many incidents at once for one channel: counts, the first few names per rule,
    and the page (`1,000 incidents opened: down 1,000 (s0000, …, and 995 more)`)."""
    parts = []
    listed = [item for item in items if item.kind == "entries"]
    items = [item for item in items if item.kind != "entries"]
    for kind in ("opened", "resolved", "other"):
        chosen = [item for item in items if item.kind == kind]
        if not chosen:
            continue
        rules: dict[str, list[str]] = {}
        for item in chosen:
            rules.setdefault(item.rule, []).append(item.source)
        described = []
        for rule, sources in rules.items():
            names = ", ".join(sources[:DIGEST_NAMES])
            more = len(sources) - DIGEST_NAMES
            names += f" and {format_number(more)} more" if more > 0 else ""
            described.append(f"{rule} {format_number(len(sources))} ({names})")
        noun = "incident" if len(chosen) == 1 else "incidents"
        verb = {"opened": "opened", "resolved": "resolved", "other": "with news"}[kind]
        parts.append(f"{format_number(len(chosen))} {noun} {verb}: {'; '.join(described)}")
    opened = sum(1 for item in items if item.kind == "opened")
    notify_type = "failure" if opened else "success" if len(parts) == 1 else "warning"
    if listed:
        parts.append(_entries_part(listed))
        notify_type = "info" if not items else notify_type
    counts = ", ".join(part.split(":", 1)[0] for part in parts)
    return _text(config, f"tally: {counts}", ". ".join(parts), notify_type, now, index_link(config))


def test_message(config: Config, channel: str, now: datetime) -> Text:
    return _text(
        config,
        f"tally: test message ({config.title})",
        f"A test message from tally ({config.title}) to the channel '{channel}': "
        f"alerts will arrive here.",
        "info",
        int(now.timestamp()),
        index_link(config),
    )
