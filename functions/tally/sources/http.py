"""The one way tally talks to the web: a bounded request with readable failures.

Every source kind goes through `fetch_url`, so every kind gets the same limits:

- **One hard deadline** (`timeout`) for the whole fetch: connecting, every retry and
  redirect, the headers and the body. urllib3's own timeouts are per socket operation,
  so a server that drips a byte a second would hold a source (and the tick, and its
  metrics) until the function is killed. At the deadline one shared thread shuts the
  fetch's sockets down (`sources/connections.py`, Reaper): a blocked read returns at
  once and the fetch fails as timed out, and nothing lingers into the next tick. (A
  name lookup cannot be cut; the collector stops waiting for a source at its timeout
  plus 0.5 s whatever it is doing.)
- A 5 MiB cap on the (decoded) body: a URL pointing at a video, or a gzip bomb, must
  not exhaust the function's memory.
- Retries only of a connection that never opened, and only when its failure is not
  permanent (`FetchError.permanent`): a refused connection or a resolver that could
  not answer is often a blip, a name that does not exist is not; a request that
  reached the server (a 500, a timeout, a reset) is never sent twice, which would only
  double the load on a struggling server.
- At most 5 redirects, each checked before anything connects: only http(s), never a
  link-local address or the cloud metadata server (a page could otherwise make the
  collector read its own credentials), and secret headers (`Authorization`, any
  header whose value came from `${env:...}`) never follow to another host.
  The source's own URL is trusted: people watch their own LAN.
"""

from __future__ import annotations

import logging
import socket
import ssl
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from email.message import Message
from http import HTTPStatus
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.cookies import RequestsCookieJar, extract_cookies_to_jar, get_cookie_header
from requests.models import PreparedRequest
from requests.sessions import SessionRedirectMixin
from requests.utils import check_header_validity, default_headers, parse_header_links
from urllib3 import BaseHTTPResponse, HTTPConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.exceptions import SSLError as TLSFailure
from urllib3.util import Timeout

from tally.sources import bodies
from tally.sources.bodies import SMALL_BODY_BYTES
from tally.sources.connections import (
    REAPER,
    FetchSockets,
    authorization_for,
    keeps_connections,
    pool_for,
    redirected_method,
    refused_redirect,
)
from tally.sources.failure import FetchError, status_is_permanent
from tally.sources.hosts import host_of
from tally.sources.kept import KeptConnections
from tally.sources.kept import current as kept_connections
from tally.sources.model import UrlSource

MAX_BODY_BYTES = 5 * 1024 * 1024
MAX_REDIRECTS = 5
USER_AGENT = "tally/0.1 (+https://github.com/tally-dev/tally)"
CONNECT_RETRIES = 2
# Pauses before the retries of a connection, as urllib3's Retry(backoff_factor=0.2)
# spaces them: the first at once, the next 0.4 s later; the deadline bounds them all.
CONNECT_BACKOFF = (0.0, 0.4)
# The resolver's "this name does not exist" (NXDOMAIN, no address): asking again within
# the same second gives the same answer. A failure to ask (EAI_AGAIN) may not.
NO_SUCH_NAME = frozenset(
    code for code in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", None)) if code is not None
)

# urllib3 logs each retry as an unstructured warning carrying the URL; tally logs the
# outcome itself (structured, redacted), so its own lines would only be noise.
logging.getLogger("urllib3").setLevel(logging.ERROR)


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    latency_ms: float
    headers: dict[str, str] = field(default_factory=dict)
    links: dict[str, dict[str, str]] = field(default_factory=dict)
    url: str = ""
    # the fetch's own deadline (time.monotonic) and timeout: reading the body
    # (sources/readers.py) must end by the same deadline
    deadline: float = 0.0
    timeout: float = 0.0

    @property
    def charset(self) -> str | None:
        """The charset the Content-Type header declares, if any."""
        header = next((v for k, v in self.headers.items() if k.lower() == "content-type"), None)
        if not header:
            return None
        message = Message()
        message["content-type"] = header
        return message.get_content_charset()


