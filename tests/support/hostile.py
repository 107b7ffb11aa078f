"""Loopback servers that behave as the real web sometimes does: drip bytes, stall
headers, never accept a connection, redirect in loops, across hosts and towards
internal addresses, serve pages in legacy charsets, and gzip bombs.

`Hostile` records every request (path and headers) and when a dripping response's
client went away, so tests can prove a fetch let go of the connection.
"""

from __future__ import annotations

import contextlib
import gzip
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from tests.support.loopback import QuietHandler

DRIP_INTERVAL = 0.25  # seconds between two bytes of a dripping response


@dataclass
class Page:
    body: bytes
    content_type: str = "text/html"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


class Hostile:
    def __init__(self, port: int = 0) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.pages: dict[str, Page] = {}
        self.let_go = threading.Event()  # a dripping response's client disconnected
        self._bomb: bytes | None = None
        server = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                server.requests.append((self.path, dict(self.headers.items())))
                url = urlparse(self.path)
                query = {key: values[0] for key, values in parse_qs(url.query).items()}
                name = url.path.strip("/").replace("-", "_").replace("/", "_")
                route = getattr(server, "_route_" + name, None)
                if url.path in server.pages:
                    self._page(server.pages[url.path])
                elif route is not None:
                    route(self, query)
                else:
                    self._page(Page(b"not here", "text/plain", 404))

            do_HEAD = do_GET

            def _page(self, page: Page) -> None:
                self.send_response(page.status)
                self.send_header("Content-Type", page.content_type)
                self.send_header("Content-Length", str(len(page.body)))
                for key, value in page.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                if self.command != "HEAD":
                    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                        self.wfile.write(page.body)

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 128

            def handle_error(self, request: object, client_address: object) -> None:
                pass  # clients give up on purpose here

        self.server = Server(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    # --- routes (path /a-b/c → _route_a_b_c) --------------------------------------------

    def _drip(self, handler: BaseHTTPRequestHandler, data: bytes, seconds: float) -> None:
        ends = time.monotonic() + seconds
        try:
            for byte in data:
                if time.monotonic() > ends:
                    return
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
                time.sleep(DRIP_INTERVAL)
        except OSError:
            self.let_go.set()

    def _route_drip_body(self, handler: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        """Headers at once, then the body one byte at a time."""
        body = b'{"value": 1}' + b" " * 10_000
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.flush()
        self._drip(handler, body, float(query.get("seconds", "30")))

    def _route_drip_headers(self, handler: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        """The status line and headers one byte at a time, never finished."""
        head = b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"a" * 10_000 + b"\r\n"
        self._drip(handler, head, float(query.get("seconds", "30")))

    def _route_loop(self, handler: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        """A redirect to itself, for ever."""
        handler._page(Page(b"", status=302, headers={"Location": "/loop"}))  # type: ignore[attr-defined]

    def _route_redirect(self, handler: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        """A redirect to `to` (any URL), with `status` (default 302)."""
        status = int(query.get("status", "302"))
        handler._page(Page(b"", status=status, headers={"Location": query["to"]}))  # type: ignore[attr-defined]

    def _route_headers(self, handler: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        """A JSON counter (the redirects' destination)."""
        handler._page(Page(b'{"count": 7}', "application/json"))  # type: ignore[attr-defined]

    def _route_bomb(self, handler: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        """64 KB on the wire that inflate to 64 MiB."""
        if self._bomb is None:
            self._bomb = gzip.compress(b"\0" * (64 * 2**20), compresslevel=9)
        page = Page(self._bomb, "application/json", headers={"Content-Encoding": "gzip"})
        handler._page(page)  # type: ignore[attr-defined]

    def _route_github_repos_tally_dev_void_commits(
        self, handler: BaseHTTPRequestHandler, query: dict[str, str]
    ) -> None:
        """GitHub's answer for an empty repository."""
        body = b'{"message": "Git Repository is empty.", "status": "409"}'
        handler._page(Page(body, "application/json", 409))  # type: ignore[attr-defined]

    # --- helpers ---------------------------------------------------------------------

    def serve(self, path: str, body: bytes | str, content_type: str = "text/html") -> str:
        """Serve `body` at `path`; returns its URL."""
        data = body.encode() if isinstance(body, str) else body
        self.pages[path] = Page(data, content_type)
        return self.url + path

    def paths(self, prefix: str) -> list[str]:
        return [path for path, _ in self.requests if path.startswith(prefix)]

    def headers_for(self, prefix: str) -> list[dict[str, str]]:
        return [headers for path, headers in self.requests if path.startswith(prefix)]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Unaccepting:
    """A loopback port whose listen queue is full: a connect to it hangs (its SYN is
    dropped), as to a host that has gone silent."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(0)
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.filler = socket.create_connection(("127.0.0.1", self.port), timeout=2)

    def stop(self) -> None:
        self.filler.close()
        self.listener.close()
