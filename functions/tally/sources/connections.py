"""The connections of one fetch: every socket registered, so that the deadline can cut
it, and a redirect's host refused before connecting when it leads to a link-local
address or the cloud metadata server.

requests opens its sockets deep inside urllib3; the hooks here are a connection class
(registration, the address check), a pool manager that hands it to every pool, and an
adapter that builds that pool manager, all for one fetch's own session. The source's
own host is trusted (people watch their own LAN); only a redirect's host is checked:
by the URL first, then by every address its name resolves to, then by the peer.
"""

from __future__ import annotations

import contextlib
import heapq
import ipaddress
import itertools
import socket
import threading
import time
import urllib.request
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.poolmanager import PoolManager

from tally.sources.failure import FetchError

# Names and addresses that reach a cloud instance's metadata server (its credentials),
# beside every link-local address (169.254.169.254 is one).
METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata.goog", "metadata"})
METADATA_ADDRESSES = frozenset({ipaddress.ip_address("fd20:ce::254")})


class DeadlinePassed(Exception):
    """Raised when a fetch past its deadline would open a new connection (a retry, a
    redirect): fetch_url reports it as timed out."""


class FetchSockets:
    """One fetch's sockets and deadline state, shared with the connections it opens."""

    def __init__(self, own_host: str | None):
        self.own_host = own_host
        self.expired = False
        self.finished = False  # the fetch is over: its deadline no longer matters
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def attach(self, sock: socket.socket) -> None:
        with self._lock:
            if not self.expired:
                self._sockets.append(sock)
                return
        cut(sock)  # the deadline passed while this socket was connecting

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            cut(sock)


class Reaper:
    """One thread for every fetch's deadline: when one passes, the fetch's sockets are
    shut down, so a read blocked on a dripping server returns at once and the fetch
    ends in its own thread (no thread of its own per fetch: at 1,000 sources the extra
    threads cost more CPU than the fetches). A fetch that finishes first is dropped."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, FetchSockets]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def watch(self, deadline: float, fetch: FetchSockets) -> None:
        """Expire `fetch` at `deadline` (time.monotonic) unless it finished by then."""
        with self._wake:
            heapq.heappush(self._heap, (deadline, next(self._order), fetch))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="fetch-deadlines", daemon=True
                )
                self._thread.start()
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._heap:
                    self._wake.wait()
                deadline, _, fetch = self._heap[0]
                wait = deadline - time.monotonic()
                if wait > 0 and not fetch.finished:
                    self._wake.wait(wait)
                    continue
                heapq.heappop(self._heap)
            if not fetch.finished:
                fetch.expire()


REAPER = Reaper()


def cut(sock: socket.socket) -> None:
    """Wake whatever waits on the socket (a blocked read returns at once)."""
    with contextlib.suppress(OSError):  # already closed: nothing waits on it
        socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain socket's, even under TLS


# --- where a redirect may lead ------------------------------------------------------


def internal_address(text: str) -> str | None:
    """`text` if it is a link-local or metadata address (IPv4-mapped too), else None."""
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    for candidate in (address, mapped):
        if candidate is not None and (candidate.is_link_local or candidate in METADATA_ADDRESSES):
            return str(candidate)
    return None


def refused_redirect(url: str, own_host: str | None) -> str | None:
    """Why a redirect to `url` must not be followed, decided from the URL alone."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        return f"redirect to a {parts.scheme}: URL refused (only http and https are followed)"
    host = (parts.hostname or "").rstrip(".").lower()
    if host == own_host:
        return None
    if host in METADATA_HOSTS:
        return f"redirect to {host} refused (the cloud metadata server)"
    internal = internal_address(host)
    if internal is not None:
        return f"redirect to link-local address {internal} refused"
    return None


def _refuse_resolved(host: str, port: int | None) -> None:
    """Resolve a redirect's host and refuse it if any address is internal."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return  # the connection's own lookup fails the same way, with the usual reason
    for info in infos:
        internal = internal_address(str(info[4][0]))
        if internal is not None:
            raise FetchError(f"redirect to {host} refused: it resolves to {internal}")


def redirected_method(method: str, status: int) -> str:
    """What browsers (and requests) do: 303, and 302/301 after a POST, become GET."""
    if method != "HEAD" and (status in (302, 303) or (status == 301 and method == "POST")):
        return "GET"
    return method


# --- the hooks into urllib3 ---------------------------------------------------------


class _GuardedConnection:
    """A urllib3 connection that registers its socket with its fetch and, for any host
    but the source's own (a redirect's), refuses link-local and metadata addresses
    before connecting: the name is resolved and checked first, the peer after."""

    def __init__(self, *args: Any, tally_fetch: FetchSockets, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._tally_fetch = tally_fetch

    def _new_conn(self) -> socket.socket:
        fetch = self._tally_fetch
        if fetch.expired:
            raise DeadlinePassed()
        host: str = self.host  # type: ignore[attr-defined]
        foreign = host != fetch.own_host
        if foreign:
            _refuse_resolved(host, self.port)  # type: ignore[attr-defined]
        sock: socket.socket = super()._new_conn()  # type: ignore[misc]
        fetch.attach(sock)
        if foreign:
            peer = internal_address(str(sock.getpeername()[0]))
            if peer is not None:
                cut(sock)
                sock.close()
                raise FetchError(f"redirect to {host} refused: it resolves to {peer}")
        return sock


class _GuardedHTTPConnection(_GuardedConnection, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_GuardedConnection, HTTPSConnection):
    pass


_CONNECTIONS = {"http": _GuardedHTTPConnection, "https": _GuardedHTTPSConnection}


class _PoolManager(PoolManager):
    def __init__(self, *args: Any, tally_fetch: FetchSockets, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._tally_fetch = tally_fetch

    def _new_pool(self, scheme: str, host: str, port: int, request_context: Any = None) -> Any:
        pool = super()._new_pool(scheme, host, port, request_context)
        pool.ConnectionCls = _CONNECTIONS[scheme]
        pool.conn_kw = {**pool.conn_kw, "tally_fetch": self._tally_fetch}
        return pool


class _Adapter(HTTPAdapter):
    def __init__(self, fetch: FetchSockets, **kwargs: Any):
        self._tally_fetch = fetch  # before super().__init__, which builds the pool manager
        super().__init__(**kwargs)

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any
    ) -> None:
        self._pool_connections, self._pool_maxsize, self._pool_block = connections, maxsize, block
        self.poolmanager = _PoolManager(
            num_pools=connections,
            maxsize=maxsize,
            block=block,
            tally_fetch=self._tally_fetch,
            **pool_kwargs,
        )


# requests re-reads the proxy variables and ~/.netrc on every request when it trusts
# the environment: a quarter of a fetch's CPU, serialised under the GIL when 50 sources
# go out at once. Trust it only when a proxy is actually configured.
_PROXIES_CONFIGURED = bool(urllib.request.getproxies())


def session_for(fetch: FetchSockets) -> requests.Session:
    """A session whose every connection belongs to `fetch`. It never retries by itself:
    `sources/http.py` decides that from the failure."""
    session = requests.Session()
    session.trust_env = _PROXIES_CONFIGURED
    adapter = _Adapter(fetch)  # max_retries=0: one connection attempt a request
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
