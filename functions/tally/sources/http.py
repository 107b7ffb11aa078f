"""The one way tally talks to the web: a bounded GET with readable failures.

Every source kind goes through `fetch_url`, so every kind gets the same limits: a
total deadline (requests' own timeout is per socket operation, so a slow drip could
otherwise run forever), a 5 MiB cap on the body (a misconfigured URL pointing at a
video must not exhaust the function's memory), and retries on connection errors only
(a refused or reset connection is often a blip; a 500 or a timeout retried would just
double the load on a struggling server and the tick's duration).
"""

from __future__ import annotations

import logging
import socket
import time
import urllib.request
from dataclasses import dataclass, field
from http import HTTPStatus

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

MAX_BODY_BYTES = 5 * 1024 * 1024
USER_AGENT = "tally/0.1 (+https://github.com/tally-dev/tally)"
CONNECT_RETRIES = 2

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


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    latency_ms: float
    headers: dict[str, str] = field(default_factory=dict)
    links: dict[str, dict[str, str]] = field(default_factory=dict)

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


# requests re-reads the proxy variables and ~/.netrc on every request when it trusts
# the environment: a quarter of a fetch's CPU, serialised under the GIL when 50 sources
# go out at once. Trust it only when a proxy is actually configured.
_PROXIES_CONFIGURED = bool(urllib.request.getproxies())


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = _PROXIES_CONFIGURED
    retry = Retry(
        total=CONNECT_RETRIES,
        connect=CONNECT_RETRIES,
        read=0,
        status=0,
        other=0,
        redirect=5,
        backoff_factor=0.2,
        allowed_methods=None,
        raise_on_status=False,
    )
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


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
    if isinstance(exc, requests.TooManyRedirects):
        return "too many redirects"
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


def fetch_url(
    url: str,
    *,
    headers: dict[str, str],
    timeout: float,
    method: str = "GET",
    params: dict[str, str] | None = None,
    allow_status: bool = False,
) -> Response:
    """GET (or HEAD/POST) `url` within `timeout` seconds in total.

    Raises FetchError for transport failures, an oversized body, and (unless
    `allow_status`) any status >= 400.
    """
    started = time.monotonic()
    deadline = started + timeout
    sent = {"User-Agent": USER_AGENT, **headers}
    try:
        with _session() as session:
            response = session.request(
                method,
                url,
                headers=sent,
                params=params,
                stream=True,
                timeout=(timeout, timeout),
            )
            with response:
                declared = response.headers.get("Content-Length")
                if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
                    raise FetchError(
                        f"response body over the {MAX_BODY_BYTES // 2**20} MiB cap",
                        status=response.status_code,
                    )
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_content(chunk_size=65536):
                    size += len(chunk)
                    if size > MAX_BODY_BYTES:
                        raise FetchError(
                            f"response body over the {MAX_BODY_BYTES // 2**20} MiB cap",
                            status=response.status_code,
                        )
                    if time.monotonic() > deadline:
                        raise requests.Timeout()
                    chunks.append(chunk)
    except requests.RequestException as exc:
        raise FetchError(_reason_for(exc, url, timeout)) from None
    latency_ms = round((time.monotonic() - started) * 1000, 1)
    result = Response(
        status=response.status_code,
        body=b"".join(chunks),
        latency_ms=latency_ms,
        headers=dict(response.headers),
        links=dict(response.links),
    )
    if not allow_status and response.status_code >= 400:
        raise FetchError(
            http_reason(response.status_code), status=response.status_code, latency_ms=latency_ms
        )
    return result


def http_reason(status: int) -> str:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "unknown status"
    return f"HTTP {status} {phrase}"
