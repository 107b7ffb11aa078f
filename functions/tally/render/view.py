"""One source as a render sees it (its rows, its kind, the time), and the card built from it.

The card is what the overview keeps of a source between renders (render/state): value,
changes, sparkline, last sample, last error, uptime. A source with nothing new is
shown from its card without a read; index.html, status.json and the badge are built
from cards.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from tally.config import Config, SourceBase
from tally.formatting import format_number, format_quantity
from tally.render import stats
from tally.render.history import Aggregates
from tally.render.page import sparkline
from tally.render.rows import Row
from tally.render.series import reduce_per_pixel, with_gaps
from tally.sources import kind_of

SPARK_PIXELS = 60
UPTIME_WINDOWS = (("24h", 1), ("7d", 7), ("30d", 30), ("90d", 90))


@dataclass(frozen=True)
class SourceView:
    """A source's aggregates and raw rows at `now`, with what drawing it needs to know."""

    source: SourceBase
    agg: Aggregates
    raw: list[Row]  # the folded days' raw rows and the live ones after them, in time order
    now: datetime
    step: float  # the source's period in seconds (schedule.period): where a line breaks
    tz: ZoneInfo
    check: bool  # up/down with a response time rather than a value (kind_of(...).is_check)
    through_end: int  # epoch seconds at the end of the last folded day (0: none)

    @classmethod
    def build(
        cls,
        config: Config,
        source: SourceBase,
        agg: Aggregates,
        live: list[Row],
        now: datetime,
        step: float,
    ) -> SourceView:
        through_end = stats.day_end(agg.through)
        return cls(
            source=source,
            agg=agg,
            raw=stats.merged(agg.recent, live, through_end, now.timestamp()),
            now=now,
            step=step,
            tz=config.tz,
            check=kind_of(source).is_check,
            through_end=through_end,
        )

    @property
    def unit(self) -> str:
        """The unit shown: a check's response time is in ms unless it says otherwise."""
        return "ms" if self.check and not self.source.unit else self.source.unit

    def recent(self) -> tuple[np.ndarray, np.ndarray, float, float]:
        """The recent chart's columns (epoch, ok value) and its time span."""
        rows, start, end = stats.recent(self.raw, self.now.timestamp())
        t, y = stats.columns(rows)
        return t, y, start, end

    def change(self, seconds: float, value: float | None) -> float | None:
        return stats.change(self.raw, self.agg.daily, self.now.timestamp(), seconds, value)

    def uptime(self, days: int) -> float | None:
        return stats.uptime(self.raw, self.agg.daily, self.agg.through, self.now.timestamp(), days)


def card(view: SourceView) -> dict[str, Any]:
    """What the overview shows of the source (and keeps of it until it is drawn again)."""
    raw = view.raw
    last = raw[-1] if raw else None
    last_ok = stats.last_ok(raw)
    last_err = stats.last_error(raw)
    value = last_ok.ok_value if last_ok else None
    t, y, start, end = view.recent()
    t, y = with_gaps(t, y, view.step)
    t, y = reduce_per_pixel(t, y, SPARK_PIXELS, start, end)
    points = [(float(a), None if np.isnan(b) else float(b)) for a, b in zip(t, y, strict=True)]
    result = {
        "id": view.source.id,
        "name": view.source.display_name,
        "unit": view.unit,
        "check": view.check,
        "value": value,
        "value_text": format_quantity(value, view.source.unit),
        "last_tick": last.tick if last else None,
        "last_ok": last.ok if last else None,
        "last_degraded": last.degraded if last else False,
        "last_ok_tick": last_ok.tick if last_ok else None,
        "last_error": last_err.error if last_err else None,
        "last_error_tick": last_err.tick if last_err else None,
        "change_24h": view.change(stats.DAY, value),
        "change_7d": view.change(7 * stats.DAY, value),
        "spark": sparkline(points),
        "uptime": {label: view.uptime(days) for label, days in UPTIME_WINDOWS}
        if view.check
        else {},
    }
    if view.check:
        state = ("up" if last.ok else "down") if last else "–"
        latency = last.latency_ms if last else None
        result["value_text"] = state + (
            f" · {format_number(latency)} ms" if latency is not None else ""
        )
    return result