# --- failures -------------------------------------------------------------------------


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and what it wraps: urllib3 and requests nest the socket's error
    in `__cause__`, `reason` (MaxRetryError) or their arguments."""
    chain: list[BaseException] = []
    pending: list[BaseException] = [exc]
    while pending and len(chain) < 16:
        current = pending.pop(0)
        if any(current is seen for seen in chain):
            continue
        chain.append(current)
        wrapped = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        wrapped += [arg for arg in current.args if isinstance(arg, BaseException)]
        pending += [item for item in wrapped if isinstance(item, BaseException)]
    return chain


def _failure_of(exc: BaseException, url: str, timeout: float) -> FetchError:
    """What a person reads about a transport failure, and whether it is permanent;
    decided by the types of the errors, never by their text (which quotes the URL)."""
    host = urlsplit(url).hostname or url
    chain = _causes(exc)

    def found(*types: type[BaseException]) -> BaseException | None:
        return next((item for item in chain if isinstance(item, types)), None)

    if found(socket.gaierror, NameResolutionError):
        # the resolver says whether the name does not exist or it could not tell now
        lookup = found(socket.gaierror)
        gone = isinstance(lookup, socket.gaierror) and lookup.errno in NO_SUCH_NAME
        return FetchError(f"host not found: {host}", permanent=gone)
    if found(ConnectionRefusedError):
        return FetchError(f"connection refused by {host}", permanent=False)
    # (urllib3's NewConnectionError is a ConnectTimeoutError: refused and lookups first)
    connect_timeout = isinstance(exc, ConnectTimeoutError) and not isinstance(
        exc, NewConnectionError
    )
    if connect_timeout or found(TimeoutError, ReadTimeoutError, requests.Timeout):
        return FetchError(f"timed out after {timeout:g}s", permanent=False)
    if found(requests.exceptions.SSLError, ssl.SSLError, TLSFailure):
        # a certificate that does not match, an unknown authority: the same next time
        return FetchError(f"TLS error talking to {host}", permanent=True)
    if isinstance(exc, requests.RequestException):  # an OSError too, but not the network's
        broken = isinstance(exc, requests.ConnectionError)
    else:
        broken = isinstance(exc, (NewConnectionError, ProtocolError, OSError))
    if broken:
        return FetchError(f"connection to {host} failed", permanent=False)
    return FetchError(f"request failed: {type(exc).__name__}", permanent=False)


def _never_connected(exc: BaseException) -> bool:
    """The request failed before a connection opened (refused, no such host, no answer
    to the connect): nothing reached the server, so sending it again is safe."""
    return isinstance(exc, ConnectTimeoutError)  # urllib3's; NewConnectionError is one


# What requests sends unless told otherwise (the encodings urllib3 can decode, */*,
# keep-alive); the User-Agent is tally's own.
BASE_HEADERS = dict(default_headers())
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# How requests decides that a redirect must lose the Authorization header: another
# host, or another port or scheme (but http: to https: on the default ports).
_moves_elsewhere = SessionRedirectMixin.should_strip_auth


def _cap_failure(status: int) -> FetchError:
    return FetchError(f"response body over the {MAX_BODY_BYTES // 2**20} MiB cap", status=status)


# --- the fetch ------------------------------------------------------------------------


@dataclass
class _Hop:
    """One request of a fetch, as requests would have prepared it: its URL (params
    encoded, quoted as requests quotes it) and every header it carries."""

    method: str
    url: str
    headers: dict[str, str]


def _prepare(
    method: str,
    url: str,
    headers: dict[str, str],
    params: dict[str, str] | None,
    cookies: RequestsCookieJar | None,
) -> _Hop:
    prepared = PreparedRequest()
    prepared.prepare_url(url, params)
    merged = {name.lower(): (name, value) for name, value in BASE_HEADERS.items()}
    merged.update({name.lower(): (name, value) for name, value in headers.items()})
    sent = dict(merged.values())
    for header in sent.items():
        check_header_validity(header)  # no line break smuggled into a request
    hop = _Hop(method, str(prepared.url), sent)
    if cookies and "cookie" not in merged:  # set by an earlier hop, for this host
        cookie = get_cookie_header(cookies, hop)  # type: ignore[arg-type]
        if cookie:
            sent["Cookie"] = cookie
    authorization = authorization_for(hop.url)
    if authorization:
        sent.pop(merged.get("authorization", ("Authorization",))[0], None)
        sent["Authorization"] = authorization
    return hop


def _send(
    fetch: FetchSockets,
    hop: _Hop,
    url: str,
    *,
    deadline: float,
    timeout: float,
    kept: KeptConnections | None = None,
) -> tuple[HTTPConnectionPool, BaseHTTPResponse]:
    """One request, its redirect not followed; a connection that never opened is tried
    again (CONNECT_RETRIES times) unless its failure is permanent. With `kept`, the
    request goes on a connection an earlier fetch of the host left, if there is one;
    if the server closed it meanwhile (no answer at all), at once on a new one. A
    failure names the host as `url` (as written, not IDNA-encoded) does."""
    reused = kept.take(host_of(hop.url)) if kept is not None else None
    attempt = 0
    while True:
        remaining = max(deadline - time.monotonic(), 0.001)
        try:
            pool, target = pool_for(fetch, hop.url, reused)
            response = pool.urlopen(
                hop.method,
                target,
                headers=hop.headers,
                retries=False,  # tally retries (above), urllib3 raises what failed
                redirect=False,
                assert_same_host=False,
                preload_content=False,
                release_conn=False,
                timeout=Timeout(connect=remaining, read=remaining),
            )
            return pool, response
        except (HTTPError, OSError) as exc:
            if reused is not None and isinstance(exc, ProtocolError) and not fetch.expired:
                reused = None  # closed while it idled: nothing was answered
                continue
            failure = _failure_of(exc, url, timeout)
            if failure.permanent or not _never_connected(exc) or attempt == CONNECT_RETRIES:
                raise failure from None
        attempt += 1
        time.sleep(min(CONNECT_BACKOFF[attempt - 1], max(deadline - time.monotonic(), 0)))


def _leave(kept: KeptConnections, url: str, pool: HTTPConnectionPool, fetch: FetchSockets) -> None:
    """Leave the connection of an answer read to its end for the tick's next fetch of
    the host (urllib3 put it back in its pool when the body ended: else it is closed
    with the response); not one the server is closing, nor one the deadline may cut."""
    connection = pool.pool.get_nowait() if pool.pool is not None and pool.pool.qsize() else None
    if connection is None:
        return
    if connection.sock is not None and fetch.let_go():
        kept.give(host_of(url), connection)
    else:
        connection.close()


def _redirect_target(response: BaseHTTPResponse) -> str | None:
    location = response.headers.get("Location")
    if location is None or response.status not in REDIRECT_STATUSES:
        return None
    return location.encode("latin1").decode("utf8", "replace")  # as requests reads it


def _request(
    fetch: FetchSockets,
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
    it connects and a redirect's body is never read. Cookies a redirect sets go with
    the next hop, as within a requests session."""
    started = time.monotonic()
    secret = {name.lower() for name in secret_headers} | {"authorization"}
    cookies: RequestsCookieJar | None = None
    # the tick's kept connections serve the first request (the source's own host) of
    # a GET or HEAD (sources/kept.py)
    kept = kept_connections() if method in ("GET", "HEAD") and keeps_connections() else None
    for hop_number in range(MAX_REDIRECTS + 1):
        try:
            hop = _prepare(method, url, headers, params if hop_number == 0 else None, cookies)
        except requests.RequestException as exc:  # a URL or a header requests refuses
            raise _failure_of(exc, url, timeout) from None
        keeping = kept if hop_number == 0 else None
        pool, response = _send(fetch, hop, url, deadline=deadline, timeout=timeout, kept=keeping)
        try:
            target = _redirect_target(response)
            if target is None:
                answer = _read(response, hop.url, started, deadline, timeout, url)
                if keeping is not None:
                    _leave(keeping, hop.url, pool, fetch)
                return answer
            if response.headers.get("Set-Cookie"):
                cookies = cookies if cookies is not None else RequestsCookieJar()
                extract_cookies_to_jar(cookies, hop, response)  # type: ignore[arg-type]
        finally:
            response.close()
            pool.close()
        if hop_number == MAX_REDIRECTS:
            raise FetchError(f"more than {MAX_REDIRECTS} redirects", status=response.status)
        following = urljoin(hop.url, target)
        refused = refused_redirect(following, fetch.own_host)
        if refused:
            raise FetchError(refused, status=response.status)
        if _moves_elsewhere(None, hop.url, following):  # type: ignore[arg-type]
            headers = {k: v for k, v in headers.items() if k.lower() not in secret}
        method = redirected_method(method, response.status)
        url = following
    raise AssertionError("unreachable")  # pragma: no cover


