"""The connections of one fetch: every socket registered, so that the deadline can cut
it, and a redirect's host refused before connecting when it leads to a link-local
address or the cloud metadata server.

A fetch talks to urllib3 directly (requests' session cost twice the request itself in
CPU: merging settings, reading the environment, a pool manager for each fetch); the
hooks here are a connection class (registration, the address check) and a pool of one
such connection for each request of one fetch. The source's
own host is trusted (people watch their own LAN); only a redirect's host is checked:
by the URL first, then by every address its name resolves to, then by the peer.
"""

from __future__ import annotations

import contextlib
import heapq
import ipaddress
import itertools
import os
import socket
import ssl
import threading
import time
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from requests.utils import (
    DEFAULT_CA_BUNDLE_PATH,
    get_auth_from_url,
    get_environ_proxies,
    get_netrc_auth,
    prepend_scheme_if_needed,
    select_proxy,
    urldefragauth,
)
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool, ProxyManager
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.util import make_headers
from urllib3.util.ssl_ import create_urllib3_context

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

    def let_go(self) -> bool:
        """The fetch is done with its sockets and leaves one open for another fetch
        (sources/kept.py): the deadline no longer cuts them. False when it already
        passed (a socket may be cut: not to be kept)."""
        with self._lock:
            if self.expired:
                return False
            self.finished = True
            self._sockets = []
            return True

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


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


# With a proxy configured where tally runs (HTTP_PROXY, HTTPS_PROXY, NO_PROXY), the
# environment is trusted as requests trusts it: the proxy, ~/.netrc and a CA bundle of
# its own (REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, for a proxy that inspects TLS). Without
# one (deployed functions have none), none of them is read on every fetch.
_PROXIES_CONFIGURED = bool(urllib.request.getproxies())
_OWN_CA_BUNDLE = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
_CA_BUNDLE = (_PROXIES_CONFIGURED and _OWN_CA_BUNDLE) or DEFAULT_CA_BUNDLE_PATH


_tls: ssl.SSLContext | None = None
_tls_lock = threading.Lock()


def _tls_context() -> ssl.SSLContext:
    """requests' trust (its certifi bundle, the certificate and the name verified),
    loaded once: loading the bundle for every connection cost more than the handshake."""
    global _tls
    with _tls_lock:
        if _tls is None:
            context = create_urllib3_context(cert_reqs=ssl.CERT_REQUIRED)
            context.load_verify_locations(_CA_BUNDLE)
            _tls = context
        return _tls


def authorization_for(url: str) -> str | None:
    """The Authorization a request to `url` carries whatever its headers say, as requests
    gives it: ~/.netrc's for the host (when the environment is trusted), else the URL's
    own user:password."""
    auth = get_netrc_auth(url) if _PROXIES_CONFIGURED else None
    if not auth:
        auth = get_auth_from_url(url)
        if not any(auth):
            return None
    return make_headers(basic_auth=":".join(auth))["authorization"]


def keeps_connections() -> bool:
    """Whether a tick may keep connections between fetches (sources/kept.py): not
    through a proxy, whose connections tally does not make."""
    return not _PROXIES_CONFIGURED


def pool_for(
    fetch: FetchSockets, url: str, kept: HTTPConnection | None = None
) -> tuple[HTTPConnectionPool, str]:
    """A pool of one connection for one request of `fetch` (every hop gets its own: a
    redirect's body is never read, so its connection cannot serve the next), and the
    target to ask it for. Nothing is shared between fetches but the TLS trust and the
    connections a tick keeps: `kept`, one an earlier fetch of the same host left
    (sources/kept.py), now this fetch's (its deadline cuts it)."""
    parts = urlsplit(url)
    scheme, host, port = parts.scheme.lower(), parts.hostname or "", parts.port
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    tls = {"cert_reqs": "CERT_REQUIRED", "ssl_context": _tls_context()} if scheme == "https" else {}
    proxy = select_proxy(url, get_environ_proxies(url)) if _PROXIES_CONFIGURED else None
    if proxy:
        return _proxied(proxy, url, scheme, host, port, tls, target)
    pool_class = _GuardedHTTPSPool if scheme == "https" else _GuardedHTTPPool
    pool = pool_class(host, port, maxsize=1, tally_fetch=fetch, **tls)
    if kept is not None:
        kept._tally_fetch = fetch  # type: ignore[attr-defined]  # reconnecting: this fetch's
        if kept.sock is not None:
            fetch.attach(kept.sock)
        pool.pool.get_nowait()  # type: ignore[union-attr]  # the empty slot, for `kept`
        pool.pool.put_nowait(kept)  # type: ignore[union-attr]
    return pool, target


def _proxied(
    proxy: str, url: str, scheme: str, host: str, port: int | None, tls: dict[str, Any], target: str
) -> tuple[HTTPConnectionPool, str]:
    """As requests sends through an http(s) proxy: the proxy makes the connections, so
    the deadline cannot cut them nor the address checks see them (docs/configuration.md)."""
    proxy = prepend_scheme_if_needed(proxy, "http")
    if urlsplit(proxy).scheme.lower() not in ("http", "https"):
        raise FetchError(f"proxy {urlsplit(proxy).scheme}: not supported (only http and https)")
    user, password = get_auth_from_url(proxy)
    headers = make_headers(proxy_basic_auth=f"{user}:{password}") if user else {}
    manager = ProxyManager(proxy, num_pools=1, maxsize=1, proxy_headers=headers)
    pool = manager.connection_from_host(host, port, scheme, pool_kwargs=tls)
    return pool, (target if scheme == "https" else urldefragauth(url))
