"""The fetch threads a warm instance keeps from one tick to the next.

A tick fetches its sources on up to 250 threads. Starting a thread and ending it costs
about 0.4 ms of CPU here, more than a loopback fetch on a raw socket: a shard of 250
sources took 0.44-0.51 s of CPU with threads of its own and 0.39-0.42 s with the last
tick's (docs/benchmarks.md). An instance lives for many ticks, so it keeps its threads,
idle, between them: about 5 MiB more than letting them go (measured, 250 threads).

It keeps them only when the tick left none of them busy. A fetch still running when
its tick gave up on it (a server that drips, a page that takes ages to parse) keeps its
thread until it ends on its own; a pool holding such a thread is let go, as before, and
the next tick starts threads of its own: a stuck fetch never takes a turn from a later
tick. Two ticks at once in one process (the functions-framework's threads, locally)
each get a pool; one is kept.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

_lock = threading.Lock()
_kept: FetchPool | None = None


def _fits(size: int, workers: int, sources: int) -> bool:
    """A pool of `size` threads runs `sources` fetches `workers` at a time."""
    return min(size, sources) == workers


def take(workers: int, sources: int) -> FetchPool:
    """A pool that runs `sources` fetches `workers` at a time: the kept one when it
    does, else a new one (the kept one, if any, is let go: its threads are idle)."""
    global _kept
    with _lock:
        kept, _kept = _kept, None
    if kept is not None:
        if _fits(kept.size, workers, sources):
            return kept
        kept.shutdown(wait=False)
    return FetchPool(workers)


def give_back(pool: FetchPool, futures: Iterable[Future[Any]]) -> None:
    """The tick is over: keep `pool` if none of its `futures` is still running (then
    every thread is idle), else let it go; its running fetches end on their own."""
    global _kept
    if all(future.done() for future in futures):
        with _lock:
            if _kept is None:
                _kept = pool
                return
    pool.shutdown(wait=False, cancel_futures=True)


class FetchPool(ThreadPoolExecutor):
    """A pool of fetch threads that says how many it may start."""

    def __init__(self, size: int) -> None:
        super().__init__(max_workers=size, thread_name_prefix="fetch")
        self.size = size
