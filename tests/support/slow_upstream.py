"""An HTTP server that answers every request after a fixed delay, for the benchmarks.

It holds hundreds of requests at once without a thread each, so what is measured is
the collector's concurrency, not the server's. It shares the benchmark's two cores
with tally and the emulators, so it is kept cheap: one event loop for every port and a
protocol, not streams, per connection (0.23 s of CPU for 1,000 requests, against
0.8 s with a stream reader and a loop a port), since the internet it stands for costs
a deployed tally nothing.
"""

from __future__ import annotations

import asyncio
import sys

BODY = b'{"status": "pong"}'
ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
    len(BODY),
    BODY,
)


class SlowAnswers(asyncio.Protocol):
    """One connection: every request it carries is answered `delay` seconds after its
    head arrived (keep-alive or not, as the client likes)."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            _head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
            asyncio.get_running_loop().call_later(self.delay, self._answer)

    def _answer(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(ANSWER)


async def serve(ports: list[int], delay: float) -> None:
    loop = asyncio.get_running_loop()
    for port in ports:
        await loop.create_server(lambda: SlowAnswers(delay), "127.0.0.1", port, backlog=512)
        print(f"serving on http://127.0.0.1:{port}", flush=True)
    await asyncio.Event().wait()


def main() -> None:
    """`python -m tests.support.slow_upstream PORT[,PORT…] DELAY`: serve in its own
    process, so the upstream never competes with the collector for the interpreter
    lock; on several ports, hosts to a tick (which asks one host PER_HOST at a time)."""
    asyncio.run(serve([int(port) for port in sys.argv[1].split(",")], float(sys.argv[2])))


if __name__ == "__main__":
    main()
