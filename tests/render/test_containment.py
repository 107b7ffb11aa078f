"""A source that cannot be drawn is one error card, not the page (issue 16, item 3).

The failures are real ones on the real render path: a day document no code of
today's writes (a sample key that is no time of day, left by a hand edit or an
older version) stored in the Firestore emulator; a folder where a source's page
cannot be written; an overview card from an older version that lacks a field. The
site goes to fake-gcs-server or a folder, as the other render tests'.
"""

from __future__ import annotations

import io
import json
import struct
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from tally.cli import main
from tally.config import parse_config
from tally.render import charts
from tally.render.entry import render_site
from tally.render.state import Overview
from tally.sample import Sample
from tally.store import sample_fields

from tests.render.seed import days_back, seed

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
YESTERDAY = NOW.date() - timedelta(days=1)
MATH_UNIT = "$ (cost_$)"
MATH_NAME = r"$$ \alpha_1^2 <b>bold</b>"


def _source(source_id: str, **extra):
    return {
        "id": source_id,
        "kind": "json",
        "url": "https://x.test/",
        "query": "n",
        "every": "1h",
        **extra,
    }


CONFIG = {
    "title": "containment",
    "sources": [
        _source("alpha", name="Alpha"),
        _source("broken", name="Broken one"),
        _source("cost", name=MATH_NAME, unit=MATH_UNIT, description="$$ & \\beta_"),
    ],
}


def _config():
    return parse_config(CONFIG)


def _seed_all(store):
    seed(store, "alpha", days_back(YESTERDAY, 3), 60, lambda t: 1000.0 + t.hour)
    seed(store, "broken", days_back(YESTERDAY, 3), 60, lambda t: 500.0)
    seed(store, "cost", days_back(YESTERDAY, 3), 60, lambda t: 42.0)
    store.write_sample(Sample("alpha", NOW - timedelta(minutes=30), ok=True, value=7777.0))
    store.write_sample(Sample("broken", NOW - timedelta(minutes=30), ok=True, value=4242.0))
    store.write_sample(Sample("cost", NOW - timedelta(minutes=30), ok=True, value=31.0))


def _corrupt_today(store) -> str:
    """Today's document of `broken` with one sample under a key that is no time of day."""
    fields = sample_fields(Sample("broken", NOW - timedelta(minutes=30), ok=True, value=1.0))
    path, data = store.day_write("broken", NOW.date().isoformat(), {"2561": fields})
    store.set(path, data, merge=True)
    return path


def _repair_today(store, path) -> None:
    from google.cloud import firestore

    store.set(path, {"samples": {"2561": firestore.DELETE_FIELD}}, merge=True)
    store.write_sample(Sample("broken", NOW - timedelta(minutes=20), ok=True, value=4343.0))


def _get(fake_gcs, bucket, name) -> bytes:
    with urllib.request.urlopen(fake_gcs.object_url(bucket, name), timeout=10) as response:
        return response.read()


