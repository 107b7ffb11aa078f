"""The demo upstream read through the real source kinds, and the local scheduler's clock."""

from __future__ import annotations

import itertools
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from tally.config import parse_config
from tally.local import demo
from tally.local.scheduler import COLLECT_TOPIC, RENDER_TOPIC, Scheduler, render_due
from tally.local.stack import demo_config_text
from tally.sources import read

from tests.local.conftest import free_port_block


@pytest.fixture(scope="module")
def demo_server():
    port = free_port_block(1)
    clock = demo.Clock()
    server = demo.serve(port, clock)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield port, clock
    server.shutdown()
    server.server_close()


def test_every_demo_source_reads_its_value_from_the_demo_upstream(demo_server):
    port, clock = demo_server
    config = parse_config(yaml.safe_load(demo_config_text(port)))
    for source in config.sources:
        before = clock.now()
        reading = read(source)
        after = clock.now()
        if source.id == "echo-health":
            _latency, status, body = demo.health(before)
            expected_ok = status == 200 and body == "pong"
            if demo.health(after)[1:] == (status, body):  # not across a minute boundary
                assert reading.ok == expected_ok, reading
            assert reading.value is not None and reading.value >= 30  # it sleeps its latency
            continue
        assert reading.ok, (source.id, reading.error)
        low, high = sorted((demo.VALUES[source.id](before), demo.VALUES[source.id](after)))
        assert low <= reading.value <= high, (source.id, reading.value, low, high)


def test_the_commit_count_comes_from_the_link_header_in_one_request(demo_server):
    port, clock = demo_server
    import json
    import urllib.request

    url = f"http://127.0.0.1:{port}/github/repos/demo/tally/commits?per_page=1"
    with urllib.request.urlopen(url) as response:
        link = response.headers["Link"]
        assert len(json.load(response)) == 1
    assert f'page={int(demo.commits(clock.now()))}>; rel="last"' in link


def test_demo_history_and_live_values_are_one_line():
    """History is the same function of time as the live upstream, so they join up."""
    end = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    rows = list(demo.history("clicks", end - timedelta(days=120), end, timedelta(hours=1)))
    assert len(rows) == 120 * 24
    values = [value for _, value, _ in rows]
    assert values == sorted(values)  # a click count never goes down
    assert demo.clicks(end) >= values[-1]
    prices = [
        v
        for _, v, _ in demo.history("card-price", end - timedelta(days=120), end, timedelta(days=1))
    ]
    assert len(set(prices)) > 60  # it moves from day to day
    checks = list(demo.history("echo-health", end - timedelta(days=7), end, timedelta(minutes=1)))
    failures = sum(1 for _, _, ok in checks if not ok)
    assert 0 < failures < len(checks) * 0.05  # an occasional failure


def test_the_fast_demo_clock_runs_a_minute_per_tick():
    start = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    clock = demo.Clock(start, tick_seconds=0.5)
    time.sleep(0.25)
    assert timedelta(seconds=25) <= clock.now() - start <= timedelta(seconds=50)


class Recorder:
    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes, dict[str, str]]] = []

    def publish(self, topic: str, data: bytes, attributes: dict[str, str] | None = None) -> str:
        self.messages.append((topic, data, attributes or {}))
        return str(len(self.messages))


def test_a_fast_clock_publishes_consecutive_minutes_named_in_the_tick_attribute():
    pubsub = Recorder()
    start = datetime(2026, 11, 22, 11, 58, 40, tzinfo=UTC)
    scheduler = Scheduler(pubsub, render_every_minutes=5, tick_seconds=2, start=start)  # type: ignore[arg-type]
    ticks = scheduler.ticks()
    planned = [next(ticks) for _ in range(5)]
    assert [t.tick.strftime("%H:%M") for t in planned] == [
        "11:58",
        "11:59",
        "12:00",
        "12:01",
        "12:02",
    ]
    assert all(t.explicit for t in planned)
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(planned)]
    assert gaps == pytest.approx([2, 2, 2, 2])
    for index, tick in enumerate(planned):
        scheduler.publish(tick, force_render=index == 0)
    collects = [attrs["tick"] for topic, _, attrs in pubsub.messages if topic == COLLECT_TOPIC]
    renders = [attrs["tick"] for topic, _, attrs in pubsub.messages if topic == RENDER_TOPIC]
    assert collects == [
        "2026-11-22T11:58:00Z",
        "2026-11-22T11:59:00Z",
        "2026-11-22T12:00:00Z",
        "2026-11-22T12:01:00Z",
        "2026-11-22T12:02:00Z",
    ]
    assert renders == ["2026-11-22T11:58:00Z", "2026-11-22T12:00:00Z"]  # the first, then :00


def test_the_real_clock_publishes_at_each_minute_as_cloud_scheduler_does():
    scheduler = Scheduler(Recorder(), render_every_minutes=5)  # type: ignore[arg-type]
    ticks = scheduler.ticks()
    first, second = next(ticks), next(ticks)
    assert first.explicit and not second.explicit  # later ticks: the publish time decides
    assert second.tick == first.tick + timedelta(minutes=1)
    wait = second.tick.timestamp() + 0.5 - time.time()
    assert second.at - time.monotonic() == pytest.approx(wait, abs=0.2)


def test_render_due_like_a_cron():
    at = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    assert [m for m in range(60) if render_due(at + timedelta(minutes=m), 15)] == [0, 15, 30, 45]
    sevens = [m for m in range(60 * 24) if render_due(at + timedelta(minutes=m), 7)]
    assert all(b - a == 7 for a, b in itertools.pairwise(sevens))
