"""A loopback web server of fixed pages (path → content type and bytes) that counts the
requests it answers: what `tally try` reads in the tests."""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer

from tests.support.loopback import QuietHandler


class Pages:
    """Serves `pages` on 127.0.0.1 (a free port) from a thread; 404 for any other path."""

    def __init__(self, pages: dict[str, tuple[str, bytes]]):
        self.pages = pages
        self.requests: list[str] = []
        served = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                served.requests.append(self.path)
                content_type, body = served.pages.get(self.path, ("text/plain", b"not here"))
                self.send_body(body, content_type, 200 if self.path in served.pages else 404)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
