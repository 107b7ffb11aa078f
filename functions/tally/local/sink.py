"""`tally local`'s notification sink: where every channel's messages go on this machine.

A loopback HTTP server that Apprise's `json://` posts to; each message it receives is
printed in the terminal, so an alert can be seen firing and resolving:

    alert     echo-health: down (unexpected HTTP 503 Service Unavailable) (rule: …) — …
    resolved  echo-health: resolved after 1m — up again (85.3 ms) (rule: …) — …
    new       Kanade's uploads (uploads): 【ピアノ】 piano #8207 (published …) — … — http://…

The stack points the collect function at it with TALLY_NOTIFY_REDIRECT, so a config
tried locally never pages anyone: its channels are named, not used.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Apprise's notify types: warning carries reminders, flapping and mixed digests; info
# carries "closed: removed from the config" and test messages.
LABELS = {"failure": "alert", "success": "resolved", "warning": "notice", "info": "info"}


def label_of(data: dict) -> str:
    """What a message is, in a word: by its notify type, and `new` for a new entry of a
    list (`announce`: its title says "New in …", a digest of them "… new entries")."""
    title = str(data.get("title", ""))
    news = title.startswith("New in ") or title.endswith((" new entry", " new entries"))
    if news and data.get("type") == "info":  # a digest with incidents in it is theirs
        return "new"
    return LABELS.get(str(data.get("type")), "message")


class NotificationSink:
    def __init__(self, port: int, say: Callable[[str], None]):
        self.received: list[dict[str, str]] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with contextlib.suppress(ValueError):
                    data = json.loads(body)
                    channel = self.path.strip("/") or "?"
                    sink.received.append({**data, "channel": channel})
                    label = label_of(data)
                    say(f"{label:<9} {data.get('message', '')}  [{channel}]")
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.url = f"json://127.0.0.1:{port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        if self.thread.is_alive():  # shutdown() waits for a loop that never started
            self.server.shutdown()
        self.server.server_close()
