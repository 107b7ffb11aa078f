"""History for the render tests and benchmarks, written through the store's own code.

Each day is one `Store.day_write` (the same builder as a collected sample and `tally
import`) of that day's samples, each made by `sample_fields` from a Sample: a year of
per-minute data is 365 writes, not 525,600, and the layout is exactly the store's,
so the store and the renderer cannot drift apart unseen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta

from tally.sample import Sample
from tally.store import Store, sample_fields

Value = Callable[[datetime], float | None]


def seed(
    store: Store,
    source_id: str,
    days: Iterable[date],
    every_minutes: int,
    value: Value,
) -> int:
    """One document per day with a sample every `every_minutes`; value(tick) → float,
    or None for a failed sample ("timeout")."""
    written = 0
    for day in days:
        start = datetime.combine(day, time(), tzinfo=UTC)
        samples = {}
        for minute in range(0, 1440, every_minutes):
            tick = start + timedelta(minutes=minute)
            v = value(tick)
            sample = Sample(
                source_id,
                tick,
                ok=v is not None,
                value=v,
                error=None if v is not None else "timeout",
            )
            samples[tick.strftime("%H%M")] = sample_fields(sample)
        path, data = store.day_write(source_id, day.isoformat(), samples)
        store.set(path, data)  # a whole day at once: no field mask of 1,440 paths
        written += len(samples)
    return written


def days_back(last: date, count: int) -> list[date]:
    return [last - timedelta(days=count - 1 - i) for i in range(count)]
