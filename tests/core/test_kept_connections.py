"""A tick's fetches of one host share connections (sources/kept.py): one connection
serves them one after another, a connection the server closed while it idled is
replaced without failing the fetch, and nothing is kept past the tick, a POST, or a
fetch the deadline cut.

The fetches go one at a time (MAX_CONCURRENT_FETCHES = 1), so which connection serves
which request is decided, not raced."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import tally.collector as collector
from tally.collector import collect_tick
from tally.config import parse_config

from tests.support.loopback import Loopback, QuietHandler

TICK = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Host:
    """A keep-alive loopback server counting its connections and the requests each
    carried. With `answers_per_connection`, the request after that many on one
    connection is met by closing it (what a server does to a connection it let idle).
    `/hold` is answered only once the test ends."""

    def __init__(self, answers_per_connection: int | None = None) -> None:
        self.lock = threading.Lock()
        self.per_connection: list[int] = []  # requests answered, by connection
        self.methods: list[str] = []
        self.closed = threading.Semaphore(0)  # released as each connection ends
        self.release = threading.Event()
        host = self

        class Handler(QuietHandler):
            def setup(self) -> None:
                super().setup()
                with host.lock:
                    self.number = len(host.per_connection)
                    host.per_connection.append(0)

            def finish(self) -> None:
                super().finish()
                host.closed.release()

            def answer(self) -> None:
                with host.lock:
                    host.methods.append(self.command)
                    answered = host.per_connection[self.number]
                if answers_per_connection is not None and answered >= answers_per_connection:
                    self.close_connection = True  # no answer at all: the socket closes
                    return
                if self.path == "/hold":
                    host.release.wait(10)
                body = b'{"n": 7}'
                self.send_body(body, "application/json")
                with host.lock:
                    host.per_connection[self.number] += 1

            do_GET = do_POST = answer

        self.loopback = Loopback(Handler)
        self.url = self.loopback.url

    def stop(self) -> None:
        self.release.set()
        self.loopback.stop()


@pytest.fixture
def one_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(collector, "MAX_CONCURRENT_FETCHES", 1)


@pytest.fixture
def host() -> Iterator[Host]:
    server = Host()
    yield server
    server.stop()


def json_sources(url: str, count: int, **extra: object) -> list[dict[str, object]]:
    return [
        {"id": f"s{n}", "kind": "json", "url": f"{url}/n", "query": "n", "every": "1m", **extra}
        for n in range(count)
    ]


def values(result) -> list[float | None]:  # type: ignore[no-untyped-def]
    return [sample.value for sample in result.samples]


def test_one_connection_serves_a_ticks_fetches_of_a_host(store, host, one_at_a_time):
    config = parse_config({"sources": json_sources(host.url, 5)})
    assert values(collect_tick(config, TICK, store, alerting=False)) == [7.0] * 5
    assert host.per_connection == [5]
    assert host.closed.acquire(timeout=5), "the connection outlived the tick"


def test_no_connection_is_kept_from_one_tick_to_the_next(store, host, one_at_a_time):
    config = parse_config({"sources": json_sources(host.url, 2)})
    for minute in range(2):
        result = collect_tick(config, TICK + timedelta(minutes=minute), store, alerting=False)
        assert values(result) == [7.0, 7.0]
    assert host.per_connection == [2, 2]


def test_a_connection_the_server_closed_is_replaced_without_failing_the_fetch(store, one_at_a_time):
    host = Host(answers_per_connection=1)
    try:
        config = parse_config({"sources": json_sources(host.url, 3)})
        assert values(collect_tick(config, TICK, store, alerting=False)) == [7.0] * 3
    finally:
        host.stop()
    # the second and third fetch each found their kept connection closed, and went on
    # a new one at once
    assert host.per_connection == [1, 1, 1]
    assert host.methods == ["GET"] * 5


def test_a_post_goes_on_a_connection_of_its_own(store, host, one_at_a_time):
    sources = [
        {"id": f"p{n}", "kind": "http", "method": "POST", "url": f"{host.url}/n", "every": "1m"}
        for n in range(2)
    ]
    result = collect_tick(parse_config({"sources": sources}), TICK, store, alerting=False)
    assert [sample.up for sample in result.samples] == [1, 1]
    assert host.per_connection == [1, 1]


def test_a_fetch_cut_by_its_deadline_leaves_no_connection_behind(store, host, one_at_a_time):
    sources = [
        {"id": "slow", "kind": "json", "url": f"{host.url}/hold", "query": "n", "every": "1m",
         "timeout": "1s"},
        *json_sources(host.url, 1),
    ]  # fmt: skip
    result = collect_tick(parse_config({"sources": sources}), TICK, store, alerting=False)
    slow, fine = result.samples
    assert not slow.ok and "timed out" in (slow.error or "")
    assert fine.value == 7.0
    host.release.set()
    assert host.per_connection[1:] == [1]  # the second fetch opened its own