def test_a_source_that_cannot_be_drawn_is_one_card_and_the_next_render_tries_again(
    store, bucket, fake_gcs, log_lines
):
    config = _config()
    _seed_all(store)
    bad = _corrupt_today(store)

    first = render_site(config, store, now=NOW)  # to $TALLY_SITE_BUCKET, as deployed

    assert first.failed == {"broken": "ValueError"}
    assert sorted(first.redrawn) == ["alpha", "cost"]
    assert first.uploaded[-1] == "index.html"
    index = _get(fake_gcs, bucket, "index.html").decode()
    assert "7,777" in index and "31 $ (cost_$)" in index  # the others, drawn
    assert "4,242" not in index
    assert index.count("Could not be drawn since") == 1
    assert "Could not be drawn since 2026-11-22 12:00 UTC (ValueError)" in index
    own = _get(fake_gcs, bucket, "s/broken.html").decode()
    assert "This source could not be drawn since 2026-11-22 12:00 UTC (ValueError)" in own
    assert "7,777" in _get(fake_gcs, bucket, "s/alpha.html").decode()
    status = {s["id"]: s for s in json.loads(_get(fake_gcs, bucket, "status.json"))["sources"]}
    assert status["broken"]["render_error"] == {
        "type": "ValueError",
        "since": "2026-11-22T12:00:00Z",
    }
    assert "render_error" not in status["alpha"] and status["alpha"]["value"] == 7777.0
    failures = [line for line in log_lines() if line["severity"] == "ERROR"]
    assert [(line["source"], line["error_type"]) for line in failures] == [("broken", "ValueError")]
    assert "not a sample key (HHMM): '2561'" in failures[0]["message"]

    # the next render tries it again; the same failure writes no object but the overview
    again = render_site(config, store, now=NOW + timedelta(minutes=5))
    assert again.failed == {"broken": "ValueError"}
    assert not [name for name in again.uploaded if "broken" in name]
    state = Overview.load(store).sources["broken"]
    assert state["pending"] is True and state["render_error"]["type"] == "ValueError"
    assert "card" not in state  # never drawn: nothing recorded as done

    _repair_today(store, bad)
    fixed = render_site(config, store, now=NOW + timedelta(minutes=10))
    assert fixed.failed == {} and fixed.redrawn == ["broken"]
    index = _get(fake_gcs, bucket, "index.html").decode()
    assert "Could not be drawn" not in index and "4,343" in index
    assert "4,343" in _get(fake_gcs, bucket, "s/broken.html").decode()
    assert "charts/broken-recent.png" in fixed.uploaded
    assert "render_error" not in Overview.load(store).sources["broken"]


