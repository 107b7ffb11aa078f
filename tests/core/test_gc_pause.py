"""The garbage collector held off for a step (gc_pause.py): off inside, as it was after,
whatever the nesting, the threads or the exceptions."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest
from tally.gc_pause import collector_paused


@pytest.fixture(autouse=True)
def _collector_on() -> Iterator[None]:
    gc.enable()
    yield
    gc.enable()


def _collections_while(work) -> int:  # type: ignore[no-untyped-def]
    """Collections CPython started while `work` ran, with a threshold it always passes."""
    seen: list[str] = []
    callback = lambda phase, info: seen.append(phase) if phase == "start" else None  # noqa: E731
    old = gc.get_threshold()
    gc.callbacks.append(callback)
    gc.set_threshold(10)
    try:
        return work(seen)
    finally:
        gc.set_threshold(*old)
        gc.callbacks.remove(callback)


def _cycles(seen: list[str]) -> int:
    """Builds 2,000 cycles; the collections started meanwhile."""
    before = len(seen)
    for _ in range(2_000):
        node: list = []  # type: ignore[type-arg]
        node.append(node)
    return len(seen) - before


def test_no_collection_inside_and_collections_again_after():
    def paused(seen: list[str]) -> int:
        with collector_paused():
            return _cycles(seen)

    assert _collections_while(paused) == 0
    assert gc.isenabled()
    assert _collections_while(_cycles) > 0  # the measure sees collections when there are


def test_a_nested_pause_ends_with_the_outer_one():
    with collector_paused():
        with collector_paused():
            pass
        assert not gc.isenabled()
    assert gc.isenabled()


def test_an_exception_inside_turns_the_collector_back_on():
    with pytest.raises(ZeroDivisionError), collector_paused():
        1 / 0  # noqa: B018
    assert gc.isenabled()


def test_a_collector_someone_turned_off_stays_off():
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()


def test_two_threads_overlapping_resume_it_when_the_last_leaves():
    inside, leave = threading.Event(), threading.Event()
    states: list[bool] = []

    def other() -> None:
        with collector_paused():
            inside.set()
            leave.wait(5)
        states.append(gc.isenabled())

    thread = threading.Thread(target=other)
    with collector_paused():
        thread.start()
        assert inside.wait(5)
    states.append(gc.isenabled())  # this one left first: the other still holds it
    leave.set()
    thread.join(5)
    assert states == [False, True]
