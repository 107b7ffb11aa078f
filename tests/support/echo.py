"""An upstream that gives back what it was sent, in every way a real server may: in the
text a selector reads, in an error page, in a redirect's Location, in a header.

Used to prove that a secret sent in a header or a URL never comes back out of tally.
Loopback only; every request is recorded (path and headers).
"""

from __future__ import annotations

import html
import json
from urllib.parse import parse_qs, quote, urlparse

from tests.support.loopback import Loopback, QuietHandler

# request headers every fetch sends: not echoed, so the echo starts with what matters
ORDINARY = {"host", "user-agent", "accept", "accept-encoding", "connection"}


class Echo:
    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        echo = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                echo.requests.append((self.path, dict(self.headers.items())))
                url = urlparse(self.path)
                sent = [v for values in parse_qs(url.query).values() for v in values]
                sent += [v for k, v in self.headers.items() if k.lower() not in ORDINARY]
                words = " ".join([*sent, self.path])  # decoded, and as the URL had it
                route = url.path.strip("/")
                status, ctype, body, extra = 200, "application/json", b"", {}
                if route == "json":  # the value the JMESPath reads
                    body = json.dumps({"value": words}).encode()
                elif route == "html":  # the element the selector reads
                    ctype = "text/html; charset=utf-8"
                    body = f'<html><body><p class="v">{html.escape(words)}</p></body></html>'
                    body = body.encode()
                elif route == "error":  # an error page telling everything
                    status, ctype = 500, "text/plain; charset=utf-8"
                    body = f"Internal error while handling {words}".encode()
                elif route == "check":  # a health check that answers something else
                    ctype = "text/plain; charset=utf-8"
                    body = f"not the expected answer but {words}".encode()
                elif route == "notjson":  # a body that is no JSON
                    body = f"<{words}>".encode()
                elif route == "redirect":  # what was sent, moved into the next URL
                    status = 302
                    extra["Location"] = "/json?moved=" + quote(" ".join(sent), safe="")
                else:
                    status = 404
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for value in sent[:4]:  # and in headers, as far as a header can hold it
                    self.send_header("X-Echo", value.encode("latin-1", "replace").decode("latin-1"))
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

        self.loopback = Loopback(Handler)
        self.url = self.loopback.url

    def stop(self) -> None:
        self.loopback.stop()
