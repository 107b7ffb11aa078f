"""The renderer's one row type: a sample read from its day document is a Row with named
fields, and the aggregates keep rows in the arrays AGG_VERSION 3 has always stored."""

from __future__ import annotations

from datetime import UTC, datetime

from tally.day_document import tick_of
from tally.render.group_state import read_group, write_group
from tally.render.history import AGG_VERSION, Aggregates, agg_path, save_blob
from tally.render.rows import Row, rows_of
from tally.sample import Sample
from tally.store import Day

TICK = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)

# An aggregates blob as the code before named rows wrote it (positional arrays):
# daily [open, high, low, close, n_ok, n_all, latency_sum, latency_n],
# hourly [close, low, high, mean, n_ok, n_all],
# raw [epoch, value, ok, error, latency_ms, status, up, degraded].
STORED = {
    "through": "2026-11-20",
    "daily": {"2026-11-20": [1.5, 3.0, 0.5, 2.0, 10, 12, 30.0, 3]},
    "hourly": {"2026-11-20T09": [2.0, 0.5, 3.0, 1.25, 10, 12]},
    "recent": [
        [1763631000, 2.0, True, None, 10.0, 200, 1, False],
        [1763631060, None, False, "HTTP 503", 812.0, 503, 0, False],
    ],
    "drawn": {"objects": {"s/a.html": "0123"}, "long_through": "2026-11-20"},
}


def test_aggregates_stored_before_named_rows_read_with_their_fields_named(store):
    assert AGG_VERSION == 3  # the same layout: nothing to rebuild
    save_blob(store, agg_path("a"), STORED)
    agg = Aggregates.load(store, "a")
    day = agg.daily["2026-11-20"]
    assert (day.open, day.high, day.low, day.close) == (1.5, 3.0, 0.5, 2.0)
    assert (day.n_ok, day.n_all, day.latency_sum, day.latency_n) == (10, 12, 30.0, 3)
    hour = agg.hourly["2026-11-20T09"]
    assert (hour.close, hour.low, hour.high, hour.mean, hour.n_ok, hour.n_all) == (
        2.0,
        0.5,
        3.0,
        1.25,
        10,
        12,
    )
    ok, failed = agg.recent
    assert (ok.tick, ok.ok_value, ok.latency_ms, ok.status, ok.up) == (
        1763631000,
        2.0,
        10.0,
        200,
        1,
    )
    assert (failed.ok, failed.ok_value, failed.error, failed.status) == (
        False,
        None,
        "HTTP 503",
        503,
    )
    # and written back, in its group's render document, as the very same arrays
    write_group(store, "g00", {"a": agg.as_data()})
    assert read_group(store, "g00") == {"a": STORED}


def test_a_sample_read_from_its_day_document_is_a_named_row(store):
    store.write_sample(
        Sample("a", TICK, ok=True, value=85.3, latency_ms=85.3, status=200, up=1, degraded=True)
    )
    [row] = rows_of(store.day("a", "2026-11-20"))
    assert row == Row(
        tick=int(TICK.timestamp()),
        value=85.3,
        ok=True,
        error=None,
        latency_ms=85.3,
        status=200,
        up=1,
        degraded=True,
    )


def test_every_minute_of_a_day_is_read_at_its_tick():
    """rows_of reckons a key's time itself (the fold's hot loop): the same as the store's."""
    keys = [f"{m // 60:02d}{m % 60:02d}" for m in range(1440)]
    day = Day("a", "2024-02-29", {key: {"value": 1.0, "ok": True} for key in keys})
    assert [row.tick for row in rows_of(day)] == [
        int(tick_of("2024-02-29", key).timestamp()) for key in keys
    ]
