"""What is handed to the plot: gaps, per-pixel reduction, weekly candles, moving averages."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from tally.render.rows import DailyRow
from tally.render.series import (
    moving_average,
    reduce_per_pixel,
    uptime_bars,
    weekly_candles,
    with_gaps,
)


def test_a_long_pause_between_samples_breaks_the_line():
    t = np.array([0, 60, 120, 600, 660], dtype=float)
    y = np.array([1, 2, 3, 4, 5], dtype=float)
    gt, gy = with_gaps(t, y, max_step=90)
    assert np.isnan(gy).sum() == 1
    at = int(np.flatnonzero(np.isnan(gy))[0])
    assert gt[at - 1] == 120 and gt[at + 1] == 600


def test_regular_samples_are_not_broken():
    t = np.arange(0, 6000, 60, dtype=float)
    _, gy = with_gaps(t, np.ones_like(t), max_step=90)
    assert not np.isnan(gy).any()


def test_a_year_of_minutes_is_reduced_to_a_min_and_max_per_pixel_keeping_spikes_and_gaps():
    t = np.arange(0, 525_600 * 60, 60, dtype=float)
    y = np.sin(t / 86400.0)
    y[100_000] = 50.0  # a one-minute spike must survive the reduction
    y[200_000:210_000] = np.nan  # a week without data must stay a gap
    rt, ry = reduce_per_pixel(t, y, pixels=720)
    assert len(rt) == 1440
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
