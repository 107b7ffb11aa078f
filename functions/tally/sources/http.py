"""The one way tally talks to the web: a bounded request with readable failures.

Every source kind goes through `fetch_url`, so every kind gets the same limits:

- **One hard deadline** (`timeout`) for the whole fetch: connecting, every retry and
  redirect, the headers and the body. requests' own timeouts are per socket operation,
  so a server that drips a byte a second would hold a source (and the tick, and its
  metrics) until the function is killed. The request runs in a worker thread; the
  caller stops waiting at the deadline and shuts the fetch's sockets down, so the
  worker ends too instead of lingering into the next tick.
- A 5 MiB cap on the (decoded) body: a URL pointing at a video, or a gzip bomb, must
  not exhaust the function's memory.
- Retries on connection errors only: a refused or reset connection is often a blip;
  a 500 or a timeout retried would only double the load on a struggling server.
- At most 5 redirects, each checked before anything connects: only http(s), never a
  link-local address or the cloud metadata server (a page could otherwise make the
  collector read its own credentials), and secret headers (`Authorization`, any
  header whose value came from `${env:...}`) never follow to another host.
  The source's own URL is trusted: people watch their own LAN.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
import threading
import time
import urllib.request
from collections.abc import Collection
from dataclasses import dataclass, field
from email.message import Message
from http import HTTPStatus
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.poolmanager import PoolManager
from urllib3.util.retry import Retry

MAX_BODY_BYTES = 5 * 1024 * 1024
MAX_REDIRECTS = 5
USER_AGENT = "tally/0.1 (+https://github.com/tally-dev/tally)"
CONNECT_RETRIES = 2
# Names and addresses that reach a cloud instance's metadata server (its credentials),
# beside every link-local address (169.254.169.254 is one).
METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata.goog", "metadata"})
METADATA_ADDRESSES = frozenset({ipaddress.ip_address("fd20:ce::254")})

# urllib3 logs each retry as an unstructured warning carrying the URL; tally logs the
# outcome itself (structured, redacted), so its own lines would only be noise.
logging.getLogger("urllib3").setLevel(logging.ERROR)


class FetchError(Exception):
    """A failed fetch. `reason` is what the user reads on the page and in `tally collect`."""

    def __init__(self, reason: str, *, status: int | None = None, latency_ms: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.latency_ms = latency_ms


class _DeadlinePassed(Exception):
    """Raised inside an abandoned fetch's worker: no new connection after the deadline."""


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    latency_ms: float
    headers: dict[str, str] = field(default_factory=dict)
    links: dict[str, dict[str, str]] = field(default_factory=dict)
    url: str = ""

    @property
    def charset(self) -> str | None:
        """The charset the Content-Type header declares, if any."""
        header = next((v for k, v in self.headers.items() if k.lower() == "content-type"), None)
        if not header:
            return None
        message = Message()
        message["content-type"] = header
        return message.get_content_charset()

    def text(self) -> str:
        """The body as text, decoded as a browser would: the header's charset, a BOM,
        `<meta charset>`, then detection (Beautiful Soup's UnicodeDammit does it)."""
        from bs4.dammit import UnicodeDammit  # ~50 ms: only checks that read the body pay

        charset = self.charset
        dammit = UnicodeDammit(
            self.body, known_definite_encodings=[charset] if charset else [], is_html=True
        )
        if dammit.unicode_markup is None:
            return self.body.decode("utf-8", errors="replace")
        return dammit.unicode_markup


# --- the deadline: every socket of a fetch, so that it can be cut --------------------


class _Fetch:
    """One fetch's sockets and deadline state, shared with the connections it opens."""

    def __init__(self, own_host: str | None):
        self.own_host = own_host
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def attach(self, sock: socket.socket) -> None:
        with self._lock:
            if not self.expired:
                self._sockets.append(sock)
                return
        _cut(sock)  # the deadline passed while this socket was connecting

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _cut(sock)


def _cut(sock: socket.socket) -> None:
    """Wake whatever waits on the socket (a blocked read returns at once)."""
    with contextlib.suppress(OSError):  # already closed: nothing waits on it
        socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain socket's, even under TLS


