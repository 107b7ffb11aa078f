"""Render into the site bucket (fake-gcs-server): headers, cost, and a failed render."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from tally.config import parse_config
from tally.render import publish
from tally.render.entry import render_site
from tally.sample import Sample

from tests.render.seed import days_back, seed

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)

CONFIG = parse_config(
    {
        "title": "bucket test",
        "sources": [
            {
                "id": "clicks",
                "name": "Button clicks",
                "kind": "json",
                "url": "https://example.test/",
                "query": "count",
                "every": "1h",
            }
        ],
    }
)


def _get(fake_gcs, bucket, name):
    with urllib.request.urlopen(fake_gcs.object_url(bucket, name), timeout=10) as response:
        return response.status, dict(response.headers), response.read()


def _generations(fake_gcs, bucket):
    url = f"{fake_gcs.url}/storage/v1/b/{bucket}/o"
    with urllib.request.urlopen(url, timeout=10) as response:
        return {item["name"]: item["generation"] for item in json.load(response)["items"]}


def test_objects_are_served_with_their_type_and_a_short_cache_lifetime(store, bucket, fake_gcs):
    seed(store, "clicks", days_back(NOW.date(), 3), 60, lambda t: 1000.0 + t.hour)
    render_site(CONFIG, store, now=NOW)  # no folder: $TALLY_SITE_BUCKET, as the function does

    expected = {
        "index.html": "text/html; charset=utf-8",
        "s/clicks.html": "text/html; charset=utf-8",
        "style.css": "text/css; charset=utf-8",
        "status.json": "application/json; charset=utf-8",
        "badges/clicks.json": "application/json; charset=utf-8",
        "data/clicks.csv": "text/csv; charset=utf-8",
        "charts/clicks-recent.png": "image/png",
        "favicon.svg": "image/svg+xml",
    }
    for name, content_type in expected.items():
        status, headers, body = _get(fake_gcs, bucket, name)
        assert status == 200 and body, name
        assert headers["Content-Type"] == content_type, name
        assert headers["Cache-Control"] == "public, max-age=60", name
    assert b"1,012" in _get(fake_gcs, bucket, "index.html")[2]


def test_a_render_with_nothing_new_uploads_only_the_overview(store, bucket, fake_gcs):
    seed(store, "clicks", days_back(NOW.date(), 3), 60, lambda t: 5.0)
    render_site(CONFIG, store, now=NOW)
    before = _generations(fake_gcs, bucket)

    again = render_site(CONFIG, store, now=NOW + timedelta(minutes=5))

    after = _generations(fake_gcs, bucket)
    assert again.uploaded == ["index.html"]  # its generation time changed, nothing else did
    changed = sorted(name for name in after if after[name] != before.get(name))
    assert changed == ["index.html"]


def test_an_interrupted_render_leaves_the_previous_page_and_the_next_one_completes(
    store, bucket, fake_gcs, monkeypatch
):
    seed(store, "clicks", days_back(NOW.date() - timedelta(days=1), 3), 60, lambda t: 7.0)
    render_site(CONFIG, store, now=NOW)
    _, _, old_index = _get(fake_gcs, bucket, "index.html")

    store.write_sample(Sample("clicks", NOW + timedelta(minutes=30), ok=True, value=31337))
    real_write = publish.BucketSink.write
    failures = []

    def fail_once_after_the_charts(self, name, data):
        if name == "status.json" and not failures:
            failures.append(name)
            raise ConnectionError("upload failed (injected)")
        real_write(self, name, data)

    monkeypatch.setattr(publish.BucketSink, "write", fail_once_after_the_charts)
    later = NOW + timedelta(hours=1)
    with pytest.raises(ConnectionError):
        render_site(CONFIG, store, now=later)

    assert failures == ["status.json"]
    _, _, index = _get(fake_gcs, bucket, "index.html")
    assert index == old_index
    assert b"31,337" in _get(fake_gcs, bucket, "s/clicks.html")[2]  # charts + page went up

    done = render_site(CONFIG, store, now=later)
    assert done.uploaded[-2:] == ["status.json", "index.html"]
    assert b"31,337" in _get(fake_gcs, bucket, "index.html")[2]
    status = json.loads(_get(fake_gcs, bucket, "status.json")[2])
    assert status["sources"][0]["value"] == 31337
