"""Writing: each day's batch through the store, one read and at most one write a day.

A million per-minute rows are ~700 day documents: ~700 reads (each day is read first,
so that rows already stored identically are skipped) and ~700 writes. Days go out a
few at a time: encoding a full day is CPU-bound, its round trip is not.

Nothing is told to the renderer: every day write carries its commit time (`written`),
so the next render finds the days imported, past ones included, and folds them
again, even if the import failed half-way (render/state.py).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from tally import store_import
from tally.importer.plan import DayBatch, changes
from tally.importer.result import Result
from tally.store import Store

WRITERS = 4  # day documents in flight


@dataclass
class DayWritten:
    imported: int
    replaced: int
    skipped: int
    written: bool


def write_day(store: Store, source_id: str, batch: DayBatch) -> DayWritten:
    """One day: one read and one query, at most one write."""
    document, held = store_import.read_day(store, source_id, batch.day)
    change = changes(batch, held)
    if not change.new:
        return DayWritten(0, 0, change.skipped, False)
    counts = DayWritten(len(change.new), change.replaced, change.skipped, True)
    if document is None and store_import.create_day(store, source_id, batch.day, change.new):
        return counts
    # it exists (or a live tick created it meanwhile): merge, a row replacing its minute
    store_import.merge_day(store, source_id, batch.day, change.new)
    return counts


def write_days(
    store: Store,
    source_id: str,
    days: list[DayBatch],
    result: Result,
    *,
    writers: int = WRITERS,
    on_day: Callable[[], None] = lambda: None,
) -> None:
    """Every day's batch, counted into `result`; `on_day` after each (progress)."""
    result.days = len(days)
    cutoff = datetime.now(UTC) - store.retention
    with ThreadPoolExecutor(max_workers=writers, thread_name_prefix="import") as pool:
        for done in pool.map(lambda batch: write_day(store, source_id, batch), days):
            result.imported += done.imported
            result.replaced += done.replaced
            result.skipped += done.skipped
            result.days_written += int(done.written)
            on_day()
    for batch in days:
        if _day_start(batch.day) + timedelta(days=1) < cutoff:
            result.expired_rows += len(batch.samples)


def _day_start(day: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), time(), tzinfo=UTC)
