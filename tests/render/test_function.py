"""The deployed entry point: main.render(cloud_event) → the site bucket."""

from __future__ import annotations

import urllib.request
from datetime import UTC, datetime, timedelta

from tally.sample import Sample

from tests.core.conftest import pubsub_event

CONFIG_YAML = """
title: from the function
sources:
  - id: clicks
    name: Button clicks
    kind: json
    url: https://example.test/
    query: count
    every: 1h
"""


def test_the_render_function_publishes_the_page_to_the_bucket(store, bucket, fake_gcs, monkeypatch):
    monkeypatch.setenv("TALLY_CONFIG_YAML", CONFIG_YAML)
    monkeypatch.delenv("TALLY_CONFIG", raising=False)
    now = datetime.now(UTC)
    store.write_sample(Sample("clicks", now - timedelta(minutes=3), ok=True, value=4242))
    import main

    main.render(pubsub_event(now, b"render"))
    with urllib.request.urlopen(fake_gcs.object_url(bucket, "index.html")) as response:
        page = response.read().decode()
    assert "from the function" in page and "4,242" in page
    assert "s/clicks.html" in fake_gcs.names(bucket)


def test_a_stale_render_event_is_dropped_without_touching_the_bucket(
    store, bucket, fake_gcs, monkeypatch
):
    monkeypatch.setenv("TALLY_CONFIG_YAML", CONFIG_YAML)
    import main

    main.render(pubsub_event(datetime.now(UTC) - timedelta(hours=2), b"render"))
    assert fake_gcs.names(bucket) == []


def test_a_render_event_naming_its_tick_draws_the_page_as_at_that_tick(
    store, bucket, fake_gcs, monkeypatch
):
    """`tally local --tick-seconds` publishes ticks hours ahead of the wall clock, each
    named in the `tick` attribute: the page is generated at that tick and shows the
    samples of the ticks before it, as the terminal does."""
    monkeypatch.setenv("TALLY_CONFIG_YAML", CONFIG_YAML.replace("every: 1h", "every: 1m"))
    monkeypatch.delenv("TALLY_CONFIG", raising=False)
    tick = (datetime.now(UTC) + timedelta(hours=5)).replace(second=0, microsecond=0)
    store.write_sample(Sample("clicks", tick - timedelta(minutes=1), ok=True, value=5151))
    event = pubsub_event(datetime.now(UTC), b"render")
    event.data["message"]["attributes"] = {"tick": tick.strftime("%Y-%m-%dT%H:%M:%SZ")}
    import main

    main.render(event)
    with urllib.request.urlopen(fake_gcs.object_url(bucket, "index.html")) as response:
        page = response.read().decode()
    assert f"Generated {tick:%Y-%m-%d %H:%M} UTC" in page
    assert f"last sample {tick - timedelta(minutes=1):%Y-%m-%d %H:%M} UTC" in page
    assert "5,151" in page
