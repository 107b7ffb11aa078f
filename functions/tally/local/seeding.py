"""The demo's history: 120 days of its sources, imported before the first tick.

Through the same code as `tally import` (tally/importer): hourly samples, then one a
minute for the last six hours, as a source collected every minute would have them
(the hourly part keeps the import quick: one small document a day). Every value is
the demo upstream's own function of time, so the history runs straight into the live
values and the weekly candles and 90-day uptime bars are full on the first page.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from tally.config import Config
from tally.importer import Importer, Result, rows_from_samples
from tally.local import demo
from tally.sources import kind_of
from tally.store import Store

HISTORY_DAYS = 120
HISTORY_STEP = timedelta(hours=1)
DENSE_HISTORY = timedelta(hours=6)  # per minute: the page's last-48-hours chart has a line


def seed_demo_history(
    store: Store, config: Config, start_tick: datetime, say: Callable[[str], None]
) -> Result:
    """Import the demo sources' history up to `start_tick`; say what it cost."""
    start = (start_tick - timedelta(days=HISTORY_DAYS)).replace(minute=0)
    dense = (start_tick - DENSE_HISTORY).replace(minute=0)
    started = time.monotonic()
    writes = store.counter.writes
    total = Result()
    for source in config.sources:
        if source.id not in demo.SOURCES:
            continue
        samples = list(demo.history(source.id, start, dense, HISTORY_STEP))
        calm_from = start_tick - demo.CALM_BEFORE_START  # the first page's last checks pass
        samples += demo.history(source.id, dense, start_tick, timedelta(minutes=1), calm_from)
        result = Result()
        importer = Importer(store, source.id, kind=kind_of(source))
        importer.write_rows(rows_from_samples(samples), result)
        total.imported += result.imported
        total.days_written += result.days_written
    say(
        f"{'history':<10} {HISTORY_DAYS} days of demo history: {total.imported} samples, "
        f"{store.counter.writes - writes} Firestore writes, {time.monotonic() - started:.1f} s"
    )
    return total
