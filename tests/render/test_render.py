"""Render from the Firestore emulator into a folder: what a user sees and what it costs."""

from __future__ import annotations

import csv
import io
import json
import warnings
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from tally.config import parse_config
from tally.render.entry import render_site
from tally.render.plan import detail_every
from tally.sample import Sample

from tests.render.seed import days_back, seed

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
TODAY = NOW.date()


def _config(**extra):
    return parse_config(
        {
            "title": "tally test",
            "timezone": "Asia/Tokyo",
            "sources": [
                {
                    "id": "price",
                    "name": "カード価格",
                    "unit": "円",
                    "kind": "json",
                    "url": "https://example.test/",
                    "query": "price",
                    "every": "1h",
                    "alerts": {"above": 150, "change": {"percent": 5, "window": "1d"}},
                },
                {"id": "pulse", "kind": "http", "url": "https://example.test/", "every": "10m"},
            ],
            **extra,
        }
    )


def _hourly(value=100.0):
    return lambda tick: value + tick.hour


def test_a_day_without_samples_is_a_gap_in_the_year_chart(store, tmp_path):
    missing = TODAY - timedelta(days=10)
    days = [d for d in days_back(TODAY - timedelta(days=1), 40) if d != missing]
    seed(store, "price", days, 60, _hourly())

    result = render_site(_config(), store, tmp_path, now=NOW)

    year = result.charts["charts/price-1y.png"].lines[0]
    shown = {str(x)[:10]: y for x, y in zip(year.x, year.y, strict=True)}
    assert shown[(missing - timedelta(days=1)).isoformat()] == 123.0  # close = 23:00 value
    assert shown[(missing + timedelta(days=1)).isoformat()] == 123.0
    gap_at = [i for i, y in enumerate(year.y) if np.isnan(y)]
    assert len(gap_at) == 1
    assert str(year.x[gap_at[0] - 1])[:10] < missing.isoformat() < str(year.x[gap_at[0] + 1])[:10]

    month = result.charts["charts/price-30d.png"].lines[0]
    assert np.isnan(month.y).any(), "the missing day is a break in the 30-day line too"


def test_failed_samples_break_the_recent_line(store, tmp_path):
    seed(store, "pulse", [TODAY], 10, lambda t: None if t.hour == 3 else 80.0)
    result = render_site(_config(), store, tmp_path, now=NOW)
    recent = result.charts["charts/pulse-recent.png"].lines[0]
    hours = [x.astype("datetime64[h]").astype(int) % 24 for x in recent.x]  # JST = UTC+9
    assert all(y == 80.0 for y, h in zip(recent.y, hours, strict=True) if h not in (11, 12))
    assert np.isnan(recent.y).any()


def test_steady_state_render_reads_a_few_documents_and_redraws_only_the_changed_source(
    store, tmp_path
):
    seed(store, "price", days_back(TODAY - timedelta(days=1), 120), 60, _hourly())
    seed(store, "pulse", days_back(TODAY - timedelta(days=1), 3), 10, lambda t: 50.0)
    config = _config()
    first = render_site(config, store, tmp_path, now=NOW)
    assert first.reads > 120  # the first render folds the whole history, once (in pages)
    daily = json.loads((tmp_path / "data/price.json").read_text())["daily"]
    assert len(daily) == 120 and daily[0]["date"] == (TODAY - timedelta(days=120)).isoformat()
    assert sorted(first.redrawn) == ["price", "pulse"]

    store.write_sample(Sample("price", NOW + timedelta(minutes=1), ok=True, value=140.0))
    soon = render_site(config, store, tmp_path, now=NOW + timedelta(minutes=5))
    # the overview shows the new value at once; the source's own objects wait for
    # detail_every (cost: design.md), so nothing else is drawn or uploaded yet
    assert soon.uploaded == ["status.json", "index.html"] and soon.redrawn == []
    # the overview, the alert state, the change queries (price's group-hour document;
    # no day document: one read), price's aggregates
    assert soon.reads == 5
    assert "140" in (tmp_path / "index.html").read_text()
    assert "140" not in (tmp_path / "s/price.html").read_text()

    second = render_site(config, store, tmp_path, now=NOW + detail_every(config))
    assert second.redrawn == ["price"]
    # the overview, the alert state, nothing new (each change query is billed one
    # read), then price's aggregates and today's group-hour document
    assert second.reads == 1 + 1 + 2 + 2, second.reads
    assert "140" in (tmp_path / "s/price.html").read_text()
    assert "charts/price-recent.png" in second.uploaded
    assert not [name for name in second.uploaded if "pulse" in name]
    assert not [name for name in second.uploaded if "-1y" in name or "-weekly" in name]
    assert second.uploaded[-1] == "index.html"


