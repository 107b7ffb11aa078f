"""Write day documents the way the collector lays them out, a whole day per write.

A year of per-minute data is 365 writes of 1,440 samples each, not 525,600 single
samples: the layout is the collector's (store.py), only the batching differs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from tally.store import Store

Value = Callable[[datetime], float | None]


def day_doc(
    source_id: str,
    day: date,
    samples: dict[str, dict[str, Any]],
    retention_days: int = 400,
) -> dict[str, Any]:
    start = datetime.combine(day, time(), tzinfo=UTC)
    ticks = [
        int((start + timedelta(hours=int(k[:2]), minutes=int(k[2:]))).timestamp()) for k in samples
    ]
    ok_ticks = [t for t, s in zip(ticks, samples.values(), strict=True) if s.get("ok")]
    err_ticks = [t for t, s in zip(ticks, samples.values(), strict=True) if not s.get("ok")]
    doc: dict[str, Any] = {
        "source": source_id,
        "date": day.isoformat(),
        "expire_at": start + timedelta(days=1 + retention_days),
        "samples": samples,
        "last_tick": max(ticks) if ticks else None,
    }
    if ok_ticks:
        doc["last_ok_tick"] = max(ok_ticks)
    if err_ticks:
        doc["last_error_tick"] = max(err_ticks)
    return doc


def sample(
    value: float | None, ok: bool = True, error: str | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "value": value,
        "ok": ok,
        "error": error,
        "latency_ms": extra.get("latency_ms"),
        "status": extra.get("status"),
        "up": extra.get("up"),
        "degraded": extra.get("degraded", False),
    }


def seed(
    store: Store,
    source_id: str,
    days: Iterable[date],
    every_minutes: int,
    value: Value,
) -> int:
    """One document per day with a sample every `every_minutes`; value(tick) → float."""
    written = 0
    for day in days:
        start = datetime.combine(day, time(), tzinfo=UTC)
        samples = {}
        for minute in range(0, 1440, every_minutes):
            tick = start + timedelta(minutes=minute)
            v = value(tick)
            samples[tick.strftime("%H%M")] = sample(
                v, ok=v is not None, error=None if v is not None else "timeout"
            )
        store.set(store.day_path(source_id, day.isoformat()), day_doc(source_id, day, samples))
        written += len(samples)
    return written


def days_back(last: date, count: int) -> list[date]:
    return [last - timedelta(days=count - 1 - i) for i in range(count)]
