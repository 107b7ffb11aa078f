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
