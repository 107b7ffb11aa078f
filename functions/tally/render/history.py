"""Each source's aggregates, and the renderer's blobs, kept through Store so that
every read is counted.

A source's aggregates are its closed days folded once (daily OHLC + counts for ever,
hourly for the last 31 days, the raw samples of the last two closed days, at least
200) and what the renderer drew from them (`drawn`: the md5 of each uploaded object).
They live in its group's render document (group_state.py); before that layout each
source had its own, `sources/{id}/render/aggregates` (`agg_path`), which a render
still reads once for a source it has not moved yet.

A blob is one zlib-compressed JSON document (the overview, render/state: see
state.py): a single index entry where arrays would be one per element.

A UTC day is "closed" once it ended more than the collector's event deadline ago
(`stale_event_after` + the collect function's timeout + the store's deadline, see
tally/deadlines.py): a retried collect event can no longer land in it. Until then it
is read live like today, so a late sample is never folded away.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tally.deadlines import close_margin
from tally.render.budget import Budget
from tally.render.rows import DailyRow, HourlyRow, Row, day_of, hours_of, rows_of
from tally.store import Day, Store

# The rows are stored as JSON arrays in the field order of rows.py's NamedTuples
# (DailyRow, HourlyRow, Row), the layout version 3 has always had: no rebuild needed.
AGG_VERSION = 3
HOURLY_DAYS = 31
RECENT_DAYS = 2
RECENT_MIN = 200
FOLD_PAGE = 60  # day documents per query when folding a long history


def agg_path(source_id: str) -> str:
    return f"sources/{source_id}/render/aggregates"


def load_blob(store: Store, path: str) -> dict[str, Any] | None:
    return load_blob_at(store, path)[0]


def load_blob_at(store: Store, path: str) -> tuple[dict[str, Any] | None, datetime]:
    """A blob document and the server time it was read at."""
    doc, read_at = store.get_at(path)
    if not doc or doc.get("v") != AGG_VERSION or "blob" not in doc:
        return None, read_at
    return json.loads(zlib.decompress(doc["blob"])), read_at


def save_blob(store: Store, path: str, data: dict[str, Any]) -> None:
    blob = zlib.compress(json.dumps(data, separators=(",", ":")).encode(), 6)
    store.set(path, {"v": AGG_VERSION, "blob": blob, "updated": datetime.now(UTC)})


def closable_day(now: datetime, stale_event_after: timedelta) -> date:
    """The last UTC day whose samples can no longer change."""
    margin = stale_event_after + close_margin()
    return (now.astimezone(UTC) - margin).date() - timedelta(days=1)


@dataclass
class Aggregates:
    """A source's closed days, folded once: what every long-range chart is drawn from."""

    through: str | None = None  # the last UTC day folded in
    daily: dict[str, DailyRow] = field(default_factory=dict)
    hourly: dict[str, HourlyRow] = field(default_factory=dict)  # the last HOURLY_DAYS days
    recent: list[Row] = field(default_factory=list)  # raw rows of the last RECENT_DAYS
    # what the renderer drew from these: objects (name -> md5 of what was uploaded),
    # long_through and week (the day / week the long-range charts were drawn to)
    drawn: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, store: Store, source_id: str) -> Aggregates:
        """A source's own render document of the older layout (one read)."""
        return cls.from_data(load_blob(store, agg_path(source_id)))

    @classmethod
    def from_data(cls, data: dict[str, Any] | None) -> Aggregates:
        """The aggregates as `as_data` gave them (none: a source never folded)."""
        if not data:
            return cls()
        return cls(
            through=data.get("through"),
            daily=DailyRow.stored(data.get("daily", {})),
            hourly=HourlyRow.stored(data.get("hourly", {})),
            recent=Row.stored(data.get("recent", [])),
            drawn=data.get("drawn", {}),
        )

    def as_data(self) -> dict[str, Any]:
        """What is stored: JSON-able (the rows are tuples, written as arrays)."""
        return dict(self.__dict__)

    def fold(self, days: list[Day], through: date) -> None:
        """Fold closed day documents (oldest first) in and move `through` to `through`."""
        for day in sorted(days, key=lambda d: d.date):
            if self.through and day.date <= self.through:
                continue
            rows = rows_of(day)
            if not rows:
                continue
            first = rows[0].tick
            if self.recent and self.recent[-1].tick >= first:  # never twice the same tick
                self.recent = [r for r in self.recent if r.tick < first]
            self.daily[day.date] = day_of(rows)
            self.hourly.update(hours_of(rows))
            self.recent.extend(rows)
        if self.through is None or through.isoformat() > self.through:
            self.through = through.isoformat()
        self._prune(through)

    def unfold_from(self, first_day: date) -> None:
        """Forget the folding of `first_day` and later, so they are folded again (days
        written after they closed: `tally import`). Daily rows before it are kept:
        their raw documents may have expired."""
        if self.through and self.through >= first_day.isoformat():
            self.through = (first_day - timedelta(days=1)).isoformat()
            start = int(datetime.combine(first_day, datetime.min.time(), UTC).timestamp())
            self.recent = [r for r in self.recent if r.tick < start]

    def _prune(self, through: date) -> None:
        oldest_hour = (through - timedelta(days=HOURLY_DAYS - 1)).isoformat()
        self.hourly = {k: v for k, v in self.hourly.items() if k >= oldest_hour}
        start = datetime.combine(through - timedelta(days=RECENT_DAYS - 1), datetime.min.time())
        cut = int(start.replace(tzinfo=UTC).timestamp())
        keep_from = next((i for i, r in enumerate(self.recent) if r.tick >= cut), len(self.recent))
        keep_from = min(keep_from, max(0, len(self.recent) - RECENT_MIN))
        self.recent = self.recent[keep_from:]


def update_aggregates(
    store: Store,
    source_id: str,
    agg: Aggregates,
    through: date,
    budget: Budget,
    save: Callable[[Aggregates], None],
) -> tuple[bool, bool]:
    """Fold every closed day not yet folded; (complete, changed).

    Long histories (the first render of a source with years of data) are read in
    pages of FOLD_PAGE days, each its own query within the store's deadline. After
    each full page the aggregates are saved (`save`), and when the render's budget is spent
    the fold stops there (complete is False): the next run resumes where it was. The
    caller saves after the last page, together with what it draws.
    """
    if agg.through and agg.through >= through.isoformat():
        return True, False
    while True:
        since = None
        if agg.through:
            since = (date.fromisoformat(agg.through) + timedelta(days=1)).isoformat()
        page = list(store.days(source_id, since=since, until=through.isoformat(), limit=FOLD_PAGE))
        if len(page) < FOLD_PAGE:
            agg.fold(page, through)
            return True, True
        agg.fold(page, date.fromisoformat(page[-1].date))
        save(agg)
        if budget.exhausted():
            return False, True
