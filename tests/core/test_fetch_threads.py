"""A warm instance fetches a tick on the threads its last tick started, unless one of
them is still busy with a fetch its tick gave up on: then the tick starts its own, and
the stuck fetch takes no turn from it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import tally.collector as collector
from tally import fetch_threads
from tally.collector import collect_tick
from tally.config import parse_config

from tests.support.loopback import Loopback, QuietHandler

TICK = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
WAIT = 10  # seconds a test waits for what must happen before it calls it a failure


@pytest.fixture(autouse=True)
def no_kept_pool() -> Iterator[None]:
    """Each test starts, and leaves, without a kept pool (`take` hands it out)."""
    fetch_threads.take(1, 1).shutdown()
    yield
    fetch_threads.take(1, 1).shutdown()


def _at_once(pool, count: int) -> list[threading.Thread]:  # type: ignore[no-untyped-def]
    """Run `count` tasks that each wait for all of them to be running: they pass only
    if the pool runs `count` at once. The threads they ran on."""
    everyone = threading.Barrier(count, timeout=WAIT)

    def task() -> threading.Thread:
        everyone.wait()
        return threading.current_thread()

    return [future.result() for future in [pool.submit(task) for _ in range(count)]]


def test_the_next_tick_runs_on_the_threads_the_last_one_started():
    pool = fetch_threads.take(3, 3)
    first = _at_once(pool, 3)
    fetch_threads.give_back(pool, [])
    again = fetch_threads.take(3, 3)
    assert {id(thread) for thread in _at_once(again, 3)} == {id(thread) for thread in first}
    fetch_threads.give_back(again, [])


def test_a_pool_with_a_stuck_fetch_is_let_go_and_the_next_tick_gets_every_turn():
    pool = fetch_threads.take(2, 2)
    release = threading.Event()
    stuck = pool.submit(release.wait, WAIT)
    finished = pool.submit(lambda: None)
    finished.result()
    fetch_threads.give_back(pool, [stuck, finished])  # the tick gave up on `stuck`
    try:
        fresh = fetch_threads.take(2, 2)
        _at_once(fresh, 2)  # two at once: the stuck fetch holds none of its turns
        assert not stuck.done()
        fetch_threads.give_back(fresh, [])
    finally:
        release.set()
    assert stuck.result(WAIT) is True  # the stuck fetch ended on its own


def test_a_kept_pool_too_small_for_the_tick_is_not_used():
    small = fetch_threads.take(2, 2)
    fetch_threads.give_back(small, [])
    bigger = fetch_threads.take(3, 3)
    assert len({id(thread) for thread in _at_once(bigger, 3)}) == 3
    fetch_threads.give_back(bigger, [])


def test_a_kept_pool_larger_than_the_cap_is_not_used():
    """A tick of 5 sources, 2 at a time, after one that ran 3 at a time: its third
    fetch starts only once one of the first two is over."""
    fetch_threads.give_back(fetch_threads.take(3, 3), [])
    pool = fetch_threads.take(2, 5)
    gate = threading.Event()
    running = threading.Semaphore(0)

    def task() -> None:
        running.release()
        gate.wait(WAIT)

    futures = [pool.submit(task) for _ in range(3)]
    assert running.acquire(timeout=WAIT) and running.acquire(timeout=WAIT)
    assert not futures[2].running()
    gate.set()
    for future in futures:
        future.result(WAIT)
    fetch_threads.give_back(pool, futures)


class _HoldsThree(QuietHandler):
    """Answers once three requests are in: the tick's three fetches run at once."""

    everyone = threading.Barrier(3, timeout=WAIT)

    def do_GET(self) -> None:
        self.everyone.wait()
        self.send_body(b'{"n": 7}', "application/json")


def test_a_warm_instance_collects_its_next_tick_on_the_same_threads(store, monkeypatch):
    server = Loopback(_HoldsThree)
    fetched_on: list[threading.Thread] = []
    fetch_one = collector._fetch_one

    def noting_the_thread(source, tick):  # type: ignore[no-untyped-def]
        fetched_on.append(threading.current_thread())
        return fetch_one(source, tick)

    monkeypatch.setattr(collector, "_fetch_one", noting_the_thread)
    source = {"kind": "json", "url": f"{server.url}/n", "query": "n", "every": "1m"}
    config = parse_config({"sources": [{"id": f"n{n}", **source} for n in range(3)]})
    try:
        first = collect_tick(config, TICK, store, alerting=False)
        second = collect_tick(config, TICK + timedelta(minutes=1), store, alerting=False)
    finally:
        server.stop()
    assert [s.value for s in first.samples + second.samples] == [7.0] * 6
    assert len({id(thread) for thread in fetched_on[:3]}) == 3
    assert {id(thread) for thread in fetched_on[3:]} == {id(thread) for thread in fetched_on[:3]}
