"""A tick asks one host at most PER_HOST fetches at a time, however many of its sources
live there; sources elsewhere are not held back by them."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import tally.collector as collector
from tally.collector import collect_tick
from tally.config import parse_config
from tally.sources import hosts

from tests.support.loopback import Loopback, QuietHandler

TICK = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CAP = 3
HOLD = 0.5


class CountingHost:
    """A loopback server that holds each request until one more than CAP are in flight
    (or every request still to come is), for at most HOLD seconds: a client keeping to
    CAP waits the HOLD out each time, one that does not is caught holding CAP + 1. The
    most it ever held at once is `most`."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.lock = threading.Condition()
        self.in_flight = self.most = self.served = 0
        host = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                with host.lock:
                    host.in_flight += 1
                    host.most = max(host.most, host.in_flight)
                    host.lock.notify_all()
                    host.lock.wait_for(
                        lambda: host.in_flight >= min(CAP + 1, host.expected - host.served),
                        timeout=HOLD,
                    )
                body = b'{"n": 7}'
                self.send_body(body, "application/json")
                with host.lock:
                    host.in_flight -= 1
                    host.served += 1
                    host.lock.notify_all()

        self.loopback = Loopback(Handler)
        self.url = self.loopback.url

    def stop(self) -> None:
        self.loopback.stop()


@pytest.fixture
def two_hosts(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[CountingHost, CountingHost]]:
    monkeypatch.setattr(hosts, "PER_HOST", CAP)
    busy, other = CountingHost(4 * CAP), CountingHost(CAP)
    yield busy, other
    busy.stop()
    other.stop()


def test_one_host_is_asked_at_most_per_host_fetches_at_once(store, two_hosts):
    busy, other = two_hosts
    sources = [
        {"id": f"busy{n}", "kind": "json", "url": f"{busy.url}/n", "query": "n", "every": "1m"}
        for n in range(4 * CAP)
    ] + [
        {"id": f"other{n}", "kind": "json", "url": f"{other.url}/n", "query": "n", "every": "1m"}
        for n in range(CAP)
    ]
    result = collect_tick(parse_config({"sources": sources}), TICK, store, alerting=False)
    assert [sample.value for sample in result.samples] == [7.0] * (5 * CAP)
    assert (busy.served, busy.most) == (4 * CAP, CAP)
    assert (other.served, other.most) == (CAP, CAP)
    assert collector.MAX_CONCURRENT_FETCHES > 4 * CAP  # the cap is the host's, not the tick's


@pytest.mark.parametrize(
    ("address", "host"),
    [
        ("https://api.github.com/repos/a/b", "https://api.github.com:443"),
        ("https://API.GitHub.com./x", "https://api.github.com:443"),
        ("http://shop.example:8080/p/1", "http://shop.example:8080"),
        ("http://shop.example/p/2", "http://shop.example:80"),
        ("http://[::1", "http://[::1"),  # does not parse: its own host
    ],
)
def test_a_host_is_its_scheme_name_and_port(address, host):
    assert hosts.host_of(address) == host


def test_a_github_source_asks_its_api_host_and_a_page_its_own():
    from tally.sources import kind_of

    config = parse_config(
        {
            "sources": [
                {"id": "stars", "kind": "github", "repo": "a/b", "metric": "stars",
                 "every": "1h"},
                {"id": "ghe", "kind": "github", "repo": "a/b", "metric": "stars",
                 "api_url": "https://git.example/api/v3", "every": "1h"},
                {"id": "page", "kind": "html", "url": "https://shop.example/p", "selector": "b",
                 "every": "1h"},
            ]
        }
    )  # fmt: skip
    asked = {s.id: hosts.host_of(kind_of(s).address(s)) for s in config.sources}
    assert asked == {
        "stars": "https://api.github.com:443",
        "ghe": "https://git.example:443",
        "page": "https://shop.example:443",
    }


def test_a_kind_that_cannot_say_its_address_is_fetched_all_the_same(store, two_hosts, monkeypatch):
    """A bug in a kind's `address` costs the source its host's turn (it gets one of its
    own), not the tick: before, it raised out of the fetch's thread into the tick."""
    from tally.sources.json_api import Json

    busy, _ = two_hosts
    real = Json.address

    def broken(self, source):  # type: ignore[no-untyped-def]
        if source.id == "broken":
            raise AttributeError("no url")
        return real(self, source)

    monkeypatch.setattr(Json, "address", broken)
    config = parse_config(
        {
            "sources": [
                {"id": i, "kind": "json", "url": f"{busy.url}/n", "query": "n", "every": "1m"}
                for i in ("broken", "fine")
            ]
        }
    )
    busy.expected = 2
    result = collect_tick(config, TICK, store, alerting=False)
    assert [(s.source_id, s.value) for s in result.samples] == [("broken", 7.0), ("fine", 7.0)]