class _GuardedConnection:
    """A urllib3 connection that registers its socket with its fetch and, for any host
    but the source's own (a redirect's), refuses link-local and metadata addresses
    before connecting: the name is resolved and checked first, the peer after."""

    def __init__(self, *args: Any, tally_fetch: _Fetch, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._tally_fetch = tally_fetch

    def _new_conn(self) -> socket.socket:
        fetch = self._tally_fetch
        if fetch.expired:
            raise _DeadlinePassed()
        host: str = self.host  # type: ignore[attr-defined]
        foreign = host != fetch.own_host
        if foreign:
            _refuse_resolved(host, self.port)  # type: ignore[attr-defined]
        sock: socket.socket = super()._new_conn()  # type: ignore[misc]
        fetch.attach(sock)
        if foreign:
            peer = _internal_address(str(sock.getpeername()[0]))
            if peer is not None:
                _cut(sock)
                sock.close()
                raise FetchError(f"redirect to {host} refused: it resolves to {peer}")
        return sock


class _GuardedHTTPConnection(_GuardedConnection, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_GuardedConnection, HTTPSConnection):
    pass


_CONNECTIONS = {"http": _GuardedHTTPConnection, "https": _GuardedHTTPSConnection}


class _PoolManager(PoolManager):
    def __init__(self, *args: Any, tally_fetch: _Fetch, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._tally_fetch = tally_fetch

    def _new_pool(self, scheme: str, host: str, port: int, request_context: Any = None) -> Any:
        pool = super()._new_pool(scheme, host, port, request_context)
        pool.ConnectionCls = _CONNECTIONS[scheme]
        pool.conn_kw = {**pool.conn_kw, "tally_fetch": self._tally_fetch}
        return pool


class _Adapter(HTTPAdapter):
    def __init__(self, fetch: _Fetch, **kwargs: Any):
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


def _session(fetch: _Fetch) -> requests.Session:
    session = requests.Session()
    session.trust_env = _PROXIES_CONFIGURED
    retry = Retry(
        total=CONNECT_RETRIES,
        connect=CONNECT_RETRIES,
        read=0,
        status=0,
        other=0,
        redirect=0,
        backoff_factor=0.2,
        allowed_methods=None,
        raise_on_status=False,
    )
    adapter = _Adapter(fetch, max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


# --- where a redirect may lead ------------------------------------------------------


def _internal_address(text: str) -> str | None:
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


def _refused_redirect(url: str, own_host: str | None) -> str | None:
    """Why a redirect to `url` must not be followed, decided from the URL alone."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        return f"redirect to a {parts.scheme}: URL refused (only http and https are followed)"
    host = (parts.hostname or "").rstrip(".").lower()
    if host == own_host:
        return None
    if host in METADATA_HOSTS:
        return f"redirect to {host} refused (the cloud metadata server)"
    internal = _internal_address(host)
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
        internal = _internal_address(str(info[4][0]))
        if internal is not None:
            raise FetchError(f"redirect to {host} refused: it resolves to {internal}")


def _redirected_method(method: str, status: int) -> str:
    """What browsers (and requests) do: 303, and 302/301 after a POST, become GET."""
    if method != "HEAD" and (status in (302, 303) or (status == 301 and method == "POST")):
        return "GET"
    return method


# --- the fetch ------------------------------------------------------------------------


def _reason_for(exc: requests.RequestException, url: str, timeout: float) -> str:
    host = requests.utils.urlparse(url).hostname or url
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 12:
        chain.append(current)
        current = current.__cause__ or current.__context__
        if current is None and chain[-1].args and isinstance(chain[-1].args[-1], BaseException):
            current = chain[-1].args[-1]
    text = " ".join(repr(item) for item in chain)
    if isinstance(exc, requests.Timeout) or "timed out" in text:
        return f"timed out after {timeout:g}s"
    if (
        any(isinstance(item, socket.gaierror) for item in chain)
        or "NameResolution" in text
        or "Name or service not known" in text
        or "getaddrinfo" in text
    ):
        return f"host not found: {host}"
    if any(isinstance(item, ConnectionRefusedError) for item in chain) or "refused" in text:
        return f"connection refused by {host}"
    if isinstance(exc, requests.exceptions.SSLError):
        return f"TLS error talking to {host}"
    if isinstance(exc, requests.ConnectionError):
        return f"connection to {host} failed"
    return f"request failed: {type(exc).__name__}"


def _cap_reason() -> str:
    return f"response body over the {MAX_BODY_BYTES // 2**20} MiB cap"


def _request(
    fetch: _Fetch,
    url: str,
    *,
    method: str,
    headers: dict[str, str],
    secret_headers: Collection[str],
    params: dict[str, str] | None,
    deadline: float,
    timeout: float,
) -> Response:
    """The fetch itself, redirects followed by hand so that each hop is checked before
    it connects and a redirect's body is never read."""
    started = time.monotonic()
    secret = {name.lower() for name in secret_headers} | {"authorization"}
    with _session(fetch) as session:
        for hop in range(MAX_REDIRECTS + 1):
            remaining = max(deadline - time.monotonic(), 0.001)
            try:
                response = session.request(
                    method,
                    url,
                    headers=headers,
                    params=params if hop == 0 else None,
                    stream=True,
                    allow_redirects=False,
                    timeout=(remaining, remaining),
                )
            except requests.RequestException as exc:
                raise FetchError(_reason_for(exc, url, timeout)) from None
            with response:
                target = session.get_redirect_target(response)
                if target is None:
                    return _read(response, started, timeout, url)
            if hop == MAX_REDIRECTS:
                raise FetchError(
                    f"more than {MAX_REDIRECTS} redirects", status=response.status_code
                )
            following = urljoin(response.url, target)
            refused = _refused_redirect(following, fetch.own_host)
            if refused:
                raise FetchError(refused, status=response.status_code)
            if session.should_strip_auth(response.url, following):
                headers = {k: v for k, v in headers.items() if k.lower() not in secret}
            method = _redirected_method(method, response.status_code)
            url = following
    raise AssertionError("unreachable")  # pragma: no cover


def _read(response: requests.Response, started: float, timeout: float, url: str) -> Response:
    status = response.status_code
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise FetchError(_cap_reason(), status=status)
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_content(chunk_size=65536):
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise FetchError(_cap_reason(), status=status)
            chunks.append(chunk)
    except requests.RequestException as exc:
        raise FetchError(_reason_for(exc, url, timeout), status=status) from None
    return Response(
        status=status,
        body=b"".join(chunks),
        latency_ms=round((time.monotonic() - started) * 1000, 1),
        headers=dict(response.headers),
        links=dict(response.links),
        url=response.url,
    )


def fetch_url(
    url: str,
    *,
    headers: dict[str, str],
    timeout: float,
    method: str = "GET",
    params: dict[str, str] | None = None,
    allow_status: bool = False,
    secret_headers: Collection[str] = (),
) -> Response:
    """`method` `url`, finished (or given up) within `timeout` seconds in all.

    Raises FetchError for transport failures, the deadline, a refused redirect, an
    oversized body, and (unless `allow_status`) any status >= 400. `secret_headers`
    name the headers that must not follow a redirect to another host.
    """
    deadline = time.monotonic() + timeout
    fetch = _Fetch(own_host=(urlsplit(url).hostname or "").rstrip(".").lower() or None)
    outcome: list[Response | BaseException] = []

    def work() -> None:
        try:
            outcome.append(
                _request(
                    fetch,
                    url,
                    method=method,
                    headers={"User-Agent": USER_AGENT, **headers},
                    secret_headers=secret_headers,
                    params=params,
                    deadline=deadline,
                    timeout=timeout,
                )
            )
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, who decides
            outcome.append(exc)

    worker = threading.Thread(target=work, name="fetch-deadline", daemon=True)
    worker.start()
    worker.join(max(deadline - time.monotonic(), 0))
    if not outcome:
        fetch.expire()  # the worker's sockets are shut down: it ends promptly
        raise FetchError(f"timed out after {timeout:g}s")
    result = outcome[0]
    if isinstance(result, BaseException):
        raise result
    if not allow_status and result.status >= 400:
        raise FetchError(
            http_reason(result.status), status=result.status, latency_ms=result.latency_ms
        )
    return result


def http_reason(status: int) -> str:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "unknown status"
    return f"HTTP {status} {phrase}"
