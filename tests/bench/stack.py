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
# Sources live on many hosts, and a tick asks one host at most 64 fetches at a time
# (tally/sources/hosts.py): 1,000 sources over 16 ports are 63 a host, as if spread.
HOSTS = 16
UPSTREAMS: list[str] = []  # every port's base URL, while the upstream runs


def upstream_url(n: int) -> str:
    """The base URL the n-th source of a benchmark asks (the hosts in turn)."""
    return UPSTREAMS[n % len(UPSTREAMS)]


@contextmanager
def slow_upstream_on_emulator() -> Iterator[str]:
    """The upstream's first base URL (`upstream_url` gives the others), with
    FIRESTORE_EMULATOR_HOST pointing at a fresh emulator, metrics off and only errors
    logged; both stopped afterwards."""
    from tally import logs

    from tests.support.emulators import PROJECT, FirestoreEmulator
    from tests.support.processes import Server, free_port, port_open

    emulator = FirestoreEmulator()
    os.environ["FIRESTORE_EMULATOR_HOST"] = emulator.host
    os.environ["GOOGLE_CLOUD_PROJECT"] = PROJECT
    os.environ["TALLY_METRICS"] = "off"
    ports: list[int] = []
    while len(ports) < HOSTS:  # distinct, though the kernel may hand one out twice
        port = free_port()
        if port not in ports:
            ports.append(port)
    upstream = Server(
        "slow-upstream",
        [
            sys.executable,
            "-m",
            "tests.support.slow_upstream",
            ",".join(map(str, ports)),
            str(DELAY),
        ],
        cwd=ROOT,
    )
    try:
        upstream.wait_until(lambda: all(port_open(port) for port in ports))
        logs.set_min_severity("ERROR")
        UPSTREAMS[:] = [f"http://127.0.0.1:{port}" for port in ports]
        yield UPSTREAMS[0]
    finally:
        UPSTREAMS.clear()
        upstream.stop()
        emulator.stop()