def _links(response: BaseHTTPResponse) -> dict[str, dict[str, str]]:
    """The Link header by rel (requests' Response.links): GitHub's pagination."""
    header = response.headers.get("Link")
    links: dict[str, dict[str, str]] = {}
    for link in parse_header_links(header) if header else ():
        key = link.get("rel") or link.get("url")
        if key is not None:
            links[key] = link
    return links


def _read(
    response: BaseHTTPResponse,
    sent_to: str,
    started: float,
    deadline: float,
    timeout: float,
    url: str,
) -> Response:
    status = response.status
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _cap_failure(status)
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.stream(65536, decode_content=True):
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise _cap_failure(status)
            if size > SMALL_BODY_BYTES:  # one of a few large bodies held at once
                bodies.hold_large(deadline, timeout)
            chunks.append(chunk)
    except (HTTPError, OSError) as exc:
        failure = _failure_of(exc, url, timeout)
        failure.status = status
        raise failure from None
    return Response(
        status=status,
        body=b"".join(chunks),
        latency_ms=round((time.monotonic() - started) * 1000, 1),
        headers=dict(response.headers),
        links=_links(response),
        url=sent_to,
        deadline=deadline,
        timeout=timeout,
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
    fetch = FetchSockets(own_host=(urlsplit(url).hostname or "").rstrip(".").lower() or None)
    timed_out = FetchError(f"timed out after {timeout:g}s", permanent=False)
    REAPER.watch(deadline, fetch)
    try:
        with bodies.scope():  # a large body's turn, unless the caller's scope holds it
            result = _request(
                fetch,
                url,
                method=method,
                headers={"User-Agent": USER_AGENT, **headers},
                secret_headers=secret_headers,
                params=params,
                deadline=deadline,
                timeout=timeout,
            )
    except bodies.NoTurn:
        raise  # the deadline passed while it waited: the reason says so
    except Exception:
        if fetch.expired:  # whatever broke, the deadline broke it first
            raise timed_out from None
        raise
    finally:
        fetch.finished = True
    if fetch.expired:  # the deadline cut the body short: what was read is not the page
        raise timed_out
    if not allow_status and result.status >= 400:
        raise http_failure(result.status, latency_ms=result.latency_ms)
    return result


def fetch_source(
    source: UrlSource, headers: dict[str, str], *, accept: str | None = None, **options: Any
) -> Response:
    """`fetch_url` of a source's own URL: its timeout, and its `${env:...}` headers
    kept from other hosts, so that no kind can forget either. `options` go to fetch_url."""
    sent = headers if accept is None else {"Accept": accept, **headers}
    return fetch_url(
        source.url,
        headers=sent,
        timeout=source.timeout.total_seconds(),
        secret_headers=source.secret_header_names(),
        **options,
    )


def http_reason(status: int) -> str:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "unknown status"
    return f"HTTP {status} {phrase}"


def http_failure(status: int, *, latency_ms: float | None = None) -> FetchError:
    """A status >= 400 as a failure: permanent for a 4xx (but 408, 425, 429)."""
    return FetchError(
        http_reason(status),
        permanent=status_is_permanent(status),
        status=status,
        latency_ms=latency_ms,
    )
