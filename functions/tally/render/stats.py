"""Statistics of a source, as pure functions over its typed rows: no store, no drawing.

A source's rows in a render are its closed days (`daily`, folded up to `through`)
and its raw samples (`raw`: the last closed days' and the live ones after them).
Each function answers from those alone, so a card, a chart and status.json agree.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from tally.render.rows import DailyRow, Row

DAY = 86400
RECENT_WINDOW = 48 * 3600  # the recent chart and the sparkline: the last 48 hours …
RECENT_MIN_SAMPLES = 200  # … or the last 200 samples of a slow source


def day_end(through: str | None) -> int:
    """Epoch seconds at the end of the UTC day `through` (0 when nothing is folded)."""
    if not through:
        return 0
    start = datetime.combine(date.fromisoformat(through), datetime.min.time(), UTC)
    return int(start.timestamp() + DAY)


def merged(recent: Sequence[Row], live: Sequence[Row], through_end: int, now: float) -> list[Row]:
    """Raw rows in time order: the folded days' own up to `through_end`, the live ones
    after it up to `now` (a day read live and folded since is counted once)."""
    rows = [r for r in recent if r.tick < through_end]
    rows += [r for r in live if through_end <= r.tick <= now]
    return sorted(rows, key=lambda r: r.tick)


def value_at(raw: Sequence[Row], daily: Mapping[str, DailyRow], epoch: float) -> float | None:
    """The last ok value at or before `epoch`: raw samples, else daily closes."""
    best = None
    for row in raw:
        if row.tick > epoch:
            break
        if row.ok_value is not None:
            best = row.value
    if best is not None or (raw and raw[0].tick <= epoch):
        return best
    day = datetime.fromtimestamp(epoch, UTC).date()
    for back in range(4):
        found = daily.get((day - timedelta(days=back)).isoformat())
        if found and found.close is not None:
            return found.close
    return None


def change(
    raw: Sequence[Row],
    daily: Mapping[str, DailyRow],
    now: float,
    seconds: float,
    value: float | None,
) -> float | None:
    """Percent change of `value` against the value `seconds` before `now`."""
    ref = value_at(raw, daily, now - seconds)
    if value is None or ref is None or ref == 0:
        return None
    percent = (value - ref) / abs(ref) * 100
    return percent if math.isfinite(percent) else None  # 1e300 against 1e-320


def uptime(
    raw: Sequence[Row],
    daily: Mapping[str, DailyRow],
    through: str | None,
    now: float,
    days: int,
) -> float | None:
    """Share of ok samples over the last `days` days (closed days + raw after them)."""
    start = now - days * DAY
    ok = total = 0
    first_day = datetime.fromtimestamp(start, UTC).date()
    raw_from = start
    if days > 2 and through:
        for key, row in daily.items():
            if first_day.isoformat() < key <= through:
                ok += row.n_ok
                total += row.n_all
        raw_from = max(start, day_end(through))
    for row in raw:
        if row.tick >= raw_from:
            ok += int(row.ok)
            total += 1
    return ok / total * 100 if total else None


def recent(raw: Sequence[Row], now: float) -> tuple[Sequence[Row], float, float]:
    """The rows the recent chart shows and its time span: the last 48 hours, or the
    last 200 samples when 48 hours hold fewer."""
    start = now - RECENT_WINDOW
    rows: Sequence[Row] = [r for r in raw if r.tick >= start]
    if len(rows) < RECENT_MIN_SAMPLES:
        rows = raw[-RECENT_MIN_SAMPLES:]
        start = rows[0].tick if rows else start
    return rows, start, now


def columns(rows: Sequence[Row]) -> tuple[np.ndarray, np.ndarray]:
    """Rows → (epoch seconds, ok value with NaN for a failure): the numpy conversion."""
    t = np.array([r.tick for r in rows], dtype=float)
    y = np.array([np.nan if r.ok_value is None else r.value for r in rows], dtype=float)
    return t, y


def last_ok(raw: Sequence[Row]) -> Row | None:
    return next((r for r in reversed(raw) if r.ok), None)


def last_error(raw: Sequence[Row]) -> Row | None:
    return next((r for r in reversed(raw) if not r.ok), None)


def status_of(card: Mapping[str, Any] | None, step: float, now: datetime) -> str:
    """ok / degraded / down / stale (no sample within 2× its period, `step` seconds) /
    no data."""
    if not card or card.get("last_tick") is None:
        return "no data"
    if now.timestamp() - card["last_tick"] > 2 * step:
        return "stale"
    if not card["last_ok"]:
        return "down"
    if card.get("last_degraded"):
        return "degraded"
    return "ok"
