"""What is handed to the plot: gaps, per-pixel reduction, weekly candles, moving averages."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from tally.render.rows import DailyRow
from tally.render.series import (
    gap_intervals,
    moving_average,
    reduce_per_pixel,
    uptime_bars,
    weekly_candles,
    with_gaps,
)


def test_a_long_pause_between_samples_breaks_the_line():
    t = np.array([0, 60, 120, 600, 660], dtype=float)
    y = np.array([1, 2, 3, 4, 5], dtype=float)
    gt, gy = with_gaps(t, y, step=60)
    assert np.isnan(gy).sum() == 1
    at = int(np.flatnonzero(np.isnan(gy))[0])
    assert gt[at - 1] == 120 and gt[at + 1] == 600


def test_regular_samples_are_not_broken():
    t = np.arange(0, 6000, 60, dtype=float)
    _, gy = with_gaps(t, np.ones_like(t), step=60)
    assert not np.isnan(gy).any()


HOUR = 3600.0


def _hourly_then_minutes(hours: int = 42, minutes: int = 360) -> np.ndarray:
    """What `tally local` imports for a source collected every minute: hourly history,
    then one sample a minute for the last six hours."""
    hourly = np.arange(hours) * HOUR
    dense = hourly[-1] + HOUR + np.arange(minutes) * 60.0
    return np.concatenate((hourly, dense))


def test_data_sparser_than_the_schedule_is_one_line():
    """A per-minute schedule over hourly history: every hourly interval is 60 times the
    schedule, and none is a gap, nor is the step from the hourly part to the dense one."""
    t = _hourly_then_minutes()
    assert not gap_intervals(t, step=60).any()
    _, y = with_gaps(t, np.ones_like(t), step=60)
    assert not np.isnan(y).any()


def test_a_gap_is_missing_data_relative_to_the_datas_own_spacing():
    t = _hourly_then_minutes()
    hour_missing = np.delete(t, 20)  # one hour of the hourly history
    minutes_missing = np.delete(t, np.arange(100, 110))  # ten minutes of the dense part
    at_the_seam = np.delete(t, 41)  # the last hourly sample, next to the dense part
    for series, at in (
        (hour_missing, [19]),
        (minutes_missing, [99]),
        (at_the_seam, [40]),
    ):
        assert np.flatnonzero(gap_intervals(series, step=60)).tolist() == at
    # one missing minute among minutes is a gap (2 × its spacing), as before
    assert np.flatnonzero(gap_intervals(np.delete(np.arange(20) * 60.0, 7), step=60)).tolist() == [
        6
    ]


def test_two_samples_have_no_spacing_of_their_own_the_schedule_decides():
    assert gap_intervals(np.array([0.0, 60.0]), step=60).tolist() == [False]
    assert gap_intervals(np.array([0.0, 600.0]), step=60).tolist() == [True]
    assert gap_intervals(np.array([0.0]), step=60).tolist() == []


def test_sparse_data_stays_one_line_through_the_per_pixel_reduction():
    """A day of hourly history, then 25 hours of minutes: more points than two a pixel
    on the 48-hour chart's 720 (a 4-minute bucket) and the sparkline's 60, so both are
    reduced; the empty buckets between hourly samples are left out, not drawn as breaks;
    a real gap and a failed sample still break the line."""
    t = _hourly_then_minutes(hours=24, minutes=1500)
    y = np.sin(t / 7000.0)
    for pixels in (720, 60):  # the 48-hour chart, the overview's sparkline (SPARK_PIXELS)
        assert len(t) > 2 * pixels
        _, ry = reduce_per_pixel(*with_gaps(t, y, step=60), pixels=pixels, start=t[0], end=t[-1])
        assert not np.isnan(ry).any(), pixels
    y[1000] = np.nan  # a failed sample in the dense part
    gapped = np.delete(t, 10), np.delete(y, 10)  # and an hour missing from the history
    _, ry = reduce_per_pixel(*with_gaps(*gapped, step=60), pixels=720, start=t[0], end=t[-1])
    assert np.isnan(ry).sum() == 2


def test_a_year_of_minutes_is_reduced_to_a_min_and_max_per_pixel_keeping_spikes_and_gaps():
    t = np.arange(0, 525_600 * 60, 60, dtype=float)
    y = np.sin(t / 86400.0)
    y[100_000] = 50.0  # a one-minute spike must survive the reduction
    y[200_000:210_000] = np.nan  # a week without data must stay a gap
    rt, ry = reduce_per_pixel(t, y, pixels=720)
    bucket_minutes = 525_599 / 720  # the span over 720 equal buckets
    first, last = int(200_000 // bucket_minutes), int(209_999 // bucket_minutes)
    inside = last - first - 1  # buckets with nothing but the gap: a NaN each
    assert (first, last, inside) == (273, 287, 13)
    # a min and a max in every bucket with data, a NaN in each bucket of the gap, one
    # more in each of the two buckets where it starts and ends
    assert np.isnan(ry).sum() == inside + 2
    assert len(rt) == 2 * (720 - inside) + inside + 2
    assert np.all(np.diff(rt) > 0)
    assert np.nanmax(ry) == 50.0
    assert np.nanmin(ry) == np.nanmin(y)
    assert np.isnan(ry).any()
    gap_start, gap_end = 200_000 * 60, 210_000 * 60
    inside = (rt > gap_start + 86400) & (rt < gap_end - 86400)
    assert inside.any() and np.isnan(ry[inside]).all()


def test_a_short_series_is_drawn_point_by_point():
    t = np.arange(10, dtype=float)
    _, ry = reduce_per_pixel(t, t * 2, pixels=720)
    assert list(ry) == list(t * 2)


def _daily(first: date, closes: list[float | None]) -> dict[str, DailyRow]:
    """Daily rows whose open/high/low are derived from the close, so weeks are hand-checkable."""
    rows = {}
    for i, c in enumerate(closes):
        if c is not None:
            rows[(first + timedelta(days=i)).isoformat()] = DailyRow(
                c - 1, c + 2, c - 3, c, 1, 1, 0.0, 0
            )
    return rows


def test_weekly_candles_and_moving_averages_match_a_hand_computed_series():
    monday = date(2026, 1, 5)
    closes: list[float | None] = [float(100 + d) for d in range(7 * 30)]  # 30 full weeks
    for d in range(7 * 10, 7 * 11):  # week 10 has no data at all
        closes[d] = None
    daily = _daily(monday, closes)
    candles = weekly_candles(daily, through=monday + timedelta(days=7 * 30 - 1), weeks=1000)

    assert len(candles.x) == 30
    assert str(candles.x[0]) == "2026-01-05" and str(candles.x[1]) == "2026-01-12"
    # week 0: days 0..6 → open = first open (100-1), close = last close (106),
    # high = max high (106+2), low = min low (100-3)
    assert (candles.open[0], candles.high[0], candles.low[0], candles.close[0]) == (
        99.0,
        108.0,
        97.0,
        106.0,
    )
    assert candles.close[3] == 100 + 7 * 3 + 6
    assert np.isnan(candles.close[10]) and np.isnan(candles.open[10])

    weekly_close = [100 + 7 * w + 6 for w in range(30)]
    ma5_w4 = sum(weekly_close[0:5]) / 5  # first complete 5-week window
    assert np.isnan(candles.ma[5][:4]).all()
    assert candles.ma[5][4] == ma5_w4
    assert candles.ma[5][9] == sum(weekly_close[5:10]) / 5
    # every window containing the empty week 10 is a gap, then the average resumes
    assert np.isnan(candles.ma[5][10:15]).all()
    assert candles.ma[5][15] == sum(weekly_close[11:16]) / 5
    assert np.isnan(candles.ma[25][:]).all()  # 25 complete weeks never happen around week 10


def test_the_25_week_average_is_the_mean_of_the_last_25_weekly_closes():
    monday = date(2025, 1, 6)
    closes = [float((d * 37) % 101) for d in range(7 * 40)]
    candles = weekly_candles(_daily(monday, closes), through=monday + timedelta(days=7 * 40 - 1))
    weekly_close = [closes[7 * w + 6] for w in range(40)]
    for w in range(24, 40):
        expected = sum(weekly_close[w - 24 : w + 1]) / 25
        assert abs(candles.ma[25][w] - expected) < 1e-9
    assert np.isnan(candles.ma[25][23])


def test_the_week_in_progress_is_not_a_candle_yet():
    monday = date(2026, 3, 2)
    daily = _daily(monday, [10.0] * 10)  # a full week and three days of the next
    candles = weekly_candles(daily, through=monday + timedelta(days=9))
    assert [str(x) for x in candles.x] == ["2026-03-02"]


def test_moving_average_of_too_few_values_is_empty():
    assert np.isnan(moving_average(np.array([1.0, 2.0]), 5)).all()


def test_uptime_bars_one_a_day_and_a_day_without_samples_has_no_bar_value():
    through = date(2026, 11, 21)
    daily = {
        "2026-11-21": DailyRow(None, None, None, None, 144, 144, 0.0, 0),
        "2026-11-20": DailyRow(None, None, None, None, 72, 144, 0.0, 0),
    }
    bars = uptime_bars(daily, through)
    assert len(bars.x) == 90 and str(bars.x[-1]) == "2026-11-21"
    assert bars.ratio[-1] == 1.0 and bars.ratio[-2] == 0.5
    assert np.isnan(bars.ratio[-3])


def test_isolated_values_are_those_without_a_value_on_either_side():
    from tally.render.series import isolated

    nan = np.nan
    y = np.array([1.0, nan, 2.0, 3.0, nan, 4.0, nan, nan, 5.0])
    assert isolated(y).tolist() == [True, False, False, False, False, True, False, False, True]
    assert isolated(np.array([7.0])).tolist() == [True]
    assert isolated(np.array([], dtype=float)).tolist() == []