def test_reads_per_render_do_not_grow_with_history(store, tmp_path):
    config = _config()
    reads = {}
    for history in (2, 200):
        seed(store, "price", days_back(TODAY - timedelta(days=1), history), 60, _hourly())
        render_site(config, store, tmp_path / str(history), now=NOW)
        store.write_sample(Sample("price", NOW + timedelta(minutes=1), ok=True, value=1.0))
        reads[history] = render_site(
            config, store, tmp_path / str(history), now=NOW + detail_every(config)
        ).reads
        store.client.recursive_delete(store.client.collection("sources"))
        store.client.recursive_delete(store.client.collection("render"))
        store.client.recursive_delete(store.client.collection("groups"))
    # the overview, the alert state, the two change queries (price's hour document, no
    # day document), price's aggregates
    assert reads[2] == reads[200] == 5


def test_long_range_charts_are_redrawn_when_the_day_closes_not_before(store, tmp_path):
    seed(store, "price", days_back(TODAY - timedelta(days=1), 30), 60, _hourly())
    config = _config()
    render_site(config, store, tmp_path, now=NOW)
    store.write_sample(Sample("price", NOW + timedelta(hours=3), ok=True, value=1.0))
    later = render_site(config, store, tmp_path, now=NOW + timedelta(hours=3, minutes=5))
    assert "charts/price-1y.png" not in later.charts

    next_day = datetime.combine(TODAY + timedelta(days=1), datetime.min.time(), UTC)
    store.write_sample(Sample("price", next_day + timedelta(hours=1), ok=True, value=2.0))
    closed = render_site(config, store, tmp_path, now=next_day + timedelta(hours=1, minutes=5))
    assert "charts/price-1y.png" in closed.charts
    year = closed.charts["charts/price-1y.png"].lines[0]
    assert year.y[-1] == 1.0  # yesterday's close, folded once the day closed


def test_a_sample_landing_just_after_midnight_is_not_lost_from_the_daily_close(store, tmp_path):
    config = _config()
    yesterday = TODAY - timedelta(days=1)
    seed(store, "price", [yesterday - timedelta(days=1)], 60, _hourly())
    midnight = datetime.combine(TODAY, datetime.min.time(), UTC)
    store.write_sample(Sample("price", midnight - timedelta(hours=2), ok=True, value=7.0))
    render_site(config, store, tmp_path, now=midnight + timedelta(minutes=1))
    # the 23:00 sample of yesterday is written late (a retried collect event)
    store.write_sample(Sample("price", midnight - timedelta(hours=1), ok=True, value=9.0))
    render_site(config, store, tmp_path, now=midnight + timedelta(minutes=10))
    result = render_site(config, store, tmp_path, now=midnight + timedelta(hours=2))
    data = json.loads((tmp_path / "data/price.json").read_text())
    closes = {row["date"]: row["close"] for row in data["daily"]}
    assert closes[yesterday.isoformat()] == 9.0
    assert "charts/price-1y.png" in result.charts


