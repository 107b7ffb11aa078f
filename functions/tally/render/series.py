"""What is handed to the plot, built from plain numbers: no matplotlib here.

A missing stretch of data is a NaN in `y` (matplotlib breaks a line at NaN), so a gap
is visible rather than a straight line drawn across it. What is missing is judged
against the data's own spacing, not the schedule's: hourly history imported for a
source collected every minute is a line, not a row of dots, while an hour missing from
that history, or ten minutes from the per-minute part, is a gap. Long series are
reduced to a min and a max per pixel column before drawing: the picture is the same,
the work is not proportional to the number of samples.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import numpy as np

if TYPE_CHECKING:
    from tally.render.rows import DailyRow

DAY = 86400


@dataclass
class Series:
    """One line: x as display-time datetime64[s] (naive, in the config's zone), y with NaN gaps."""

    label: str
    x: np.ndarray
    y: np.ndarray


@dataclass
class Candles:
    """Weekly OHLC of closed weeks; `ma` maps a period (5, 25) to its moving average."""

    x: np.ndarray  # the Monday of each week, datetime64[D]
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    ma: dict[int, np.ndarray] = field(default_factory=dict)


@dataclass
class Bars:
    """One bar a day: uptime ratio 0..1, NaN where the day has no sample."""

    x: np.ndarray  # datetime64[D]
    ratio: np.ndarray


@dataclass
class ChartSpec:
    """Everything one chart image shows; charts.draw(spec) turns it into PNG bytes."""

    name: str  # object name, e.g. charts/price-1y.png
    title: str
    alt: str
    unit: str = ""
    lines: list[Series] = field(default_factory=list)
    candles: Candles | None = None
    bars: Bars | None = None
    legend: list[tuple[str, str]] = field(default_factory=list)  # (colour, label), as HTML


GAP_FACTOR = 1.5  # an interval this many times the data's spacing around it is a gap
NEIGHBOURS = 5  # intervals on each side that tell the data's spacing there


def gap_intervals(t: np.ndarray, step: float) -> np.ndarray:
    """Which intervals between consecutive times are gaps: longer than GAP_FACTOR times
    the data's own spacing there, the larger of the median of the NEIGHBOURS intervals
    before and of those after (so where sparse data meets dense data, the sparse
    spacing counts). `step`, the source's period, is the spacing only when the series
    has a single interval and so no neighbours."""
    d = np.diff(np.asarray(t, dtype=float))
    if len(d) < 2:
        return d > GAP_FACTOR * step
    edge = np.full(NEIGHBOURS, np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(np.concatenate((edge, d, edge)), NEIGHBOURS)
    with warnings.catch_warnings():  # the first and the last interval have one side only
        warnings.simplefilter("ignore", RuntimeWarning)
        before = np.nanmedian(windows[: len(d)], axis=1)
        after = np.nanmedian(windows[NEIGHBOURS + 1 :], axis=1)
    return d > GAP_FACTOR * np.fmax(before, after)


def with_gaps(t: np.ndarray, y: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
    """Insert a NaN point inside every interval that is a gap (gap_intervals)."""
    t = np.asarray(t, dtype=float)
    y = np.asarray(y, dtype=float)
    if len(t) < 2:
        return t, y
    breaks = np.nonzero(gap_intervals(t, step))[0]
    if not len(breaks):
        return t, y
    mids = (t[breaks] + t[breaks + 1]) / 2
    return np.insert(t, breaks + 1, mids), np.insert(y, breaks + 1, np.nan)


def isolated(y: np.ndarray) -> np.ndarray:
    """Mask of the values with no value on either side (a gap, or the end of the series).

    A line needs two points: a monthly price after a gap, or the only sample so far,
    would draw nothing. These are drawn as markers instead.
    """
    finite = np.isfinite(np.asarray(y, dtype=float))
    before = np.concatenate(([False], finite[:-1]))
    after = np.concatenate((finite[1:], [False]))
    return finite & ~before & ~after


def reduce_per_pixel(
    t: np.ndarray, y: np.ndarray, pixels: int, start: float | None = None, end: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Min and max of each of `pixels` equal time buckets that holds a value; a bucket
    that holds a NaN (a gap, a failed sample) keeps a NaN, before its values or after
    them as the first NaN came; a bucket that holds nothing is left out, so data sparser
    than a pixel is still one line (its gaps were marked by with_gaps).

    Returns the input unchanged when it already has no more than two points a pixel.
    """
    t = np.asarray(t, dtype=float)
    y = np.asarray(y, dtype=float)
    if len(t) <= 2 * pixels:
        return t, y
    start = t[0] if start is None else start
    end = t[-1] if end is None else end
    width = max(end - start, 1.0) / pixels
    bucket = np.clip(((t - start) / width).astype(np.int64), 0, pixels - 1)
    finite = ~np.isnan(y)
    lo = np.full(pixels, np.inf)
    hi = np.full(pixels, -np.inf)
    np.minimum.at(lo, bucket[finite], y[finite])
    np.maximum.at(hi, bucket[finite], y[finite])
    order = np.arange(len(t), dtype=float)
    first_value = np.full(pixels, np.inf)
    first_nan = np.full(pixels, np.inf)
    np.minimum.at(first_value, bucket[finite], order[finite])
    np.minimum.at(first_nan, bucket[~finite], order[~finite])
    has = np.isfinite(lo)
    gap = np.isfinite(first_nan)
    gap_first = gap & (first_nan < first_value)
    left = start + np.arange(pixels) * width
    # four slots a bucket: a NaN before, the min, the max, a NaN after; unused slots go
    slots_t = left[:, None] + width * np.array([0.1, 0.25, 0.75, 0.9])
    slots_y = np.column_stack((np.full(pixels, np.nan), lo, hi, np.full(pixels, np.nan)))
    used = np.column_stack((gap_first, has, has, gap & ~gap_first))
    return slots_t[used], slots_y[used]


def to_local(t: np.ndarray, tz: ZoneInfo) -> np.ndarray:
    """Epoch seconds → naive datetime64[s] in the display zone (DST-correct per point)."""
    t = np.asarray(t, dtype=float)
    if not len(t):
        return np.array([], dtype="datetime64[s]")
    if str(tz) == "UTC":
        return t.astype("int64").astype("datetime64[s]")
    offsets = np.array(
        [
            datetime.fromtimestamp(float(v), UTC).astimezone(tz).utcoffset().total_seconds()
            for v in t
        ]
    )
    return (t + offsets).astype("int64").astype("datetime64[s]")


def line(
    label: str,
    t: np.ndarray,
    y: np.ndarray,
    tz: ZoneInfo,
    *,
    step: float,
    pixels: int,
    start: float | None = None,
    end: float | None = None,
) -> Series:
    """The one way a raw or hourly series becomes a line: gaps first, then per-pixel."""
    t, y = with_gaps(t, y, step)
    t, y = reduce_per_pixel(t, y, pixels, start, end)
    return Series(label, to_local(t, tz), y)


def day_range(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def daily_values(
    daily: Mapping[str, DailyRow], first: date, last: date
) -> tuple[np.ndarray, np.ndarray]:
    """The close of each calendar day from `first` to `last`; NaN on a day with no data."""
    days = day_range(first, last)
    values = []
    for day in days:
        row = daily.get(day.isoformat())
        value = row.close if row else None
        values.append(np.nan if value is None else float(value))
    return np.array(days, dtype="datetime64[D]"), np.array(values, dtype=float)


def weekly_candles(
    daily: Mapping[str, DailyRow],
    through: date,
    periods: tuple[int, ...] = (5, 25),
    weeks: int = 104,
) -> Candles:
    """OHLC of each closed Monday-to-Sunday week from the days' OHLC.

    A week without any value is a NaN candle, and every moving average window that
    contains it is NaN too, so a gap stays a gap. Only weeks that ended on or before
    `through` (the last closed day) are included: the chart changes once a week.
    """
    dated = sorted(
        (date.fromisoformat(key), row)
        for key, row in daily.items()
        if row and row.close is not None
    )
    last_sunday = through - timedelta(days=(through.weekday() + 1) % 7)
    if not dated or dated[0][0] > last_sunday:
        empty = np.array([], dtype=float)
        return Candles(np.array([], dtype="datetime64[D]"), empty, empty, empty, empty)
    first_monday = dated[0][0] - timedelta(days=dated[0][0].weekday())
    count = (last_sunday - first_monday).days // 7 + 1
    o, h, lo, c = (np.full(count, np.nan) for _ in range(4))
    for day, row in dated:
        if day > last_sunday:
            break
        week = (day - first_monday).days // 7
        if np.isnan(o[week]):
            o[week] = row.open
            h[week] = row.high
            lo[week] = row.low
        else:
            h[week] = max(h[week], row.high)
            lo[week] = min(lo[week], row.low)
        c[week] = row.close
    mondays = np.array(
        [first_monday + timedelta(weeks=i) for i in range(count)], dtype="datetime64[D]"
    )
    ma = {n: moving_average(c, n) for n in periods}
    keep = slice(max(0, count - weeks), count)
    return Candles(
        mondays[keep], o[keep], h[keep], lo[keep], c[keep], {n: v[keep] for n, v in ma.items()}
    )


def moving_average(values: np.ndarray, n: int) -> np.ndarray:
    """Simple moving average over the last `n` values; NaN until n values, or over a gap."""
    values = np.asarray(values, dtype=float)
    out = np.full(len(values), np.nan)
    if len(values) >= n:
        out[n - 1 :] = np.lib.stride_tricks.sliding_window_view(values, n).mean(axis=1)
    return out


def uptime_bars(daily: Mapping[str, DailyRow], through: date, days: int = 90) -> Bars:
    """Uptime ratio (ok samples / samples) of each of the `days` closed days to `through`."""
    first = through - timedelta(days=days - 1)
    x = np.array(day_range(first, through), dtype="datetime64[D]")
    ratio = []
    for day in day_range(first, through):
        row = daily.get(day.isoformat())
        ratio.append(row.n_ok / row.n_all if row and row.n_all else np.nan)
    return Bars(x, np.array(ratio, dtype=float))
