"""A tick asks one host at most PER_HOST fetches at a time, however many of its sources
live there, and however many shards it is fanned out to; sources elsewhere are not held
back by them."""

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


def _address_raises_for(monkeypatch: pytest.MonkeyPatch, source_id: str) -> None:
    """A bug in the `json` kind's `address`, for the one source."""
    from tally.sources.json_api import Json

    real = Json.address

    def broken(self, source):  # type: ignore[no-untyped-def]
        if source.id == source_id:
            raise AttributeError("no url")
        return real(self, source)

    monkeypatch.setattr(Json, "address", broken)


def test_a_kind_that_cannot_say_its_address_is_fetched_all_the_same(store, two_hosts, monkeypatch):
    """A bug in a kind's `address` costs the source its host's turn (it gets one of its
    own), not the tick: before, it raised out of the fetch's thread into the tick."""
    busy, _ = two_hosts
    _address_raises_for(monkeypatch, "broken")
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


def test_the_shards_of_a_tick_share_a_host_s_turns(store, two_hosts):
    """Two shards of a tick, run at once as on two instances, ask a host they both have
    sources at no more at a time than one instance would: each has a share of PER_HOST
    in its message. Before, each had PER_HOST of its own (twice as many in all)."""
    busy, _ = two_hosts
    quick = CountingHost(0)  # expecting nothing, it holds nothing: answers at once (and counts)
    try:
        _two_shards_at_once(store, busy, quick)
    finally:
        quick.stop()
    assert busy.served == 8 and busy.most <= CAP
    assert quick.most <= CAP


def _two_shards_at_once(store, busy: CountingHost, quick: CountingHost) -> None:  # type: ignore[no-untyped-def]
    """50 sources in two groups (two shards), 4 of each group at `busy`, handed out and
    their shards collected at once, each from its message."""
    from tally.fanout.plan import shard_of
    from tally.tick_fanout import collect_shard, hand_out

    from tests.core.conftest import pubsub_event

    busy.expected = 8
    sources = [
        {
            "id": f"{group}{n:02d}",
            "kind": "json",
            "url": f"{(busy if n < 4 else quick).url}/n",
            "query": "n",
            "every": "1m",
        }
        for group in "ab"  # two groups of samples (25 each), so two shards
        for n in range(25)
    ]
    config = parse_config({"sources": sources})

    class Published:
        def __init__(self) -> None:
            self.messages: list = []  # type: ignore[type-arg]

        def publish(self, messages: list) -> None:  # type: ignore[type-arg]
            self.messages = messages

    published = Published()
    ids = [source["id"] for source in sources]
    fanned = hand_out(config, store, published, TICK, ids, size=25, now=TICK)
    busy_host, quick_host = hosts.host_of(busy.url), hosts.host_of(quick.url)
    assert [dict(shard.hosts) for shard in fanned.shards] == [
        {busy_host: 2, quick_host: 2},  # 2 + 1 = CAP: the remainder to the first
        {busy_host: 1, quick_host: 1},
    ]
    events = [
        pubsub_event(TICK, message.data, attributes=message.attributes)
        for message in published.messages
    ]
    shards = [shard_of(event) for event in events]
    assert shards == fanned.shards  # the shares travel in the messages
    results: list = []  # type: ignore[type-arg]

    def run(shard) -> None:  # type: ignore[no-untyped-def]
        results.append(collect_shard(config, TICK, shard, store, None, now=TICK))

    threads = [threading.Thread(target=run, args=(shard,)) for shard in shards]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(sample.value for result in results for sample in result.samples) == [7.0] * 50


def test_a_host_s_turns_are_shared_in_proportion_and_add_up_to_per_host():
    assert hosts.shares([{"h": 6, "x": 1}, {"h": 6}], 3) == [{"h": 2}, {"h": 1}]
    many = hosts.shares([{"h": 249}] + [{"h": 1}] * 25, 64)
    assert [share["h"] for share in many[:5]] == [36, 2, 2, 2, 1]
    assert sum(share["h"] for share in many) == 64
    assert hosts.shares([{"g": 3}, {"g": 1}], 64) == [{"g": 48}, {"g": 16}]
    # more shards than turns: one each, the least a shard can ask
    assert hosts.shares([{"h": 1}] * 5, 3) == [{"h": 1}] * 5
    assert hosts.shares([{"only": 250}, {}], 64) == [{}, {}]  # one shard: its own 64


def test_a_kind_that_cannot_say_its_address_does_not_stop_a_tick_fanning_out(store, monkeypatch):
    """The scheduler's step asks every source its host to share the turns out: one whose
    kind raises there gets a turn of its own (as in the collector), and the tick is
    still handed to its shards, the other sources' shares as ever."""
    from tally.tick_fanout import hand_out

    _address_raises_for(monkeypatch, "a00")
    sources = [
        {"id": f"{g}{n:02d}", "kind": "json", "url": "http://127.0.0.1:9/n", "query": "n",
         "every": "1m"}
        for g in "ab"
        for n in range(25)
    ]  # fmt: skip

    class Unsent:
        def publish(self, messages: list) -> None:  # type: ignore[type-arg]
            pass

    config = parse_config({"sources": sources})
    ids = [source["id"] for source in sources]
    fanned = hand_out(config, store, Unsent(), TICK, ids, size=25, now=TICK)
    host = "http://127.0.0.1:9"
    # a00 is no source of the host's: 24 and 25 of its sources, 31 and 33 of its 64 turns
    assert [dict(shard.hosts) for shard in fanned.shards] == [{host: 31}, {host: 33}]