def test_japanese_names_and_units_are_drawn_with_a_font_that_has_the_glyphs(store, tmp_path):
    seed(store, "price", [TODAY - timedelta(days=1)], 60, _hourly())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph … missing from font(s)"
        result = render_site(_config(), store, tmp_path, now=NOW, force=True)
    assert result.charts["charts/price-recent.png"].title.startswith("カード価格")


def test_exports_badge_and_status_say_the_same_as_the_page(store, tmp_path):
    seed(store, "price", days_back(TODAY - timedelta(days=1), 8), 60, _hourly())
    store.write_sample(Sample("price", NOW - timedelta(minutes=30), ok=True, value=160.0))
    store.write_sample(
        Sample("pulse", NOW - timedelta(minutes=10), ok=False, error="HTTP 503", status=503)
    )
    store.write_sample(
        Sample("pulse", NOW - timedelta(minutes=20), ok=False, error='=HYPERLINK("x")')
    )
    render_site(_config(), store, tmp_path, now=NOW)

    status = json.loads((tmp_path / "status.json").read_text())
    by_id = {s["id"]: s for s in status["sources"]}
    assert by_id["price"]["status"] == "ok" and by_id["price"]["value"] == 160.0
    assert by_id["price"]["change_24h_percent"] == pytest.approx(
        (160 - 112) / 112 * 100
    )  # 12:00 yesterday: 100 + 12
    assert by_id["pulse"]["status"] == "down" and by_id["pulse"]["last_error"] == "HTTP 503"

    badge = json.loads((tmp_path / "badges/price.json").read_text())
    assert badge == {
        "schemaVersion": 1,
        "label": "カード価格",
        "message": "160 円",
        "color": "brightgreen",
        "cacheSeconds": 300,
    }
    assert json.loads((tmp_path / "badges/pulse.json").read_text())["message"] == "down"

    rows = list(csv.DictReader(io.StringIO((tmp_path / "data/price.csv").read_text())))
    days = [r for r in rows if r["resolution"] == "day"]
    assert len(days) == 8 and days[-1]["value"] == "123" and days[-1]["low"] == "100"
    assert rows[-1]["resolution"] == "sample" and rows[-1]["value"] == "160"
    data = json.loads((tmp_path / "data/price.json").read_text())
    assert data["recent"][-1] == {
        "time": "2026-11-22T11:30:00Z",
        "value": 160.0,
        "ok": True,
        "error": None,
        "latency_ms": None,
        "status": None,
    }

    pulse_rows = list(csv.DictReader(io.StringIO((tmp_path / "data/pulse.csv").read_text())))
    assert [r["error"] for r in pulse_rows[-2:]] == ['\'=HYPERLINK("x")', "HTTP 503"]

    detail = (tmp_path / "s/price.html").read_text()
    # the page shows what alerting decided (no collect tick ran here), never its own verdict
    assert "above 150 円: not firing" in detail


def test_status_is_stale_without_a_sample_within_twice_its_schedule_degraded_when_slow(
    store, tmp_path
):
    store.write_sample(Sample("pulse", NOW - timedelta(minutes=25), ok=True, value=10.0))
    render_site(_config(), store, tmp_path, now=NOW)
    by_id = {s["id"]: s for s in json.loads((tmp_path / "status.json").read_text())["sources"]}
    assert by_id["pulse"]["status"] == "stale"
    assert by_id["price"]["status"] == "no data"
    store.write_sample(Sample("pulse", NOW - timedelta(minutes=10), ok=True, value=10.0))
    render_site(_config(), store, tmp_path, now=NOW)
    by_id = {s["id"]: s for s in json.loads((tmp_path / "status.json").read_text())["sources"]}
    assert by_id["pulse"]["status"] == "ok"
    slow = Sample("pulse", NOW, ok=True, value=900.0, degraded=True, error="slower than 500 ms")
    store.write_sample(slow)
    render_site(_config(), store, tmp_path, now=NOW + timedelta(minutes=1))
    by_id = {s["id"]: s for s in json.loads((tmp_path / "status.json").read_text())["sources"]}
    assert by_id["pulse"]["status"] == "degraded"


