"""How many large bodies the collector holds at once.

A shard's 250 fetches at once (collector.MAX_CONCURRENT_FETCHES), each allowed 5 MiB,
would be 1.2 GiB of bodies before anything reads them, in a function of 512 MiB. So
the first SMALL_BODY_BYTES of every body flow freely, and a body that grows past them
needs one of LARGE_BODIES turns, held until its source is done with it (read by a
reader process, or failed): at most 250 × 256 KiB + 4 × 5 MiB = 82.5 MiB of bodies in
all. A JSON answer or a status page is far below 256 KiB; a shop's product page is
above it, and takes its turn as it did past 1 MiB when 64 fetches went out at once.
A body waiting for a turn waits on its own fetch's deadline (its server waits
meanwhile: the socket is not read).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

from tally.sources.failure import FetchError

SMALL_BODY_BYTES = 256 * 1024
LARGE_BODIES = 4

_turns = threading.BoundedSemaphore(LARGE_BODIES)
_local = threading.local()


class NoTurn(FetchError):
    """The deadline passed while the body waited for its turn."""


@contextlib.contextmanager
def scope() -> Iterator[None]:
    """A large body's turn taken inside is given back on leaving (the outermost scope
    of the thread: reading a source, around its fetch and the reading of its body)."""
    if getattr(_local, "held", None) is not None:
        yield
        return
    _local.held = held = []
    try:
        yield
    finally:
        _local.held = None
        for _ in held:
            _turns.release()


def hold_large(deadline: float, timeout: float) -> None:
    """Take a large body's turn for this thread's scope (once), waiting until
    `deadline` (time.monotonic) at most; FetchError when it passes."""
    held = getattr(_local, "held", None)
    if held is None:
        raise RuntimeError("hold_large outside bodies.scope()")
    if held:
        return
    if not _turns.acquire(timeout=max(deadline - time.monotonic(), 0.0)):
        raise NoTurn(
            f"timed out after {timeout:g}s (waiting to read its body: {LARGE_BODIES} "
            f"other bodies over {SMALL_BODY_BYTES // 1024} KiB were being read)",
            permanent=False,
        )
    held.append(True)
