"""Waiting for the Firestore emulator's clock to pass a render's change-mark overlap.

A render finds what changed since the last one by the sample documents' `written`
server timestamps, and reads again what was written up to MARK_OVERLAP (1 ms) before
the last render's read: the emulator keeps those timestamps to the millisecond, and the
overlap is what keeps a write at the boundary from being lost
(tally/render/state.py). So a document written less than a millisecond before a
render read its overview is read again by the next render, on purpose. A test that
writes and renders at once, then counts the next render's reads, would count that
document or not by a fraction of a millisecond (seen on a fast machine: 1.1 ms
between the seeding's last write and the render's read, and once under 1 ms).
"""

from __future__ import annotations

import time
from typing import Any

from tally.render.state import MARK_OVERLAP

GIVE_UP_AFTER = 5.0  # seconds of the emulator's clock not moving: something is wrong


def past_mark_overlap(client: Any) -> None:
    """Return once the emulator's read time is more than MARK_OVERLAP past what it was
    at the first read here, so every write acknowledged before this call lies outside
    the next render's overlap. Reads of a document no one writes, on `client` itself:
    no Store counts them."""
    probe = client.document("test-clock/probe")
    first = probe.get().read_time
    deadline = time.monotonic() + GIVE_UP_AFTER
    while probe.get().read_time <= first + MARK_OVERLAP:
        if time.monotonic() > deadline:
            raise AssertionError(f"the emulator's read time stayed at {first} for 5 s")
