"""Many incidents at once are one message per channel: a digest with the counts, the
first names and the page. 1,000 sources down at once are one message per channel when
it starts and one when it ends; an outage that makes a source both `down` and `stale`
is one incident. Alerting runs on the emulator with real receivers; the tick's samples
are given to it as the collector would (a thousand fetches a tick would only slow the
test down: tests/bench measures them)."""

from __future__ import annotations

from datetime import timedelta

from google.cloud import firestore as gcf
from tally.alerts.engine import run_alerts
from tally.config import parse_config
from tally.sample import Sample

from tests.alerts.conftest import START
from tests.support.emulators import PROJECT


def _config(count: int, notify: dict[str, str], **alerts: object):  # type: ignore[no-untyped-def]
    sources = [
        {
            "id": f"s{n:04d}",
            "kind": "http",
            "url": "http://127.0.0.1:9/health",
            "every": "1m",
            "alerts": {"stale_after": "3m", **alerts},
        }
        for n in range(count)
    ]
    return parse_config(
        {
            "timezone": "Asia/Tokyo",
            "site_url": "https://example.test/site",
            "notify": notify,
            "sources": sources,
        }
    )


def _tick(config, store, minute: int, ok: bool):  # type: ignore[no-untyped-def]
    at = START + timedelta(minutes=minute)
    samples = [
        Sample(source_id=s.id, tick=at, ok=True, value=80.0)
        if ok
        else Sample(source_id=s.id, tick=at, ok=False, error=f"unexpected HTTP 503 ({s.id})")
        for s in config.sources
    ]
    return run_alerts(config, store, at, samples, now=at + timedelta(seconds=20))


def test_a_thousand_sources_down_at_once_are_one_message_per_channel_each_way(receiver, store):
    config = _config(
        1000, {"hook": receiver.url("json", "/hook"), "form": receiver.url("form", "/form")}
    )
    for minute in range(3):
        _tick(config, store, minute, ok=True)
    _tick(config, store, 3, ok=False)
    assert receiver.take() == []  # one failed check: pending
    opened = _tick(config, store, 4, ok=False)
    assert len(opened.opened) == 1000 and {c.rule for c in opened.opened} == {"down"}
    first = receiver.take()
    assert sorted(item.path for item in first) == ["/form", "/hook"]
    assert {item.message for item in first} == {
        "1,000 incidents opened: down 1,000 (s0000, s0001, s0002, s0003, s0004 and 995 more)"
        " — 2026-11-25 17:04 JST — https://example.test/site/index.html"
    }
    assert {item.type for item in first} == {"failure"}
    assert _tick(config, store, 4, ok=False).opened == []  # a redelivery: nothing new
    for minute in range(5, 8):  # stale after 3m from minute 6 on: the same outage
        assert _tick(config, store, minute, ok=False).opened == []
    assert receiver.take() == []
    _tick(config, store, 8, ok=True)
    assert receiver.take() == []  # one good check: recovering
    resolved = _tick(config, store, 9, ok=True)
    assert len(resolved.resolved) == 1000
    last = receiver.take()
    assert sorted(item.path for item in last) == ["/form", "/hook"]
    assert {item.message for item in last} == {
        "1,000 incidents resolved: down 1,000 (s0000, s0001, s0002, s0003, s0004 and 995 more)"
        " — 2026-11-25 17:09 JST — https://example.test/site/index.html"
    }
    for minute in range(10, 13):  # the incident documents a tick had no room for
        _tick(config, store, minute, ok=True)
    client = gcf.Client(project=PROJECT)
    documents = [doc.to_dict() for doc in client.collection_group("incidents").stream()]
    assert len(documents) == 1000
    assert {doc["rule"] for doc in documents} == {"down"}
    assert all(
        doc["opened"] == int((START + timedelta(minutes=4)).timestamp()) for doc in documents
    )
    assert all(doc.get("resolved") for doc in documents)
    assert {doc["deliveries"]["firing~hook"]["status"] for doc in documents} == {"in a digest"}
    assert receiver.take() == []


def test_three_at_once_are_told_one_by_one_and_four_in_a_digest(receiver, store):
    small = _config(3, {"hook": receiver.url()}, pending=1)
    _tick(small, store, 0, ok=True)
    _tick(small, store, 1, ok=False)
    assert sorted(item.message.split(":")[0] for item in receiver.take()) == [
        "s0000",
        "s0001",
        "s0002",
    ]
    store.client.recursive_delete(store.client.collection("alerts"))
    four = _config(4, {"hook": receiver.url()}, pending=1)
    _tick(four, store, 10, ok=True)
    _tick(four, store, 11, ok=False)
    [digest] = receiver.take()
    assert digest.message.startswith("4 incidents opened: down 4 (s0000, s0001, s0002, s0003) — ")
    assert digest.title == "tally: 4 incidents opened"
