"""New entries: what telling them costs (`nox -s bench -- entries`).

1. A feed of 100 entries checked every 5 minutes for a simulated day (288 ticks) in
   which 20 new entries appear: 14 alone at ticks of their own and a burst of 6 in one
   tick, announced to one channel (a JSON webhook on loopback). Messages received,
   Firestore reads and writes (counted at the client's RPCs) for the day, against the
   same day with no new entry and against the same feed read as a plain count (no
   `announce`: the entries are kept for the page all the same).
2. Reading a feed: the reader process's time for the entries of a feed of 100 entries
   and of 15,000 (nearly the 5 MiB body cap), against counting them only.
"""

from __future__ import annotations

import random
import statistics
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.bench.bench_collect import RpcCounter, _store
from tests.bench.stack import slow_upstream_on_emulator

TICKS = 288  # a day every 5 minutes
FEED_SIZE = 100
NEW_ALONE = 14
BURST = 6
START = datetime(2026, 12, 1, tzinfo=UTC)


def _item(n: int) -> str:
    return (
        f"<item><title>Upload number {n}: a title of a usual length</title>"
        f"<link>https://video.example.test/watch/sm{n}</link>"
        f"<guid isPermaLink='false'>video:sm{n}</guid>"
        f"<pubDate>Sat, 05 Dec 2026 06:00:00 +0900</pubDate>"
        f"<description>A description that is longer than the title, as feeds have them, "
        f"with a few words about upload {n}.</description></item>"
    )


def feed(newest: int, size: int = FEED_SIZE) -> bytes:
    """The feed when entry `newest` is the latest: the `size` newest, newest first."""
    items = "".join(_item(n) for n in range(newest, newest - size, -1))
    return f"<rss version='2.0'><channel><title>uploads</title>{items}</channel></rss>".encode()


class FeedServer:
    """The feed on loopback; `newest` says which entry is the latest now."""

    def __init__(self) -> None:
        self.newest = 1000
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                body = feed(server.newest)
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/feed.rss"

    def stop(self) -> None:
        self.http.shutdown()
        self.http.server_close()


def _schedule() -> dict[int, int]:
    """tick → entries new at it: 14 alone and one burst of 6, seeded."""
    rng = random.Random(18)
    ticks = rng.sample(range(1, TICKS), NEW_ALONE + 1)
    plan = {tick: 1 for tick in ticks[:NEW_ALONE]}
    plan[ticks[NEW_ALONE]] = BURST
    return plan


def _day(feeds: FeedServer, hook: str, plan: dict[int, int], announce: bool, day: int) -> dict:
    from tally.collector import collect_tick
    from tally.config import parse_config

    store = _store()
    counter = RpcCounter(store.client)
    # a source of its own on a day of its own: each day starts from a first read
    source = {"id": f"uploads-{day}", "kind": "rss", "url": feeds.url, "every": "5m"}
    if announce:
        source["announce"] = True
    config = parse_config({"notify": {"hook": hook}, "sources": [source]})
    feeds.newest = 1000
    start = START + timedelta(days=day)
    collect_tick(config, start, store, now=start)  # the first read: seeds, tells nothing
    reads, writes = counter.reads, counter.writes
    seconds = []
    for tick in range(1, TICKS):
        feeds.newest += plan.get(tick, 0)
        at = start + timedelta(minutes=5 * tick)
        began = time.perf_counter()
        collect_tick(config, at, store, now=at + timedelta(seconds=20))
        seconds.append(time.perf_counter() - began)
    return {
        "reads": counter.reads - reads,
        "writes": counter.writes - writes,
        "tick_ms": statistics.median(seconds) * 1000,
    }


def bench_day(feeds: FeedServer, receiver) -> None:  # type: ignore[no-untyped-def]
    plan = _schedule()
    rows = []
    for day, (label, day_plan, announce) in enumerate(
        (
            ("no new entry", {}, True),
            (f"{sum(plan.values())} new entries, announced", plan, True),
            (f"{sum(plan.values())} new entries, not announced", plan, False),
        )
    ):
        receiver.take()
        found = _day(feeds, receiver.url(), day_plan, announce, day)
        received = receiver.take()
        digests = sum(1 for item in received if "new entries" in item.title)
        rows.append((label, len(received), digests, found))
    print(f"A feed of {FEED_SIZE} entries every 5 minutes for a day ({TICKS - 1} ticks after")
    print("the first read), one channel; reads and writes as the client sent them:\n")
    print("| the day | messages (digests) | reads | writes | median tick |")
    print("|---|---|---|---|---|")
    for label, messages, digests, found in rows:
        print(
            f"| {label} | {messages} ({digests}) | {found['reads']} | {found['writes']} | "
            f"{found['tick_ms']:.0f} ms |"
        )
    base = rows[0][3]
    told = rows[1][3]
    ticks_with_news = len(plan)
    print(
        f"\nBeyond the day with no new entry: {told['reads'] - base['reads']} reads and "
        f"{told['writes'] - base['writes']} writes for {sum(plan.values())} entries in "
        f"{ticks_with_news} ticks"
    )


def bench_reading() -> None:
    from tally.sources.readers import POOL

    rows = []
    for size in (FEED_SIZE, 15_000):
        body = feed(size, size)
        for job, args in (("feed", {}), ("feed_entries", {"url": "https://x.test/feed"})):
            times = []
            for _ in range(5):
                began = time.perf_counter()
                POOL.read(
                    job, body, charset=None, args=args, deadline=time.monotonic() + 60, timeout=60
                )
                times.append(time.perf_counter() - began)
            rows.append((size, len(body), job, statistics.median(times) * 1000))
    print("\nReading a feed in a reader process (median of 5, the body handed over included):\n")
    print("| entries | body | counted only (`feed`) | entries read (`feed_entries`) |")
    print("|---|---|---|---|")
    for index in range(0, len(rows), 2):
        size, length, _, counted = rows[index]
        listed = rows[index + 1][3]
        print(f"| {size:,} | {length / 1024:,.0f} KiB | {counted:.1f} ms | {listed:.1f} ms |")


def main() -> None:
    from tests.support.receiver import Receiver

    with slow_upstream_on_emulator():
        receiver = Receiver()
        feeds = FeedServer()
        try:
            bench_day(feeds, receiver)
            bench_reading()
        finally:
            feeds.stop()
            receiver.down()


if __name__ == "__main__":
    main()
