"""The chart specifications of a source: which charts it has, and what each one shows.

A spec is plain data (series.py's ChartSpec: lines, candles or bars, title, alt text);
charts.py draws it. Values have a recent line, 30 days hourly, a year of daily closes
and weekly candles; checks have their response time recent and hourly, and 90 daily
uptime bars.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from tally.render import objects
from tally.render.series import (
    ChartSpec,
    daily_values,
    line,
    uptime_bars,
    weekly_candles,
)
from tally.render.stats import DAY, RECENT_WINDOW
from tally.render.view import SourceView

UTC_ZONE = ZoneInfo("UTC")
VALUE_CHARTS = ("recent", "30d", "1y", "weekly")
CHECK_CHARTS = ("recent", "30d", "uptime")


def chart_name(view: SourceView, suffix: str) -> str:
    return objects.chart(view.source.id, suffix)


def chart_names(view: SourceView) -> list[str]:
    """Every chart of the source, in the order its page shows them."""
    return [chart_name(view, k) for k in (CHECK_CHARTS if view.check else VALUE_CHARTS)]


def _pixels() -> int:
    from tally.render.charts import PIXELS  # matplotlib loads only when a chart is drawn

    return PIXELS


def recent_chart(view: SourceView) -> ChartSpec:
    t, y, start, end = view.recent()
    name = view.source.display_name
    span = "last 48 hours" if end - start <= RECENT_WINDOW + 1 else f"last {len(t)} samples"
    what = "Response time" if view.check else name
    unit = "ms" if view.check else view.source.unit
    return ChartSpec(
        name=chart_name(view, "recent"),
        title=f"{what}, {span}",
        alt=f"Line chart of {what} over the {span}"
        + (f" in {unit}" if unit else "")
        + "; breaks in the line are missing samples.",
        unit=unit,
        lines=[
            line(
                name,
                t,
                y,
                view.tz,
                step=view.step,
                pixels=_pixels(),
                start=start,
                end=end,
            )
        ],
    )


def month_chart(view: SourceView) -> ChartSpec:
    """30 days hourly: the close of each hour, a check's mean response time."""
    end = view.through_end
    start = end - 30 * DAY
    first_hour = datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%dT%H")
    hourly = view.agg.hourly
    keys = sorted(k for k in hourly if k >= first_hour)
    t = np.array(
        [datetime.strptime(k, "%Y-%m-%dT%H").replace(tzinfo=UTC).timestamp() + 1800 for k in keys],
        dtype=float,
    )
    values = [hourly[k].mean if view.check else hourly[k].close for k in keys]
    y = np.array([np.nan if v is None else v for v in values], dtype=float)
    name = view.source.display_name
    what = "Hourly mean response time" if view.check else f"{name}, hourly"
    unit = "ms" if view.check else view.source.unit
    return ChartSpec(
        name=chart_name(view, "30d"),
        title=f"{what}, 30 days",
        alt=f"Line chart of {what.lower() if view.check else what} over the 30 days to "
        f"{view.agg.through}; breaks in the line are missing data.",
        unit=unit,
        lines=[
            line(
                name,
                t,
                y,
                view.tz,
                step=max(3600.0, view.step),
                pixels=_pixels(),
                start=start,
                end=end,
            )
        ],
    )


def _through(view: SourceView) -> date:
    return date.fromisoformat(view.agg.through or view.now.date().isoformat())


def year_chart(view: SourceView) -> ChartSpec:
    through = _through(view)
    first = through - timedelta(days=364)
    days, closes = daily_values(view.agg.daily, first, through)
    t = days.astype("datetime64[s]").astype(np.int64).astype(float)
    keep = ~np.isnan(closes)
    name = view.source.display_name
    series = line(
        name,
        t[keep],
        closes[keep],
        UTC_ZONE,
        step=max(DAY, view.step),
        pixels=_pixels(),
    )
    return ChartSpec(
        name=chart_name(view, "1y"),
        title=f"{name}, daily close, 1 year",
        alt=f"Line chart of the daily closing value of {name} from "
        f"{first} to {through}; breaks in the line are days without data.",
        unit=view.source.unit,
        lines=[series],
    )


def weekly_chart(view: SourceView) -> ChartSpec:
    candles = weekly_candles(view.agg.daily, _through(view))
    name = view.source.display_name
    return ChartSpec(
        name=chart_name(view, "weekly"),
        title=f"{name}, weekly candles, MA 5 / 25",
        alt=f"Weekly candlestick chart of {name} (open, high, low, close "
        "of each week) with 5- and 25-week moving averages of the close.",
        unit=view.source.unit,
        candles=candles,
    )


def uptime_chart(view: SourceView) -> ChartSpec:
    from tally.render.charts import uptime_legend  # matplotlib loads only when drawn

    through = _through(view)
    bars = uptime_bars(view.agg.daily, through)
    return ChartSpec(
        name=chart_name(view, "uptime"),
        title="Uptime, 90 days (one bar a day)",
        alt=f"90 bars, one per day to {through}, coloured by that day's uptime: green at "
        "99.9% or more, yellow-green 99%, orange 95%, red below; grey has no data.",
        bars=bars,
        legend=uptime_legend(),
    )


def long_charts(view: SourceView) -> list[ChartSpec]:
    """The charts redrawn when a day closes (the weekly candles: when a week closes)."""
    if view.check:
        return [month_chart(view), uptime_chart(view)]
    return [month_chart(view), year_chart(view)]
