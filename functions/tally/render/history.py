"""The renderer's documents, kept through Store so that every read is counted.

    sources/{id}/render/aggregates   one per source: closed days folded once (daily
                                     OHLC + counts for ever, hourly for the last 31
                                     days, the raw samples of the last two closed days,
                                     at least 200), and what the renderer drew from
                                     them (`drawn`: the md5 of each uploaded object)
    render/state                     the overview: see state.py

Each is one zlib-compressed JSON blob: one document however long the history (5 years
of daily rows are ~60 kB compressed, far below Firestore's 1 MiB), and a blob is a
single index entry where arrays would be one per element.

A UTC day is "closed" once it ended more than the collector's event deadline ago
(`stale_event_after` + the collect function's timeout + the store's deadline, see
tally/deadlines.py): a retried collect event can no longer land in it. Until then it
is read live like today, so a late sample is never folded away.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tally.deadlines import close_margin
from tally.render.budget import Budget
from tally.sample import finite
from tally.store import Day, Store, tick_of

AGG_VERSION = 3
HOURLY_DAYS = 31
RECENT_DAYS = 2
RECENT_MIN = 200
ERROR_CHARS = 500
FOLD_PAGE = 60  # day documents per query when folding a long history

# daily row:  [open, high, low, close, n_ok, n_total, latency_sum, latency_n]
# hourly row: [close, min, max, mean, n_ok, n_total]   (mean of the ok values)
# raw row:    [epoch, value, ok, error, latency_ms, status, up, degraded]
OPEN, HIGH, LOW, CLOSE, N_OK, N_ALL, LAT_SUM, LAT_N = range(8)


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


def raw_rows(day: Day) -> list[list[Any]]:
    """One row per tick (`day.samples` holds the ok sample where a tick has both)."""
    rows = []
    for key in sorted(day.samples):
        s = day.samples[key]
        error = s.get("error")
        value, ok = s.get("value"), bool(s.get("ok"))
        if isinstance(value, float) and not finite(value):  # stored before tally refused it
            value, ok, error = None, False, f"{value} is not a number"
        rows.append(
            [
                int(tick_of(day.date, key).timestamp()),
                value,
                ok,
                error[:ERROR_CHARS] if isinstance(error, str) else None,
                s.get("latency_ms"),
                s.get("status"),
                s.get("up"),
                bool(s.get("degraded")),
            ]
        )
    return rows


def _ohlc(rows: list[list[Any]]) -> list[Any]:
    values = [r[1] for r in rows if r[2] and r[1] is not None]
    latencies = [r[4] for r in rows if r[4] is not None]
    n_ok = sum(1 for r in rows if r[2])
    head = [values[0], max(values), min(values), values[-1]] if values else [None] * 4
    return [*head, n_ok, len(rows), float(sum(latencies)), len(latencies)]


@dataclass
class Aggregates:
    through: str | None = None
    daily: dict[str, list[Any]] = field(default_factory=dict)
    hourly: dict[str, list[Any]] = field(default_factory=dict)
    recent: list[list[Any]] = field(default_factory=list)
    # what the renderer drew from these: objects (name -> md5 of what was uploaded),
    # long_through and week (the day / week the long-range charts were drawn to)
    drawn: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, store: Store, source_id: str) -> Aggregates:
        data = load_blob(store, agg_path(source_id))
        return cls(**data) if data else cls()

    def save(self, store: Store, source_id: str) -> None:
        save_blob(store, agg_path(source_id), self.__dict__)

    def fold(self, days: list[Day], through: date) -> None:
        """Fold closed day documents (oldest first) in and move `through` to `through`."""
        for day in sorted(days, key=lambda d: d.date):
            if self.through and day.date <= self.through:
                continue
            rows = raw_rows(day)
            if not rows:
                continue
            if self.recent and self.recent[-1][0] >= rows[0][0]:  # never twice the same tick
                self.recent = [r for r in self.recent if r[0] < rows[0][0]]
            self.daily[day.date] = _ohlc(rows)
            hours: dict[str, list[list[Any]]] = {}
            for row in rows:
                hour = datetime.fromtimestamp(row[0], UTC).strftime("%Y-%m-%dT%H")
                hours.setdefault(hour, []).append(row)
            for hour, hour_rows in hours.items():
                o = _ohlc(hour_rows)
                values = [r[1] for r in hour_rows if r[2] and r[1] is not None]
                mean = sum(values) / len(values) if values else None
                self.hourly[hour] = [o[CLOSE], o[LOW], o[HIGH], mean, o[N_OK], o[N_ALL]]
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
            self.recent = [r for r in self.recent if r[0] < start]

    def _prune(self, through: date) -> None:
        oldest_hour = (through - timedelta(days=HOURLY_DAYS - 1)).isoformat()
        self.hourly = {k: v for k, v in self.hourly.items() if k >= oldest_hour}
        start = datetime.combine(through - timedelta(days=RECENT_DAYS - 1), datetime.min.time())
        cut = int(start.replace(tzinfo=UTC).timestamp())
        keep_from = next((i for i, r in enumerate(self.recent) if r[0] >= cut), len(self.recent))
        keep_from = min(keep_from, max(0, len(self.recent) - RECENT_MIN))
        self.recent = self.recent[keep_from:]


def update_aggregates(
    store: Store, source_id: str, agg: Aggregates, through: date, budget: Budget
) -> tuple[bool, bool]:
    """Fold every closed day not yet folded; (complete, changed).

    Long histories (the first render of a source with years of data) are read in
    pages of FOLD_PAGE days, each its own query within the store's deadline. After
    each full page the aggregates are saved, and when the render's budget is spent
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
        agg.save(store, source_id)
        if budget.exhausted():
            return False, True


def live_days(
    store: Store, source_id: str, through: date, today: date, known: dict[str, Day]
) -> list[Day]:
    """The day documents after the last closed day (today, and yesterday shortly after
    midnight): those the change query returned (`known`, by date), the others read."""
    out = []
    day = through + timedelta(days=1)
    while day <= today:
        found = known.get(day.isoformat()) or store.day(source_id, day.isoformat())
        if found:
            out.append(found)
        day += timedelta(days=1)
    return out
