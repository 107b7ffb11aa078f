"""What alerting costs a tick in Firestore operations (README "Alerts and notifications",
Cost): the alert state is read once a tick, and written only when something changed."""

from __future__ import annotations

from tests.alerts.conftest import make_config


def _ops(store) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    return store.counter.reads, store.counter.writes


def test_a_tick_without_samples_reads_the_state_and_writes_nothing(knob, tick_runner, store):
    config = make_config(
        [knob.source("price", every="5m", alerts={"above": 100, "stale_after": "1h"})], {}
    )
    knob.set("price", 50)
    tick_runner(config, 0)  # the source's first sample: state written
    before = _ops(store)
    idle = tick_runner(config, 1)  # nothing due: only the clock moved
    assert idle.samples == []
    assert tuple(a - b for a, b in zip(_ops(store), before, strict=True)) == (1, 0)

    before = _ops(store)
    due = tick_runner(config, 5)  # a sample: its write and the state's
    assert len(due.samples) == 1
    assert tuple(a - b for a, b in zip(_ops(store), before, strict=True)) == (1, 2)


def _steady(store, count: int) -> list[tuple[int, int]]:  # type: ignore[no-untyped-def]
    """(reads, writes) alerting costs on ticks 3 to 5, with a sample of every source,
    then on a tick with none: nothing firing, nothing pending."""
    from datetime import timedelta

    from tally.alerts.engine import run_alerts
    from tally.config import parse_config
    from tally.sample import Sample

    from tests.alerts.conftest import START

    config = parse_config(
        {
            "sources": [
                {
                    "id": f"s{n:04d}",
                    "kind": "http",
                    "url": "http://127.0.0.1:9/x",
                    "every": "1m",
                    "alerts": {"above": 1000, "stale_after": "1h"},
                }
                for n in range(count)
            ]
        }
    )
    costs = []
    for minute in range(7):
        at = START + timedelta(minutes=minute)
        samples = (
            []
            if minute == 6
            else [Sample(source_id=s.id, tick=at, ok=True, value=50.0) for s in config.sources]
        )
        run = run_alerts(config, store, at, samples, now=at + timedelta(seconds=20))
        assert run.opened == [] and run.resolved == []
        if minute >= 3:
            costs.append((run.reads, run.writes))
    return costs


def test_a_thousand_sources_cost_one_read_and_one_write_a_tick(store):
    """Up to 1,000 sources the alert state is one document."""
    assert _steady(store, 1000) == [(1, 1), (1, 1), (1, 1), (1, 0)]


def test_beyond_a_thousand_sources_two_reads_and_a_write_per_shard(store):
    """Past one shard the state is judged outside the transaction, then read again in a
    short one that checks nothing changed (test_rehearsal.py): a read more per shard."""
    assert _steady(store, 1001) == [(4, 2), (4, 2), (4, 2), (4, 0)]
