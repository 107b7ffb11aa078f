"""The tick ends in time whatever the sources do: a page whose reading outlasts the
source's timeout, and sources that never get a turn because others hang, are failed
samples of the tick, and the tick's samples and metrics are written all the same.

A parse that takes ages is stood in for by reader processes that take the page and
never answer (html.parser needs seconds for some malformed pages: real, but how many
depends on the machine and on the Python patch release); the fetch before it, the
reader pool that kills them at the deadline, the collector, the store and the metrics
are the real ones."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import timedelta

import main
import pytest
from tally.sources import readers

from tests.core.conftest import pubsub_event, recent_tick

# Reads its request and never answers.
NEVER_ANSWERS = [sys.executable, "-c", "import sys, time; sys.stdin.buffer.read(); time.sleep(600)"]


@pytest.fixture
def slow_parse(monkeypatch: pytest.MonkeyPatch) -> Iterator[readers.ReaderPool]:
    """Every body is read by a reader that never answers."""
    pool = readers.ReaderPool(readers.READERS, command=NEVER_ANSWERS)
    monkeypatch.setattr(readers, "POOL", pool)
    yield pool
    pool.close()


def _page(hostile, source_id: str, **fields) -> dict:
    url = hostile.serve(f"/tick-deadlines/{source_id}", "<p id='n'>42</p>")
    base = {"id": source_id, "kind": "html", "url": url, "selector": "#n", "every": "1m"}
    return {**base, "timeout": "1s", **fields}


def test_a_page_whose_reading_outlasts_the_timeout_is_a_failure_of_the_tick(
    firestore, hostile, slow_parse, write_config, metric_service
):
    """Both pages answer at once; reading them takes longer than their 1 s timeout."""
    write_config({"sources": [_page(hostile, "slow"), _page(hostile, "quick", selector="p")]})

    tick = recent_tick()
    main.collect(pubsub_event(tick))

    from tally import runtime

    store = runtime.from_environment().store
    samples = {sample.source_id: sample for sample in store.samples("slow")}
    samples |= {sample.source_id: sample for sample in store.samples("quick")}
    assert samples["slow"].error == "timed out after 1s (reading the response)"
    assert samples["quick"].error == "timed out after 1s (reading the response)"
    assert not samples["slow"].ok and samples["slow"].tick == tick
    points = {metric.rsplit("/", 1)[1]: value for metric, _, value in metric_service.points()}
    assert points["ticks"] == 2  # the heartbeat: the tick was written
    assert slow_parse.processes() == []  # both readers were killed at the deadline


def test_sources_that_never_get_a_turn_are_failures_and_the_tick_ends(
    firestore, hostile, slow_parse, write_config, metric_service, monkeypatch
):
    """One fetch at a time and a start budget of 0.3 s: the first source hangs in its
    parse, the others are never started; all three are failed samples of the tick."""
    import tally.collector as collector

    monkeypatch.setattr(collector, "MAX_CONCURRENT_FETCHES", 1)
    monkeypatch.setattr(collector, "collect_start_budget", lambda: timedelta(seconds=0.3))
    write_config({"sources": [_page(hostile, "hangs"), _page(hostile, "b"), _page(hostile, "c")]})

    main.collect(pubsub_event(recent_tick()))

    from tally import runtime

    store = runtime.from_environment().store
    errors = {source_id: [s.error for s in store.samples(source_id)] for source_id in "bc"}
    assert errors == {
        source_id: [
            "not fetched: the tick ran out of time (too many sources waiting on slow servers)"
        ]
        for source_id in "bc"
    }
    [hung] = store.samples("hangs")
    assert hung.error == "timed out after 1s (reading the response)"
    assert hostile.paths("/tick-deadlines/b") == []  # never started
    assert hostile.paths("/tick-deadlines/c") == []
    points = {metric.rsplit("/", 1)[1]: value for metric, _, value in metric_service.points()}
    assert points["ticks"] == 3
