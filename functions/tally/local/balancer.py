"""What Cloud Run does in front of a function's instances, for `tally local --workers N`:
each request goes to an instance that is not busy with another, one at a time
(`max_instance_request_concurrency = 1`, terraform/functions.tf), and waits for one when
every instance is busy.

Without it the N instances were gunicorn's worker processes behind one port. A worker
keeps the connection it accepted, and the Pub/Sub emulator pushes on the two
connections it keeps: when one worker held both, it ran two shards of a tick at once on
one core while another idled (2.1-2.9 s for a tick of 1,000 sources that otherwise
took 1.2-1.7 s; docs/benchmarks.md). Here each instance is a functions-framework
process of its own, and the balancer, in `tally local`'s process, keeps the emulator's
connections and hands each request to a free instance.
"""

from __future__ import annotations

import http.client
import queue
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from tally.local.parts import function
from tally.local.ports import HOST, ephemeral
from tally.local.supervisor import Part

# Headers of one connection, not of the request: never passed on (RFC 9110, 7.6.1);
# Server and Date the balancer's answer has of its own.
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding"}
    | {"upgrade"}
)
OWN = frozenset({"server", "date", "content-length"})
TIMEOUT = 3600.0  # longer than any function's own timeout: the function decides


class Balancer:
    """One request at a time to each of `instances` (base URLs), on 127.0.0.1:`port`."""

    def __init__(self, port: int, instances: list[str]) -> None:
        self._free: queue.SimpleQueue[str] = queue.SimpleQueue()
        for instance in instances:
            self._free.put(instance)
        balancer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep the emulator's connections open

            def do_POST(self) -> None:
                balancer._forward(self)

            do_GET = do_POST

            def log_message(self, format: str, *args: object) -> None:
                pass  # each instance logs its own requests

        self._server = ThreadingHTTPServer((HOST, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _forward(self, request: BaseHTTPRequestHandler) -> None:
        body = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        instance = self._free.get()  # waits while every instance is busy
        try:
            address = urlsplit(instance)
            connection = http.client.HTTPConnection(
                address.hostname or HOST, address.port, timeout=TIMEOUT
            )
            try:
                connection.request(request.command, request.path, body, headers)
                answer = connection.getresponse()
                status, reason, content = answer.status, answer.reason, answer.read()
                answered = [(k, v) for k, v in answer.getheaders() if k.lower() not in HOP_BY_HOP]
            finally:
                connection.close()
        except OSError as exc:  # the instance is gone: the emulator retries the push
            status, reason, answered = 502, "Bad Gateway", []
            content = f"instance {instance} did not answer: {exc}".encode()
        finally:
            self._free.put(instance)
        request.send_response(status, reason)
        for key, value in answered:
            if key.lower() not in OWN:
                request.send_header(key, value)
        request.send_header("Content-Length", str(len(content)))
        request.end_headers()
        request.wfile.write(content)


def function_instances(
    target: str, port: int, topic: str, env: dict[str, str], run_dir: Path, instances: int = 1
) -> list[Part]:
    """The processes serving `main.<target>`, each one instance (gunicorn's WORKERS=1):
    one on `port`, or `instances` on ports of their own, for a balancer on `port`
    (`balance`)."""
    one = {**env, "WORKERS": "1"}
    if instances <= 1:
        return [function(target, port, topic, one, run_dir)]
    return [
        function(target, ephemeral(), topic, one, run_dir, name=f"{target}-{n}")
        for n in range(1, instances + 1)
    ]


def balance(port: int, instances: list[Part]) -> Balancer | None:
    """A balancer on `port` in front of `instances`, started; None for a single one,
    which serves `port` itself. The caller stops it."""
    if len(instances) <= 1:
        return None
    balancer = Balancer(port, [part.address for part in instances])
    balancer.start()
    return balancer
