"""The demo upstream read through the real source kinds, and the local scheduler's clock."""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from tally.config import parse_config
from tally.local import demo
from tally.local.scheduler import COLLECT_TOPIC, RENDER_TOPIC, Scheduler, render_due
from tally.local.stack import demo_config_text
from tally.sources import read

from tests.local.conftest import free_port_block

# A minute at which the health endpoint answers "pong" (it fails about 0.1 % of minutes).
FROZEN = datetime(2026, 11, 22, 12, 7, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo_server():
    """The demo upstream on a clock stopped at FROZEN: every value is known exactly."""
    port = free_port_block(1)
    clock = demo.Clock(time_source=FROZEN.timestamp)
    server = demo.serve(port, clock)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield port, clock
    server.shutdown()
    server.server_close()


def test_every_demo_source_reads_its_value_from_the_demo_upstream(demo_server):
    port, clock = demo_server
    config = parse_config(yaml.safe_load(demo_config_text(port)))
    assert clock.now() == FROZEN
    for source in config.sources:
        reading = read(source)
        if source.id == "echo-health":
            latency, status, body = demo.health(FROZEN)
            assert (status, body) == (200, "pong")
            assert reading.ok and reading.status == 200, reading
            assert reading.value >= latency  # the endpoint sleeps its latency, then answers
            continue
        assert reading.ok, (source.id, reading.error)
        assert reading.value == demo.VALUES[source.id](FROZEN), source.id


def test_a_failing_health_minute_is_a_failed_check():
    """The demo's occasional failure, read through the real `http` kind."""
    minute = next(
        FROZEN + timedelta(minutes=n)
        for n in range(1, 50_000)
        if demo.health(FROZEN + timedelta(minutes=n))[1] == 503
    )
    port = free_port_block(1)
    server = demo.serve(port, demo.Clock(time_source=minute.timestamp))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        config = parse_config(yaml.safe_load(demo_config_text(port)))
        [check] = [source for source in config.sources if source.id == "echo-health"]
        for _ in range(demo.CALM_CHECKS):  # the calm start and the first scripted outage
            read(check)
        reading = read(check)
    finally:
        server.shutdown()
        server.server_close()
    assert not reading.ok and reading.status == 503 and reading.up == 0


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


class FakeTime:
    """Seconds that pass only when the test says so."""

    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def serving(clock: demo.Clock):  # type: ignore[no-untyped-def]
    port = free_port_block(1)
    server = demo.serve(port, clock)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return port, server


def test_the_demo_clock_is_the_tick_tally_local_announces():
    """Each tick's fetch reads the value at that tick's minute, whatever the wall clock."""
    start = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    port, server = serving(demo.Clock(start, time_source=lambda: 0.0))
    try:
        config = parse_config(yaml.safe_load(demo_config_text(port)))
        clicks = config.source("clicks")
        assert read(clicks).value == demo.clicks(start)  # before any announcement: the start
        for minutes in (1, 2, 90, 3000):
            tick = start + timedelta(minutes=minutes)
            assert demo.announce_tick(port, tick)
            assert read(clicks).value == demo.clicks(tick)
    finally:
        server.shutdown()
        server.server_close()
    assert not demo.announce_tick(port, start, timeout=1)  # nobody there: False, no exception


def first_checks(start: datetime, count: int) -> list[tuple[bool, int | None, str | None]]:
    """(ok, status, error) of the first `count` live checks of a demo started at `start`,
    one a tick, read through the real `http` kind."""
    port, server = serving(demo.Clock(start, time_source=lambda: 0.0))
    try:
        config = parse_config(yaml.safe_load(demo_config_text(port)))
        check = config.source("echo-health")
        found = []
        for n in range(count):
            assert demo.announce_tick(port, start + timedelta(minutes=n))
            reading = read(check)
            found.append((reading.ok, reading.status, reading.error))
        return found
    finally:
        server.shutdown()
        server.server_close()


def test_the_scripted_outage_is_the_first_failure_whenever_the_demo_starts():
    """Starts whose first minutes would fail at random (0.1 % of minutes do): the first
    checks pass all the same, and the 5th and 6th are the scripted outage."""
    unlucky = [
        minute
        for minute in (FROZEN.replace(second=0) + timedelta(minutes=n) for n in range(3000))
        if any(demo.health(minute + timedelta(minutes=i))[2] != "pong" for i in range(4))
    ][:3]
    assert len(unlucky) == 3
    outage = (False, 503, "unexpected HTTP 503 Service Unavailable")
    for start in unlucky:
        found = first_checks(start, 7)
        assert [ok for ok, _, _ in found[:4]] == [True] * 4, (start, found)
        assert found[4:6] == [outage, outage], (start, found)
        after = demo.health(start + timedelta(minutes=6))
        assert found[6][0] == (after[1:] == (200, "pong")), (start, found)


def test_the_history_is_calm_in_its_last_minutes():
    """The first page shows no failed check that no alert speaks of."""
    unlucky = next(
        minute
        for minute in (FROZEN.replace(second=0) + timedelta(minutes=n) for n in range(3000))
        if demo.health(minute)[2] != "pong"
    )
    rows = list(
        demo.history(
            "echo-health",
            unlucky - timedelta(minutes=5),
            unlucky + timedelta(minutes=5),
            timedelta(minutes=1),
            calm_from=unlucky,
        )
    )
    assert [ok for _, _, ok in rows[:5]] == [demo.health(t)[2] == "pong" for t, _, _ in rows[:5]]
    assert all(ok for _, _, ok in rows[5:])
    assert [latency for _, latency, _ in rows] == [
        round(demo.health(t)[0], 1) for t, _, _ in rows
    ]  # calm changes whether a check fails, not how long it takes


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
    wall = FakeTime(datetime(2026, 11, 22, 12, 0, 20, tzinfo=UTC).timestamp())
    monotonic = FakeTime(500.0)
    scheduler = Scheduler(Recorder(), 5, wall_clock=wall, monotonic=monotonic)  # type: ignore[arg-type]
    ticks = scheduler.ticks()
    first = next(ticks)
    assert first.explicit and first.at == 500.0  # at once, naming its minute
    assert first.tick == datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    second = next(ticks)
    assert not second.explicit  # later ticks: the publish time decides, as deployed
    assert second.tick == datetime(2026, 11, 22, 12, 1, tzinfo=UTC)
    assert second.at == 500.0 + 40.5  # half a second into 12:01
    wall.now += 100.0  # 12:02:00 by the time the next tick is planned
    monotonic.now += 100.0
    third = next(ticks)
    assert third.tick == datetime(2026, 11, 22, 12, 2, tzinfo=UTC)
    assert third.at == 600.0 + 0.5


def test_render_due_like_a_cron():
    at = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    assert [m for m in range(60) if render_due(at + timedelta(minutes=m), 15)] == [0, 15, 30, 45]
    sevens = [m for m in range(60 * 24) if render_due(at + timedelta(minutes=m), 7)]
    assert all(b - a == 7 for a, b in itertools.pairwise(sevens))


def test_the_demo_uploads_grow_and_the_terminal_sink_shows_each_new_one(store, monkeypatch):
    """The demo's feed on its tick clock, collected on the emulator: the first tick
    records the uploads, each later upload is one message in the terminal."""
    from tally.collector import collect_tick
    from tally.local.sink import NotificationSink

    start = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    # the first minutes, after the start, at which a new upload appears (the demo's seed)
    later = [start + timedelta(minutes=m) for m in range(1, 240)]
    new_at = [
        t
        for t in later
        if demo.upload_slots(t)[:1] != demo.upload_slots(t - timedelta(minutes=1))[:1]
    ]
    assert len(new_at) >= 5
    port, server = serving(demo.Clock(start, time_source=lambda: 0.0))
    lines: list[str] = []
    sink_port = free_port_block(1)
    sink = NotificationSink(sink_port, lines.append)
    sink.start()
    monkeypatch.setenv("TALLY_NOTIFY_REDIRECT", f"json://127.0.0.1:{sink_port}")  # as the stack
    try:
        config = parse_config(yaml.safe_load(demo_config_text(port)))
        uploads = config.source("uploads")
        first = collect_tick(config, start, store, None, only=[uploads.id], now=start)
        assert first.samples[0].value == demo.uploads(start)
        assert lines == []  # the first read records, tells nothing
        for tick in [start + timedelta(minutes=1), new_at[0], new_at[0], new_at[1]]:
            assert demo.announce_tick(port, tick)
            collect_tick(config, tick, store, None, only=[uploads.id], now=tick)
    finally:
        sink.stop()
        server.shutdown()
        server.server_close()
    expected = [demo.upload_title(demo.upload_slots(t)[0]) for t in new_at[:2]]
    told = [line for line in lines if "Kanade's uploads (uploads): " in line]
    assert [line.split("(uploads): ", 1)[1].split(" (published")[0] for line in told] == expected
    assert all(line.startswith("new ") and line.endswith("[terminal]") for line in told)
