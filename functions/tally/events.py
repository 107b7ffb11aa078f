"""From a Pub/Sub CloudEvent to the tick it stands for, or to nothing (acknowledged).

The tick is the message's publish time rounded down to the minute: Cloud Scheduler
publishes once per scheduled minute, and every redelivery of that message carries
the same publish time, so retries and duplicates land on the same sample keys.
A message attribute `tick` (ISO-8601), when present, names the tick explicitly: the
local stack's fast clock uses it, and so can a manual replay. A render event that
names its tick renders the page as at that tick (runtime.render_event): under the fast
clock the page's time is the ticks' time, not the wall clock's.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

from tally import logs
from tally.schedule import floor_minute


class MalformedEvent(ValueError):
    """An event no retry could ever make sense of."""


def parse_time(text: str) -> datetime:
    """ISO-8601 as the standard library reads it: `Z` or any offset, fractional seconds of
    any length (Pub/Sub sends nanoseconds), `T` or a space; naive means UTC.

    The offset is part of the instant: `09:30:00.000+09:00` is 00:30 UTC.
    """
    text = text.strip()
    if text.endswith("z"):  # RFC 3339 allows a lower-case z; fromisoformat does not
        text = text[:-1] + "Z"
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def tick_from_event(event: Any) -> datetime:
    """The tick of a Pub/Sub CloudEvent; raises MalformedEvent if there is none."""
    data = getattr(event, "data", None)
    if not isinstance(data, dict) or not isinstance(data.get("message"), dict):
        raise MalformedEvent("no Pub/Sub message in the event")
    message = data["message"]
    attributes = message.get("attributes") or {}
    candidates = [
        attributes.get("tick") if isinstance(attributes, dict) else None,
        message.get("publishTime"),
        message.get("publish_time"),
    ]
    with contextlib.suppress(KeyError, TypeError):
        candidates.append(event["time"])
    for text in candidates:
        if isinstance(text, str) and text:
            try:
                return floor_minute(parse_time(text))
            except ValueError:
                raise MalformedEvent(f"unreadable time {text[:40]!r}") from None
    raise MalformedEvent("the message has no publish time")


def named_tick(event: Any) -> datetime | None:
    """The tick a message names in its `tick` attribute (the local stack's, a replay),
    or None: a scheduled message has only its publish time."""
    data = getattr(event, "data", None)
    message = data.get("message") if isinstance(data, dict) else None
    attributes = message.get("attributes") if isinstance(message, dict) else None
    text = attributes.get("tick") if isinstance(attributes, dict) else None
    if not isinstance(text, str) or not text:
        return None
    try:
        return floor_minute(parse_time(text))
    except ValueError:
        return None


def accepted_tick(
    event: Any,
    max_age_seconds: float,
    now: datetime | None = None,
) -> datetime | None:
    """The tick to act on, or None when the event must be acknowledged and dropped."""
    event_id = _event_id(event)
    try:
        tick = tick_from_event(event)
    except MalformedEvent as exc:
        logs.warning(f"malformed event acknowledged and dropped: {exc}", event_id=event_id)
        return None
    now = now or datetime.now(UTC)
    age = (now - tick).total_seconds()
    if age > max_age_seconds:
        logs.warning(
            "stale event acknowledged and dropped (retries end here)",
            event_id=event_id,
            tick=tick.isoformat(),
            age_seconds=round(age),
        )
        return None
    return tick


def _event_id(event: Any) -> str | None:
    try:
        return str(event["id"])
    except (KeyError, TypeError):
        return None