def test_a_page_that_cannot_be_written_costs_its_source_only(store, tmp_path, log_lines, capsys):
    config = _config()
    _seed_all(store)
    (tmp_path / "s" / "broken.html").mkdir(parents=True)  # where its page goes: a folder

    first = render_site(config, store, tmp_path, now=NOW)

    assert first.failed == {"broken": "IsADirectoryError"}
    index = (tmp_path / "index.html").read_text()
    assert "Could not be drawn since 2026-11-22 12:00 UTC (IsADirectoryError)" in index
    assert "7,777" in index and "4,242" not in index
    assert "7,777" in (tmp_path / "s/alpha.html").read_text()
    errors = [line for line in log_lines() if line["severity"] == "ERROR"]
    assert [(line["source"], line["error_type"]) for line in errors] == [
        ("broken", "IsADirectoryError"),  # drawing it
        ("broken", "IsADirectoryError"),  # its error page, at the same place
    ]

    # the command says so and fails, with the page written all the same
    path = tmp_path / "tally.yaml"
    path.write_text(yaml.safe_dump(CONFIG), encoding="utf-8")
    capsys.readouterr()
    assert main(["render", "--config", str(path), "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == (
        "error: source 'broken' could not be drawn (IsADirectoryError): its card says so; "
        "the log line above has the details"
    )

    (tmp_path / "s" / "broken.html").rmdir()
    fixed = render_site(config, store, tmp_path, now=NOW + timedelta(minutes=5))
    assert fixed.failed == {} and fixed.redrawn == ["broken"]
    assert "4,242" in (tmp_path / "s/broken.html").read_text()
    assert "Could not be drawn" not in (tmp_path / "index.html").read_text()


def test_a_stored_card_that_cannot_be_shown_is_an_error_card_until_it_is_drawn_again(
    store, tmp_path, log_lines
):
    config = _config()
    _seed_all(store)
    render_site(config, store, tmp_path, now=NOW)
    overview = Overview.load(store)
    del overview.sources["alpha"]["card"]["last_tick"]  # as an older version might have kept it
    overview.save(store)

    shown = render_site(config, store, tmp_path, now=NOW + timedelta(minutes=1))

    assert shown.failed == {"alpha": "KeyError"}
    index = (tmp_path / "index.html").read_text()
    assert "Could not be drawn since 2026-11-22 12:01 UTC (KeyError)" in index
    assert "4,242" in index and "Alpha" in index
    status = {s["id"]: s for s in json.loads((tmp_path / "status.json").read_text())["sources"]}
    assert status["alpha"]["status"] == "no data" and status["broken"]["value"] == 4242.0
    assert [line["source"] for line in log_lines() if line["severity"] == "ERROR"] == ["alpha"]

    redrawn = render_site(config, store, tmp_path, now=NOW + timedelta(minutes=2))
    assert redrawn.failed == {} and "alpha" in redrawn.redrawn
    assert "Could not be drawn" not in (tmp_path / "index.html").read_text()


def _png_chunks(data: bytes) -> list[str]:
    """The chunk types of a PNG, in order, each once (IDAT repeats)."""
    at, kinds = 8, []
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind = data[at + 4 : at + 8].decode("ascii")
        if not kinds or kinds[-1] != kind:
            kinds.append(kind)
        at += 12 + length
    return kinds


def _png_text(data: bytes) -> dict[str, str]:
    from PIL import Image

    return dict(Image.open(io.BytesIO(data)).text)


def test_outside_text_is_drawn_and_shown_as_its_characters(store, tmp_path):
    """A unit of `$ (cost_$)` raised in matplotlib's mathtext and took every page with
    it; the name and description go to HTML, JSON and the chart's alt text."""
    config = _config()
    _seed_all(store)

    result = render_site(config, store, tmp_path, now=NOW)

    assert result.failed == {}
    png = (tmp_path / "charts/cost-recent.png").read_bytes()
    # no outside text in the file: its one text chunk is the size of its smallest text
    assert png[:4] == b"\x89PNG" and _png_chunks(png) == ["IHDR", "pHYs", "IDAT", "tEXt", "IEND"]
    assert _png_text(png) == {charts.SMALLEST_TEXT: f"{charts.TEXT_PX * charts.DENSITY:.1f}"}
    assert (tmp_path / "charts/cost-weekly.png").is_file()
    assert result.charts["charts/cost-recent.png"].unit == MATH_UNIT
    page = (tmp_path / "s/cost.html").read_text()
    assert "$$ \\alpha_1^2 &lt;b&gt;bold&lt;/b&gt;" in page and "<b>bold</b>" not in page
    assert "$$ &amp; \\beta_" in page
    badge = json.loads((tmp_path / "badges/cost.json").read_text())
    assert badge["label"] == MATH_NAME and badge["message"] == "31 $ (cost_$)"
    exported = json.loads((tmp_path / "data/cost.json").read_text())
    assert (exported["name"], exported["unit"]) == (MATH_NAME, MATH_UNIT)


def test_a_bucket_that_fails_fails_the_run_not_one_source(store, bucket, fake_gcs, monkeypatch):
    """Cloud Storage or Firestore unreachable is no source's trouble: the run fails (the
    platform retries it) and the page stays as it was, never a page of error cards."""
    import requests
    from tally.render import publish

    config = _config()
    _seed_all(store)
    render_site(config, store, now=NOW)
    before = _get(fake_gcs, bucket, "index.html")
    store.write_sample(Sample("alpha", NOW + timedelta(minutes=1), ok=True, value=9999.0))
    real_write = publish.BucketSink.write

    def connection_lost_on_a_chart(self, name, data):
        if name == "charts/alpha-recent.png":
            raise requests.ConnectionError("connection reset (injected)")
        real_write(self, name, data)

    monkeypatch.setattr(publish.BucketSink, "write", connection_lost_on_a_chart)
    with pytest.raises(requests.ConnectionError):
        render_site(config, store, now=NOW + timedelta(hours=1))
    assert _get(fake_gcs, bucket, "index.html") == before
    assert b"could not be drawn" not in _get(fake_gcs, bucket, "s/alpha.html")
