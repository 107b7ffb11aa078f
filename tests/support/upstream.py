"""A local web server with real-shaped payloads for every source kind and failure mode.

Served on a free loopback port from a thread; it records the headers of every request
so tests can prove a token arrived.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

GITHUB_REPO = {
    "id": 1296269,
    "name": "tally",
    "full_name": "tally-dev/tally",
    "owner": {"login": "tally-dev", "id": 1, "type": "Organization"},
    "private": False,
    "html_url": "https://github.com/tally-dev/tally",
    "default_branch": "main",
    "stargazers_count": 1523,
    "watchers_count": 1523,
    "subscribers_count": 42,
    "forks_count": 87,
    "open_issues_count": 12,
    "language": "Python",
}

SHOP_PAGE = """<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><title>Black Lotus | Card Shop</title>
<script type="application/ld+json">
{"@context": "https://schema.org", "@type": "Product", "name": "Black Lotus",
 "offers": {"@type": "Offer", "priceCurrency": "JPY", "price": "1980000",
            "availability": "https://schema.org/InStock"}}
</script></head>
<body><div class="product"><h1>ブラック・ロータス</h1>
<p class="price">¥1,980,000 <small>(税込)</small></p>
<span itemprop="price" content="1980000.00">¥1,980,000</span>
<p class="stock">在庫: わずか</p></div></body></html>
"""

EURO_PAGE = """<html><body><div id="preis">Preis: 1.234,56 €</div></body></html>"""


class Upstream:
    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.counter = 1234
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _send(
                self,
                status: int,
                body: bytes | str,
                ctype: str = "application/json",
                headers: dict[str, str] | None = None,
            ) -> None:
                data = body.encode() if isinstance(body, str) else body
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                if self.command != "HEAD":
                    # the client may give up: the timeout tests do that on purpose
                    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                        self.wfile.write(data)

            def do_HEAD(self) -> None:
                self.do_GET()

            def do_POST(self) -> None:
                self.do_GET()

            def do_GET(self) -> None:
                url = urlparse(self.path)
                query = parse_qs(url.query)
                upstream.requests.append((self.path, dict(self.headers.items())))
                path = url.path
                if path == "/counter":
                    self._send(
                        200,
                        json.dumps({"data": {"count": upstream.counter, "label": "1,234 clicks"}}),
                    )
                elif path == "/shop":
                    self._send(200, SHOP_PAGE, "text/html; charset=utf-8")
                elif path == "/euro":
                    self._send(200, EURO_PAGE, "text/html; charset=utf-8")
                elif path == "/health":
                    delay = float(query.get("delay", ["0"])[0])
                    time.sleep(delay)
                    self._send(200, json.dumps({"status": "pong"}))
                elif path == "/slow":
                    time.sleep(float(query.get("seconds", ["5"])[0]))
                    self._send(200, json.dumps({"value": 1}))
                elif path.startswith("/status/"):
                    code = int(path.rsplit("/", 1)[1])
                    self._send(code, json.dumps({"message": "nope"}))
                elif path == "/malformed":
                    self._send(200, '{"data": {"count": 12,,}')
                elif path == "/text":
                    self._send(200, json.dumps({"data": {"count": "sold out"}}))
                elif path == "/big":
                    chunk = b" " * 65536
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    try:
                        for _ in range(6 * 16 + 1):  # a little over 6 MiB, no length
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        self.wfile.write(b"0\r\n\r\n")
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                elif path == "/github/repos/tally-dev/tally":
                    self._send(200, json.dumps(GITHUB_REPO))
                elif path == "/github/repos/tally-dev/tally/commits":
                    base = f"http://{self.headers['Host']}/github/repositories/1296269/commits"
                    link = (
                        f'<{base}?per_page=1&page=2>; rel="next", '
                        f'<{base}?per_page=1&page=4711>; rel="last"'
                    )
                    self._send(200, json.dumps([{"sha": "abc"}]), headers={"Link": link})
                elif path == "/github/repos/tally-dev/empty/commits":
                    self._send(200, "[]")
                else:
                    self._send(404, json.dumps({"message": "Not Found"}))

        class Server(ThreadingHTTPServer):
            request_queue_size = 256  # 50 sources connect at once; the default backlog is 5

            def handle_error(self, request: object, client_address: object) -> None:
                pass  # clients hang up on purpose in the timeout and size-cap tests

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def headers_for(self, path_prefix: str) -> list[dict[str, str]]:
        return [headers for path, headers in self.requests if path.startswith(path_prefix)]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
