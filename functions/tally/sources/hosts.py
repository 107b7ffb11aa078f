"""How many of a tick's fetches go to one host at once.

A shard's 250 sources go out together (collector.MAX_CONCURRENT_FETCHES), which is
right across hosts and wrong at one: GitHub refuses more than 100 concurrent requests
to its API (its secondary rate limits), and a shop's product pages or a small site would
take 250 at once as an attack. So at most PER_HOST fetches of a tick ask one host
(scheme, name and port) at a time, as many as any host got before a shard's fetches
went out together (64 at once in all); the others wait their turn before their fetch
starts, so the wait is not counted against their timeout (a source never started is a
failed sample only once the tick's start budget has passed, as before).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit

PER_HOST = 64


def host_of(address: str) -> str:
    """The host a fetch of `address` asks: scheme, name and port (a URL that does not
    parse is its own host: its fetch fails on its own)."""
    try:
        parts = urlsplit(address)
        port = parts.port
    except ValueError:
        return address
    scheme = parts.scheme.lower()
    name = (parts.hostname or "").rstrip(".")
    return f"{scheme}://{name}:{port or {'https': 443, 'http': 80}.get(scheme, 0)}"


class HostTurns:
    """One tick's turns at each host: created per tick, so that a fetch left hanging
    by an earlier tick never holds this tick's turn."""

    def __init__(self, per_host: int) -> None:
        self.per_host = per_host
        self._lock = threading.Lock()
        self._turns: dict[str, threading.BoundedSemaphore] = {}

    @contextlib.contextmanager
    def turn(self, host: str) -> Iterator[None]:
        """Held while one fetch asks `host`; waits while PER_HOST others do."""
        with self._lock:
            turns = self._turns.setdefault(host, threading.BoundedSemaphore(self.per_host))
        with turns:
            yield
