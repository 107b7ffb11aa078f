"""A tick fanned out over shards (issue 22): the scheduler's message publishes one
message a shard to the real Pub/Sub emulator; the test pulls them and delivers them as
Pub/Sub may, duplicated, reordered or never, to the collect function's core on the
Firestore emulator. One sample per source per tick, a failure never replacing a success,
and one alert digest per channel, exactly once, whatever the order."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from google.cloud import firestore as gcf
from tally import runtime
from tally.config import Config
from tally.fanout.plan import plan, shard_of
from tally.group_document import assign
from tally.tick_fanout import FannedOut

from tests.alerts.conftest import IMMEDIATE, START, make_config
from tests.core.conftest import pubsub_event
from tests.support.emulators import PROJECT

SOURCES = 60  # three groups of samples: 25, 25 and 10
SHARD = 25  # a group a shard


def _config(knob, receiver) -> Config:  # type: ignore[no-untyped-def]
    return make_config(
        [knob.source(f"v{n:02d}", alerts={"above": 100}) for n in range(SOURCES)],
        {"hook": receiver.url("json")},
        alerts=IMMEDIATE,
    )


def _deps(config: Config, store, topic, at: datetime) -> runtime.Dependencies:  # type: ignore[no-untyped-def]
    return runtime.Dependencies(
        config=config,
        store=store,
        clock=lambda: at + timedelta(seconds=20),
        collect_topic=topic.publisher,
        shard_size=SHARD,
    )


def _scheduled(tick: datetime):  # type: ignore[no-untyped-def]
    """The scheduler's message of a tick (named, as the local stack's are)."""
    return pubsub_event(tick, attributes={"tick": tick.isoformat()})


def _stored(tick: datetime) -> dict[str, list[tuple[str, bool]]]:
    """Every sample stored at the tick: source → [(minute, ok)] over every document."""
    client = gcf.Client(project=PROJECT)
    found: dict[str, list[tuple[str, bool]]] = {}
    minute = tick.strftime("%M")
    for snapshot in client.collection_group("hours").stream():
        data = snapshot.to_dict()
        for field, ok in (("samples", True), ("failures", False)):
            for source_id, minutes in (data.get(field) or {}).items():
                if minute in minutes:
                    found.setdefault(source_id, []).append((minute, ok))
    return found


def _incidents() -> int:
    client = gcf.Client(project=PROJECT)
    return sum(1 for _ in client.collection_group("incidents").stream())


def _fan_out(knob, receiver, store, shard_topic, tick):  # type: ignore[no-untyped-def]
    config = _config(knob, receiver)
    for n in range(SOURCES):
        knob.set(f"v{n:02d}", 150)
    deps = _deps(config, store, shard_topic, tick)
    handed = runtime.collect_event(deps, _scheduled(tick))
    assert isinstance(handed, FannedOut)
    events = sorted(shard_topic.pull(), key=lambda event: shard_of(event).index)
    return config, deps, events


def test_shards_are_whole_groups_in_order():
    ids = [f"v{n:02d}" for n in range(SOURCES)]
    groups = assign(ids)
    sizes = {
        size: [len(s.source_ids) for s in plan(ids, groups, size, "collect")]
        for size in (10, 25, 50, 60)
    }
    assert sizes == {10: [25, 25, 10], 25: [25, 25, 10], 50: [50, 10], 60: [60]}
    [first, *_] = plan(ids, groups, 50, "collect")
    assert (first.index, first.count, first.source_ids[:2]) == (0, 2, ("v00", "v01"))


def test_duplicated_and_reordered_shards_store_one_sample_each_and_alert_once(
    firestore, knob, receiver, store, shard_topic
):
    tick = START
    _, deps, events = _fan_out(knob, receiver, store, shard_topic, tick)
    assert [len(shard_of(e).source_ids) for e in events] == [25, 25, 10]
    assert _stored(tick) == {}  # the scheduler's message fetched nothing itself
    for event in (events[2], events[0], events[2], events[0]):
        runtime.collect_event(deps, event)
    assert receiver.take() == []  # a shard is still out: no alerting yet
    knob.fail("v00")  # the upstream blinks before shard 0 comes again
    for event in (events[1], events[0], events[1]):
        runtime.collect_event(deps, event)
    [digest] = receiver.take()
    assert digest.message.startswith(f"{SOURCES} incidents opened: above {SOURCES} (v00, v01")
    stored = _stored(tick)
    assert sorted(stored) == [f"v{n:02d}" for n in range(SOURCES)]
    minute = tick.strftime("%M")
    assert stored.pop("v00") == [(minute, True), (minute, False)]  # both kept, apart
    assert all(samples == [(minute, True)] for samples in stored.values()), stored
    [read] = [sample for sample in store.samples("v00") if sample.tick == tick]
    assert (read.ok, read.value) == (True, 150)  # the success stands
    assert _incidents() == SOURCES


def test_a_lost_shard_leaves_the_others_alerted_on_once_its_messages_are_stale(
    firestore, knob, receiver, store, shard_topic
):
    tick = START
    config, deps, events = _fan_out(knob, receiver, store, shard_topic, tick)
    for event in events[:2]:
        runtime.collect_event(deps, event)
    assert receiver.take() == []
    stale = tick + config.stale_event_after + timedelta(minutes=1)
    late = _deps(config, store, shard_topic, stale)
    assert runtime.collect_event(late, events[2]) is None  # its retries end: dropped
    assert receiver.take() == []
    handed = runtime.collect_event(late, _scheduled(stale))
    assert isinstance(handed, FannedOut)
    [swept] = handed.swept
    assert swept.tick == tick and len(swept.samples) == 50
    [digest] = receiver.take()
    assert digest.message.startswith("50 incidents opened: above 50 (v00, v01")
    assert sorted(_stored(tick)) == [f"v{n:02d}" for n in range(50)]
    again = runtime.collect_event(late, _scheduled(stale + timedelta(minutes=1)))
    assert isinstance(again, FannedOut) and again.swept == []  # swept once


def test_a_tick_of_no_more_sources_than_a_shard_is_collected_where_it_arrives(
    firestore, knob, receiver, store, shard_topic
):
    config = make_config(
        [knob.source(f"v{n:02d}") for n in range(SHARD)], {"hook": receiver.url("json")}
    )
    for n in range(SHARD):
        knob.set(f"v{n:02d}", 1)
    result = runtime.collect_event(_deps(config, store, shard_topic, START), _scheduled(START))
    assert not isinstance(result, FannedOut) and result is not None
    assert len(result.samples) == SHARD and shard_topic.pull() == []
    assert len(_stored(START)) == SHARD


def test_the_fan_out_costs_what_its_docstring_says(firestore, knob, receiver, store, shard_topic):
    tick = START
    _, deps, events = _fan_out(knob, receiver, store, shard_topic, tick)
    # the scheduler's message: the run's document created, one sweep query (none found)
    assert store.counter.by_kind == {"create": 1, "query": 1}
    before = dict(store.counter.by_kind)
    for event in events[:2]:
        runtime.collect_event(deps, event)
    spent = {k: v - before.get(k, 0) for k, v in store.counter.by_kind.items()}
    # per shard: its group's samples (1 write), its mark with its payload (1), one read
    assert spent == {"query": 0, "create": 0, "set": 4, "get": 2}


def test_a_shard_message_that_makes_no_sense_is_dropped(
    firestore, knob, receiver, store, shard_topic
):
    config = _config(knob, receiver)
    deps = _deps(config, store, shard_topic, START)
    for attribute, data in (
        ("collect:5/2", {"sources": ["v00"]}),
        ("collect:0/1", b"not json"),
        ("render:0/1", {"sources": ["v00"]}),  # the render's shard: not collect's to do
        ("collect:0/1", {"sources": ["v00"], "hosts": {"http://127.0.0.1:9": 0}}),
        ("collect:0/1", {"sources": ["v00"], "hosts": ["http://127.0.0.1:9"]}),
    ):
        event = pubsub_event(
            START, data, attributes={"tick": START.isoformat(), "shard": attribute}
        )
        assert runtime.collect_event(deps, event) is None
    assert _stored(START) == {} and shard_topic.pull() == []


def test_the_shard_size_comes_from_the_environment_or_says_what_is_wrong(monkeypatch):
    from tally.tick_fanout import SHARD_SIZE, shard_size

    monkeypatch.delenv("TALLY_SHARD_SIZE", raising=False)
    assert shard_size() == SHARD_SIZE == 250
    monkeypatch.setenv("TALLY_SHARD_SIZE", "100")
    assert shard_size() == 100
    monkeypatch.setenv("TALLY_SHARD_SIZE", "0")
    with pytest.raises(ValueError, match="TALLY_SHARD_SIZE must be a whole number"):
        shard_size()
    # the render's, read the same way
    monkeypatch.delenv("TALLY_RENDER_SHARD_SIZE", raising=False)
    assert runtime.render_shard_size() == runtime.RENDER_SHARD_SIZE == 100
    monkeypatch.setenv("TALLY_RENDER_SHARD_SIZE", "many")
    with pytest.raises(ValueError, match="TALLY_RENDER_SHARD_SIZE must be a whole number"):
        runtime.render_shard_size()


def test_the_last_shard_decodes_and_judges_with_the_garbage_collector_held_off(
    firestore, knob, receiver, store, shard_topic, monkeypatch
):
    """At 10,000 sources a third of the last step was the collector scanning the state's
    objects again and again (gc_pause.py): it is held off there, and back on after."""
    import gc

    from tally import tick_fanout
    from tally.alerts.judge import Judgement

    collector_on: dict[str, set[bool]] = {"decode": set(), "judge": set()}
    decode, judge_source = tick_fanout.decode, Judgement.judge_source

    def decoding(item):  # type: ignore[no-untyped-def]
        collector_on["decode"].add(gc.isenabled())
        return decode(item)

    def judging(self, source):  # type: ignore[no-untyped-def]
        collector_on["judge"].add(gc.isenabled())
        return judge_source(self, source)

    monkeypatch.setattr(tick_fanout, "decode", decoding)
    monkeypatch.setattr(Judgement, "judge_source", judging)
    _, deps, events = _fan_out(knob, receiver, store, shard_topic, START)
    for event in events:
        runtime.collect_event(deps, event)
    assert collector_on == {"decode": {False}, "judge": {False}}
    assert gc.isenabled()
    [digest] = receiver.take()
    assert digest.message.startswith(f"{SOURCES} incidents opened")
