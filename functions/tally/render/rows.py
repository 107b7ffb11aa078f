"""The rows a render works with, by name: a sample (Row), a closed day (DailyRow), an hour.

From the store's day documents to the charts a sample is a `Row`; a day folded into
the aggregates is a `DailyRow`, an hour an `HourlyRow`. They are NamedTuples, so the
aggregates keep them as the JSON arrays they always were (AGG_VERSION 3: a tuple is
written as an array, in field order) and `*.stored` reads those arrays back. Only the
numpy conversion (series.py, stats.columns) turns rows into columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time
from typing import Any, NamedTuple

from tally.day_document import outcome_of
from tally.store import Day

ERROR_CHARS = 500  # a failure reason as the page and the exports show it


class Row(NamedTuple):
    """One tick of one source, as read from its day document."""

    tick: int  # epoch seconds
    value: float | None
    ok: bool
    error: str | None
    latency_ms: float | None
    status: int | None
    up: int | None
    degraded: bool

    @property
    def ok_value(self) -> float | None:
        """The value when the sample is ok and has one: what lines and cards show."""
        return self.value if self.ok and self.value is not None else None

    @classmethod
    def stored(cls, items: Iterable[Sequence[Any]]) -> list[Row]:
        return [cls._make(item) for item in items]


class DailyRow(NamedTuple):
    """One closed UTC day: OHLC of the ok values, sample counts, latency sum and count."""

    open: float | None
    high: float | None
    low: float | None
    close: float | None
    n_ok: int
    n_all: int
    latency_sum: float
    latency_n: int

    @classmethod
    def stored(cls, items: dict[str, Sequence[Any]]) -> dict[str, DailyRow]:
        return {key: cls._make(item) for key, item in items.items()}


class HourlyRow(NamedTuple):
    """One closed UTC hour: close, low, high and mean of the ok values, sample counts."""

    close: float | None
    low: float | None
    high: float | None
    mean: float | None
    n_ok: int
    n_all: int

    @classmethod
    def stored(cls, items: dict[str, Sequence[Any]]) -> dict[str, HourlyRow]:
        return {key: cls._make(item) for key, item in items.items()}


def rows_of(day: Day) -> list[Row]:
    """One row per tick (`day.samples` holds the ok sample where a tick has both)."""
    start = int(datetime.combine(date.fromisoformat(day.date), time(), UTC).timestamp())
    rows = []
    for key in sorted(day.samples):
        s = day.samples[key]
        value, ok, error = outcome_of(s)
        rows.append(
            Row(
                start + _seconds_of(key),
                value,
                ok,
                error[:ERROR_CHARS] if isinstance(error, str) else None,
                s.get("latency_ms"),
                s.get("status"),
                s.get("up"),
                bool(s.get("degraded")),
            )
        )
    return rows


def _seconds_of(key: str) -> int:
    """Seconds into its day of a sample key `HHMM` (store.key_of); the first render folds
    a year of them, and this is several times quicker than parsing a time."""
    hours, minutes = int(key[:2]), int(key[2:])
    if len(key) != 4 or not (0 <= hours < 24 and 0 <= minutes < 60):
        raise ValueError(f"not a sample key (HHMM): {key!r}")
    return hours * 3600 + minutes * 60


def day_of(rows: Sequence[Row]) -> DailyRow:
    """A day's (or an hour's) rows summed up."""
    values = [r.value for r in rows if r.ok and r.value is not None]
    latencies = [r.latency_ms for r in rows if r.latency_ms is not None]
    counts = (sum(1 for r in rows if r.ok), len(rows), float(sum(latencies)), len(latencies))
    if not values:
        return DailyRow(None, None, None, None, *counts)
    return DailyRow(values[0], max(values), min(values), values[-1], *counts)


def hours_of(rows: Sequence[Row]) -> dict[str, HourlyRow]:
    """A day's rows by UTC hour (`2026-11-22T09`)."""
    hours: dict[str, list[Row]] = {}
    for row in rows:
        hour = datetime.fromtimestamp(row.tick, UTC).strftime("%Y-%m-%dT%H")
        hours.setdefault(hour, []).append(row)
    out = {}
    for hour, hour_rows in hours.items():
        summed = day_of(hour_rows)
        values = [r.value for r in hour_rows if r.ok and r.value is not None]
        mean = sum(values) / len(values) if values else None
        out[hour] = HourlyRow(
            summed.close, summed.low, summed.high, mean, summed.n_ok, summed.n_all
        )
    return out
