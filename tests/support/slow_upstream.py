"""An asyncio HTTP server that answers every request after a fixed delay.

For the concurrency benchmark: it holds hundreds of requests at once without a
thread each, so what is measured is the collector's concurrency, not the server's.
"""

from __future__ import annotations

import asyncio
import threading


class SlowUpstream:
    def __init__(self, delay: float, port: int = 0) -> None:
        self.delay = delay
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self.port = 0

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while True:
                    head = await reader.readuntil(b"\r\n\r\n")
                    if not head:
                        break
                    await asyncio.sleep(self.delay)
                    body = b'{"status": "pong"}'
                    writer.write(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
                    )
                    await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            finally:
                writer.close()

        async def start() -> None:
            self.server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=512)
            self.port = self.server.sockets[0].getsockname()[1]
            ready.set()

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(start())
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        ready.wait(10)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def main() -> None:
    """`python -m tests.support.slow_upstream PORT[,PORT…] DELAY`: serve in its own
    process, so the upstream never competes with the collector for the interpreter
    lock; on several ports, hosts to a tick (which asks one host PER_HOST at a time)."""
    import sys
    import time

    for port in sys.argv[1].split(","):
        server = SlowUpstream(float(sys.argv[2]), port=int(port))
        print(f"serving on {server.url}", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
