"""Connections a tick keeps open between its fetches of one host.

Sources share hosts: a GitHub user's repositories are all api.github.com, a shop's
products one site, and a `github` source's pages follow each other. Opening a
connection for every request costs a TCP handshake and, over https, a TLS handshake,
on both sides (on the benchmark's loopback: 0.18 ms of tally's CPU a request and as
much of the server's). So a fetch that read its whole answer leaves the connection
here, and the next fetch of the same host in the same tick takes it.

What is kept, and what never is:
- only a source's first request, to its own host, GET or HEAD: a redirect's hop is
  checked and connected on its own and its body is never read; a POST is not sent on a
  connection the server may have closed meanwhile;
- only a connection whose answer was read to its end, and whose fetch finished before
  its deadline (`FetchSockets.release`: the deadline cannot cut a socket another fetch
  took);
- only within one tick: the collector closes what is left when the tick ends, so no
  connection idles between ticks (a minute, past any server's keep-alive).

A request sent on a kept connection that the server closed meanwhile fails before any
answer; it is sent again, once, on a new connection (http.py), as browsers do.
Without a tick's scope (`tally try`, tests, a render) nothing is kept.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from urllib3.connection import HTTPConnection

Key = str  # the host as sources/hosts.host_of names it: scheme, name and port


class KeptConnections:
    """One tick's idle connections, by host."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: dict[Key, list[HTTPConnection]] = {}
        self._closed = False

    def take(self, key: Key) -> HTTPConnection | None:
        """An idle connection to `key`'s host, if one was left."""
        with self._lock:
            idle = self._idle.get(key)
            return idle.pop() if idle else None

    def give(self, key: Key, connection: HTTPConnection) -> None:
        """Leave a connection for the next fetch of the host (closed if the tick is over)."""
        with self._lock:
            if not self._closed:
                self._idle.setdefault(key, []).append(connection)
                return
        connection.close()  # a fetch the tick stopped waiting for came back late

    def close(self) -> None:
        """The tick is over: every idle connection closed, none kept from now on."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                connection.close()


_local = threading.local()


@contextlib.contextmanager
def keeping(kept: KeptConnections) -> Iterator[None]:
    """The fetches of this thread inside take and leave connections in `kept`."""
    previous = getattr(_local, "kept", None)
    _local.kept = kept
    try:
        yield
    finally:
        _local.kept = previous


def current() -> KeptConnections | None:
    """The tick's kept connections for this thread's fetch, if it runs inside one."""
    return getattr(_local, "kept", None)
