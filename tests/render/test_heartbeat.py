"""The render function's heartbeat: after every render that published the page, one
`tally/renders` point at the tick, so the watchdog sees a render that stopped producing
pages (tests/support/monitoring.py is the MetricService; there is no emulator)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from tally.sample import Sample

from tests.core.conftest import pubsub_event
from tests.support.monitoring import FakeMetricService

CONFIG_YAML = """
sources:
  - id: clicks
    kind: json
    url: https://example.test/
    query: count
    every: 1h
"""
RENDERS = "custom.googleapis.com/tally/renders"


@pytest.fixture
def metric_service(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeMetricService]:
    service = FakeMetricService()
    monkeypatch.setenv("TALLY_MONITORING_ENDPOINT", service.endpoint)
    yield service
    service.stop()


@pytest.fixture
def config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TALLY_CONFIG_YAML", CONFIG_YAML)
    monkeypatch.delenv("TALLY_CONFIG", raising=False)


def _renders(service: FakeMetricService) -> list[tuple[datetime, dict[str, str], int]]:
    return [
        (series.points[0].interval.end_time, dict(series.metric.labels), series.points[0].value)
        for request in service.requests
        for series in request.time_series
        if series.metric.type == RENDERS
    ]


def test_a_render_that_published_the_page_writes_one_heartbeat_at_its_tick(
    store, bucket, fake_gcs, config, metric_service
):
    now = datetime.now(UTC)
    store.write_sample(Sample("clicks", now - timedelta(minutes=3), ok=True, value=7))
    import main

    main.render(pubsub_event(now, b"render"))
    written = fake_gcs.names(bucket)
    assert "index.html" in written
    [(end, labels, value)] = _renders(metric_service)
    assert end == now.replace(second=0, microsecond=0)  # the tick, as collect's heartbeat
    assert labels == {}  # one series for the deployment: its absence is what alerts
    assert value.int64_value == len(written)  # every object of a first render is new
    assert len(metric_service.requests) == 1  # one call, nothing else is written


def test_no_heartbeat_when_the_page_could_not_be_published(
    store, fake_gcs, config, metric_service, monkeypatch
):
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", fake_gcs.url)
    monkeypatch.setenv("TALLY_SITE_BUCKET", "no-such-bucket")
    import main

    with pytest.raises(Exception, match="no-such-bucket"):
        main.render(pubsub_event(datetime.now(UTC), b"render"))
    assert _renders(metric_service) == []


def test_a_dropped_stale_event_writes_no_heartbeat(store, bucket, config, metric_service):
    import main

    main.render(pubsub_event(datetime.now(UTC) - timedelta(hours=2), b"render"))
    assert metric_service.requests == []
