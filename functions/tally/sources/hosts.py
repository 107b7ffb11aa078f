"""How many of a tick's fetches go to one host at once.

A shard's 250 sources go out together (collector.MAX_CONCURRENT_FETCHES), which is
right across hosts and wrong at one: GitHub refuses more than 100 concurrent requests
to its API (its secondary rate limits), and a shop's product pages or a small site would
take 250 at once as an attack. So at most PER_HOST fetches of a tick ask one host
(scheme, name and port) at a time, as many as any host got before a shard's fetches
went out together (64 at once in all); the others wait their turn before their fetch
starts, so the wait is not counted against their timeout (a source never started is a
failed sample only once the tick's start budget has passed, as before).

A tick fanned out over shards (tick_fanout) runs on several instances at once, each with
turns of its own: a host two shards ask shares its PER_HOST between them (`shares`, in
the shards' messages), so the tick as a whole still asks it PER_HOST at a time.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping, Sequence
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


def shares(counts: Sequence[Mapping[str, int]], per_host: int) -> list[dict[str, int]]:
    """Each shard's turns at the hosts it shares with another shard of its tick, from how
    many of its sources ask each host (`counts`, a shard each): one turn each, and the
    rest of `per_host` in proportion to those sources (the remainders to the largest
    fractions, then the first shard), so that they add up to `per_host`; only a host
    asked by more shards than `per_host` gets more (one a shard). A host only one shard
    asks is not named: that shard has `per_host` of its own."""
    out: list[dict[str, int]] = [{} for _ in counts]
    for host in sorted({host for count in counts for host in count}):
        asking = [(index, count[host]) for index, count in enumerate(counts) if count.get(host)]
        if len(asking) < 2:
            continue
        total = sum(sources for _, sources in asking)
        spare = max(per_host - len(asking), 0)
        exact = {index: spare * sources / total for index, sources in asking}
        given = {index: 1 + int(quota) for index, quota in exact.items()}
        left = per_host - sum(given.values())
        for index in sorted(exact, key=lambda i: (int(exact[i]) - exact[i], i))[: max(left, 0)]:
            given[index] += 1
        for index, turns in given.items():
            out[index][host] = turns
    return out


class HostTurns:
    """One tick's turns at each host: created per tick, so that a fetch left hanging
    by an earlier tick never holds this tick's turn. `limits` are a shard's shares of
    hosts other shards ask too (`shares`); any other host gets `per_host`."""

    def __init__(self, per_host: int, limits: Mapping[str, int] | None = None) -> None:
        self.per_host = per_host
        self.limits = dict(limits or {})
        self._lock = threading.Lock()
        self._turns: dict[str, threading.BoundedSemaphore] = {}

    @contextlib.contextmanager
    def turn(self, host: str) -> Iterator[None]:
        """Held while one fetch asks `host`; waits while its limit of others do."""
        with self._lock:
            turns = self._turns.get(host)
            if turns is None:
                turns = threading.BoundedSemaphore(self.limits.get(host, self.per_host))
                self._turns[host] = turns
        with turns:
            yield
