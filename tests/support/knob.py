"""An upstream whose answers the test sets: `/v/<name>` serves `{"value": N}` with the
number set for that name, or the HTTP status set to fail it. Loopback only."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler

from tests.support.loopback import Loopback


class Knob:
    def __init__(self) -> None:
        self.values: dict[str, float] = {}
        self.failing: dict[str, int] = {}
        knob = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                name = self.path.removeprefix("/v/")
                status = knob.failing.get(name, 200 if name in knob.values else 404)
                body = json.dumps({"value": knob.values.get(name)}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.loopback = Loopback(Handler)
        self.url = self.loopback.url

    def set(self, name: str, value: float) -> None:
        self.values[name] = value
        self.failing.pop(name, None)

    def fail(self, name: str, status: int = 503) -> None:
        self.failing[name] = status

    def source(self, source_id: str, **fields: object) -> dict:
        """A `json` source on this knob, due every minute unless told otherwise."""
        return {
            "id": source_id,
            "kind": "json",
            "url": f"{self.url}/v/{source_id}",
            "query": "value",
            "every": "1m",
            **fields,
        }

    def stop(self) -> None:
        self.loopback.stop()
