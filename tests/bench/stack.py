"""What the collect, alerts and scale benchmarks run against: the Firestore emulator
and an upstream in a process of its own answering every request after DELAY seconds."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DELAY = 0.2


@contextmanager
def slow_upstream_on_emulator() -> Iterator[str]:
    """The upstream's base URL, with FIRESTORE_EMULATOR_HOST pointing at a fresh
    emulator, metrics off and only errors logged; both stopped afterwards."""
    from tally import logs

    from tests.support.emulators import PROJECT, FirestoreEmulator
    from tests.support.processes import Server, free_port, port_open

    emulator = FirestoreEmulator()
    os.environ["FIRESTORE_EMULATOR_HOST"] = emulator.host
    os.environ["GOOGLE_CLOUD_PROJECT"] = PROJECT
    os.environ["TALLY_METRICS"] = "off"
    port = free_port()
    upstream = Server(
        "slow-upstream",
        [sys.executable, "-m", "tests.support.slow_upstream", str(port), str(DELAY)],
        cwd=ROOT,
    )
    try:
        upstream.wait_until(lambda: port_open(port))
        logs.set_min_severity("ERROR")
        yield f"http://127.0.0.1:{port}"
    finally:
        upstream.stop()
        emulator.stop()
