"""The day document's layout: where a sample's fields go, and how a day reads back.

    sources/{id}/days/{YYYY-MM-DD}    one document per source per UTC day
        samples.{HHMM}                an ok sample, keyed by its tick
        failures.{HHMM}               a failed sample, keyed by its tick
        written                       the commit time of the last write (server timestamp)
        expire_at                     the TTL policy's field (day + retention)

Pure functions of documents and samples: `store.py` does the reading and writing.
Failures and ok samples live under different field paths, and when both exist for a
tick the ok sample is the one read, so a failure never replaces a stored success of the
same tick, in whatever order they land (documents of the older layout, failures under
`samples`, read the same way).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from tally.sample import Sample, finite, short_reason


def key_of(tick: datetime) -> tuple[str, str]:
    """(day document id, sample field name) for a tick: ('2026-11-22', '0930')."""
    tick = tick.astimezone(UTC)
    return tick.strftime("%Y-%m-%d"), tick.strftime("%H%M")


def tick_of(day: str, key: str) -> datetime:
    moment = datetime.strptime(f"{day} {key}", "%Y-%m-%d %H%M")
    return moment.replace(tzinfo=UTC)


def sample_fields(sample: Sample) -> dict[str, Any]:
    """A sample as stored: every field written, so an overwrite leaves nothing stale."""
    return {
        "value": sample.value,
        "ok": sample.ok,
        "error": short_reason(sample.error),
        "latency_ms": sample.latency_ms,
        "status": sample.status,
        "up": sample.up,
        "degraded": sample.degraded,
    }


def effective_samples(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A day document's samples by key, one per tick: the ok sample where a tick has
    both an ok sample and a failure (see the module's docstring)."""
    stored: dict[str, Any] = document.get("samples") or {}
    failures: dict[str, Any] = document.get("failures") or {}
    merged: dict[str, dict[str, Any]] = {}
    for key in stored.keys() | failures.keys():
        value = stored.get(key)
        if isinstance(value, dict) and value.get("ok"):
            merged[key] = value
        elif isinstance(failures.get(key), dict):
            merged[key] = failures[key]
        elif isinstance(value, dict):
            merged[key] = value  # the older layout kept failures under `samples`
    return merged


def merged_samples(
    day_document: dict[str, Any] | None, hour_parts: Iterable[tuple[dict[str, Any], dict[str, Any]]]
) -> dict[str, dict[str, Any]]:
    """One source's samples of one day, by key, from its group-hour documents' parts
    (ok samples, failures; `group_document.fragments`) and its own day document.

    Among the hour documents an ok sample wins over a failure of the same tick (a
    source written twice in a minute: a redelivery, a deploy with two groupings). The
    source's own day document decides the ticks it holds: it is written by `tally
    import`, which says what a minute was, and by tally before the group layout.
    """
    merged: dict[str, dict[str, Any]] = {}
    for ok_samples, failures in hour_parts:
        for key, fields in failures.items():
            if isinstance(fields, dict):
                merged.setdefault(key, fields)
        for key, fields in ok_samples.items():
            if isinstance(fields, dict) and fields.get("ok"):
                merged[key] = fields
            elif isinstance(fields, dict):
                merged.setdefault(key, fields)
    if day_document:
        merged.update(effective_samples(day_document))
    return merged


def outcome_of(data: dict[str, Any]) -> tuple[Any, bool, Any]:
    """(value, ok, error) of a stored sample. A NaN or infinity stored before tally
    refused them is never an ok value again: it reads as a failed sample saying so."""
    value = data.get("value")
    if isinstance(value, float) and not finite(value):
        return None, False, f"{value} is not a number"
    return value, bool(data.get("ok")), data.get("error")


def sample_from(source_id: str, day: str, key: str, data: dict[str, Any]) -> Sample:
    value, ok, error = outcome_of(data)
    return Sample(
        source_id=source_id,
        tick=tick_of(day, key),
        ok=ok,
        value=value,
        error=error,
        latency_ms=data.get("latency_ms"),
        status=data.get("status"),
        up=data.get("up"),
        degraded=bool(data.get("degraded")),
    )