def test_check_uptime_over_24h_and_7d(store, tmp_path):
    # one day in four down for an hour: 6 of 144 samples failed that day
    days = days_back(TODAY - timedelta(days=1), 8)
    seed(store, "pulse", days, 10, lambda t: None if (t.day % 4 == 0 and t.hour == 5) else 30.0)
    render_site(_config(), store, tmp_path, now=NOW)
    s = {s["id"]: s for s in json.loads((tmp_path / "status.json").read_text())["sources"]}
    uptime = s["pulse"]["uptime_percent"]
    window_days = [d for d in days if d > TODAY - timedelta(days=7)]
    failed = sum(6 for d in window_days if d.day % 4 == 0)
    assert uptime["7d"] == pytest.approx(
        (len(window_days) * 144 - failed) / (len(window_days) * 144) * 100
    )
    assert uptime["90d"] is not None


def test_tally_render_writes_the_site_to_a_folder(store, tmp_path, monkeypatch, capsys):
    from tally.cli import main

    config = tmp_path / "tally.yaml"
    config.write_text(
        "sources:\n  - id: clicks\n    kind: json\n    url: https://example.test/\n"
        "    query: count\n    every: 1h\n"
    )
    store.write_sample(
        Sample("clicks", datetime.now(UTC) - timedelta(minutes=5), ok=True, value=42)
    )
    out = tmp_path / "site"
    assert main(["render", "--config", str(config), "--out", str(out)]) == 0
    assert "42" in (out / "index.html").read_text()
    assert (out / "s/clicks.html").is_file() and (out / "style.css").is_file()
    assert "1 of 1 source(s) redrawn" in capsys.readouterr().out


def test_history_imported_after_a_render_shows_once_the_aggregates_forget_those_days(
    store, tmp_path
):
    from tally.importer import Importer

    config = _config()
    hole = TODAY - timedelta(days=5)
    days = [d for d in days_back(TODAY - timedelta(days=1), 10) if d != hole]
    seed(store, "price", days, 60, _hourly())
    render_site(config, store, tmp_path, now=NOW)
    assert hole.isoformat() not in _daily_closes(tmp_path)

    # `tally import` of a past day: the next render finds the day written and folds it again
    Importer(store, "price").import_lines(
        [f"{hole.isoformat()}T09:00:00Z,55", f"{hole.isoformat()}T10:00:00Z,66"]
    )
    result = render_site(config, store, tmp_path, now=NOW + timedelta(minutes=5))

    closes = _daily_closes(tmp_path)
    assert closes[hole.isoformat()] == 66.0
    assert closes[(hole + timedelta(days=1)).isoformat()] == 123.0
    assert len(closes) == 10
    assert "charts/price-1y.png" in result.charts
    recent = json.loads((tmp_path / "data/price.json").read_text())["recent"]
    times = [r["time"] for r in recent]
    assert len(times) == len(set(times))


def _daily_closes(folder):
    data = json.loads((folder / "data/price.json").read_text())
    return {row["date"]: row["close"] for row in data["daily"]}


def test_the_json_and_csv_exports_count_a_days_samples_alike(store, tmp_path):
    """24 hourly samples a day, two of them failed: 24 samples, 22 ok, in both files."""
    day = TODAY - timedelta(days=1)
    seed(store, "price", [day], 60, lambda t: None if t.hour in (3, 4) else 100.0)
    render_site(_config(), store, tmp_path, now=NOW)
    [row] = json.loads((tmp_path / "data/price.json").read_text())["daily"]
    assert (row["date"], row["samples"], row["ok_samples"]) == (day.isoformat(), 24, 22)
    rows = list(csv.DictReader(io.StringIO((tmp_path / "data/price.csv").read_text())))
    [csv_row] = [r for r in rows if r["resolution"] == "day"]
    assert (csv_row["samples"], csv_row["ok_samples"]) == ("24", "22")
