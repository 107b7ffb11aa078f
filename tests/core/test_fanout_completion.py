"""The run document of a fanned-out tick on the Firestore emulator: a shard's payload in
its mark or, past INLINE_BYTES, in documents of its own; the run whole only once every
shard is in; a payload half rewritten never read as whole; the sweep finds open runs."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from tally.fanout import completion

TICK = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize("inline", [True, False])
def test_the_run_is_whole_once_every_shard_is_in_whatever_the_order(store, monkeypatch, inline):
    if not inline:
        monkeypatch.setattr(completion, "INLINE_BYTES", 10)
    assert completion.open_run(store, "collect", TICK, 3, timedelta(minutes=31))
    assert not completion.open_run(store, "collect", TICK, 3, timedelta(minutes=31))
    payloads = {n: [{"s": f"v{n}", "n": list(range(n * 10))}] for n in range(3)}
    assert completion.finish(store, "collect", TICK, 2, 3, payloads[2]) is None
    assert completion.finish(store, "collect", TICK, 0, 3, payloads[0]) is None
    assert completion.finish(store, "collect", TICK, 2, 3, payloads[2]) is None  # again
    run = completion.finish(store, "collect", TICK, 1, 3, payloads[1])
    assert run is not None and run.payloads == [payloads[0], payloads[1], payloads[2]]
    assert run.missing == []
    parts = store.client.collection(f"{completion.run_path('collect', TICK)}/shards").stream()
    assert len(list(parts)) == (0 if inline else 3)


def test_a_payload_of_several_parts_half_rewritten_is_not_read_as_whole(store, monkeypatch):
    monkeypatch.setattr(completion, "INLINE_BYTES", 10)
    monkeypatch.setattr(completion.blob_parts, "PART_BYTES", 1000)
    noise = random.Random(7).randbytes(3000).hex()  # incompressible: several parts
    completion.open_run(store, "collect", TICK, 1, timedelta(minutes=31))
    assert completion.finish(store, "collect", TICK, 0, 1, [noise]) is not None
    # a redelivery of the shard is writing its parts again, with another payload
    store.set(completion.part_path("collect", TICK, 0, 1), {"gen": "other", "blob": b"x"})
    document = store.get(completion.run_path("collect", TICK)) or {}
    assert completion._read_run(store, "collect", TICK, document) is None


def test_the_sweep_finds_a_run_left_open_and_not_one_closed(store):
    later = TICK + timedelta(minutes=1)
    for tick in (TICK, later):
        completion.open_run(store, "collect", tick, 2, timedelta(minutes=31))
        completion.finish(store, "collect", tick, 0, 2, [{"s": "v0"}])
    completion.close(store, "collect", later)
    assert completion.overdue(store, "collect", TICK + timedelta(minutes=30)) == []
    [run] = completion.overdue(store, "collect", TICK + timedelta(minutes=32))
    assert (run.tick, run.count, run.payloads, run.missing) == (TICK, 2, [[{"s": "v0"}]], [1])
    assert completion.overdue(store, "render", TICK + timedelta(minutes=32)) == []


def test_of_two_shards_finishing_together_only_the_latest_mark_runs_the_end(store):
    """Both read the run after both marks are in: one runs the end, not both (their
    alerting would collide on the alert state). A redelivered shard's mark is the latest
    then, and it runs the end again."""
    tick = TICK + timedelta(hours=3)
    completion.open_run(store, "collect", tick, 2, timedelta(minutes=31))
    completion.mark_in(store, "collect", tick, 0, 2, [{"s": "v0"}])
    completion.mark_in(store, "collect", tick, 1, 2, [{"s": "v1"}])
    document = store.get(completion.run_path("collect", tick)) or {}
    assert [completion.ends_run(document, n, 2) for n in range(2)] == [False, True]
    run = completion.finish(store, "collect", tick, 0, 2, [{"s": "v0"}])  # redelivered
    assert run is not None and run.payloads == [[{"s": "v0"}], [{"s": "v1"}]]
    document = store.get(completion.run_path("collect", tick)) or {}
    assert [completion.ends_run(document, n, 2) for n in range(2)] == [True, False]


def test_a_mark_written_before_marks_had_a_time_counts_as_the_earliest():
    late = datetime(2026, 11, 25, 8, 0, 1, tzinfo=UTC)
    document = {"done": {"0": {"gen": "a", "at": late}, "1": {"gen": "b"}}}
    assert [completion.ends_run(document, n, 2) for n in range(2)] == [True, False]
    assert not completion.ends_run({"done": {"0": {"gen": "a", "at": late}}}, 0, 2)
