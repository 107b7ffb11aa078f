"""Where notifications land in the tests: a loopback HTTP receiver behind Apprise's
`json://` and `form://` URLs, and a real SMTP server (aiosmtpd) behind `mailto://`.

Both record exactly what arrived, so tests assert on real deliveries: their count and
their text. The HTTP receiver can also refuse connections (its socket closed), answer
500, or answer late (a message counts as arrived when its request is read, before the
late answer), to test retries.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import json
import threading
import time
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from tests.support.processes import free_port


@dataclass(frozen=True)
class Received:
    path: str
    content_type: str
    data: dict[str, str]  # the JSON object, or the form's fields

    @property
    def title(self) -> str:
        return self.data.get("title", "")

    @property
    def message(self) -> str:
        return self.data.get("message", "")

    @property
    def type(self) -> str:
        return self.data.get("type", "")


class Receiver:
    """An HTTP server on 127.0.0.1 recording every POST; `mode` is ok, error or down."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[Received] = []
        self.status = 200
        self.delay = 0.0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.up()

    def url(self, scheme: str = "json", path: str = "/hook") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                ctype = self.headers.get("Content-Type", "")
                if "json" in ctype:
                    data = json.loads(body)
                else:
                    data = {k: v[0] for k, v in parse_qs(body.decode("utf-8")).items()}
                status = receiver.status
                if status < 300:  # counted when it arrives, however late the answer
                    with receiver._lock:
                        receiver.received.append(Received(self.path, ctype, data))
                time.sleep(receiver.delay)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        return Handler

    def up(self, status: int = 200, delay: float = 0.0) -> None:
        """Accept and answer `status` (a message counts as received only below 300)."""
        self.status, self.delay = status, delay
        if self._server is None:
            self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
            self._server.daemon_threads = True
            threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def down(self) -> None:
        """Close the socket: connections are refused until `up()`."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def take(self) -> list[Received]:
        with self._lock:
            taken, self.received = self.received, []
        return taken


class SmtpServer:
    """aiosmtpd on 127.0.0.1, no TLS, no auth: what arrived is in `messages`."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[Message] = []
        outer = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                outer.messages.append(
                    email.message_from_bytes(envelope.content, policy=email.policy.default)
                )
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def url(self, to: str = "me@example.com") -> str:
        return f"mailto://127.0.0.1:{self.port}?from=tally@example.com&to={to}"

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.controller.stop()
