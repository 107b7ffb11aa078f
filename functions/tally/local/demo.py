"""The demo upstream: five things worth keeping a record of, served on loopback.

    /api/counter                       a click count that climbs, faster by day than by night
    /shop/black-lotus                  a card shop page; the price moves from day to day
    /ping                              a health check answering "pong", with varying latency
                                       and an occasional failure (503, or a wrong body);
                                       live, a scripted outage: its 5th and 6th checks
                                       after start, and every 93 after, answer 503, so
                                       an alert fires and resolves in the first minutes
    /github/repos/demo/tally           a GitHub repository (stars, forks, ...)
    /github/repos/demo/tally/commits   its commits, one per page, with GitHub's Link header
    /feeds/uploads.rss                 an uploader's feed: the uploads of the last six hours,
                                       a new one every quarter of an hour or so (more by day)
    PUT /_tally/clock                  `tally local` says which tick it publishes next

Every value is a pure function of the time, so the 120 days of history `tally local`
imports first and the live values that follow are one continuous line. The demo's time
is the tick's: `tally local` tells it each tick before publishing it (on the real
clock and on the fast one, `--tick-seconds`, alike), so the value a tick stores is the
function's value at that minute, and the price still moves "by day" under a fast clock.

The health check's occasional failures are a seeded function of the minute, and
calm in the ten minutes before `tally local` starts and until the first scripted
outage has been served: the first failure anyone sees is the scripted one, and the
first page never shows a failed check that no alert speaks of.

Only the standard library: the demo starts in a blink and needs nothing installed.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import html
import itertools
import json
import math
import random
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

ANCHOR = datetime(2024, 1, 1, tzinfo=UTC)
REPO = "demo/tally"


# --- the values, as functions of time -------------------------------------------------


def clicks(moment: datetime) -> float:
    """A global click count: ~2 clicks a second on average, busier in the (UTC) daytime."""
    seconds = (moment - ANCHOR).total_seconds()
    day = 86400.0
    rate = 2.0
    # rate(t) = 2 * (1 + 0.6 sin(2π t/day)); its integral, so the count never goes down.
    swing = 0.6 * day / (2 * math.pi) * (1 - math.cos(2 * math.pi * seconds / day))
    return float(int(5_000_000 + rate * (seconds + swing)))


_PRICES = [48_000.0]  # the reference price on ANCHOR + n days


def _day_price(day: date) -> float:
    """The card's reference price on a day: a random walk with the odd jump."""
    offset = (day - ANCHOR.date()).days
    while len(_PRICES) <= offset:
        rng = random.Random(f"price-{(ANCHOR.date() + timedelta(days=len(_PRICES))).isoformat()}")
        pull = 0.04 * math.log(48_000.0 / _PRICES[-1])  # the market's memory of the price
        change = pull + rng.gauss(0.0, 0.02)
        if rng.random() < 0.04:  # a reprint rumour, a tournament result
            change += rng.choice([-0.12, 0.15])
        _PRICES.append(max(5_000.0, _PRICES[-1] * math.exp(change)))
    return _PRICES[max(0, offset)]


def price(moment: datetime) -> float:
    """The shop's price in yen: the day's level, re-priced a few times a day."""
    base = _day_price(moment.date())
    slot = moment.hour // 6  # the shop re-prices four times a day
    rng = random.Random(f"slot-{moment.date().isoformat()}-{slot}")
    return float(round(base * (1 + rng.uniform(-0.02, 0.02)), -1))


def health(moment: datetime, *, calm: bool = False) -> tuple[float, int, str]:
    """(latency in ms, HTTP status, body) of the health endpoint at a minute; `calm`:
    the same latency, but no failure."""
    minute = int(moment.timestamp() // 60)
    rng = random.Random(f"health-{minute}")
    hour = moment.hour + moment.minute / 60
    latency = 35 + 25 * (1 + math.sin(2 * math.pi * (hour - 8) / 24)) + rng.expovariate(1 / 15)
    if rng.random() < 0.02:
        latency += rng.uniform(300, 900)  # a slow spell
    roll = rng.random()
    if calm:
        return latency, 200, "pong"
    # about one check in a thousand fails: a service of 99.9 %, whose 90 daily bars are
    # green but for the odd day, as a healthy service's are (at 2.5 % every day's bar
    # was orange: alarming, without a reason)
    if roll < 0.0007:
        return latency, 503, "maintenance"
    if roll < 0.001:
        return latency, 200, "degraded"
    return latency, 200, "pong"


def commits(moment: datetime) -> float:
    """The repository's commit count: a few commits a working day."""
    days = (moment - ANCHOR).total_seconds() / 86400
    weeks, rest = divmod(days, 7)
    working = weeks * 5 + min(rest, 5)
    return float(1200 + int(working * 4.2))


def stars(moment: datetime) -> float:
    days = (moment - ANCHOR).total_seconds() / 86400
    return float(int(300 + 2500 / (1 + math.exp(-(days - 500) / 120)) + days * 0.8))


UPLOAD_SLOT = 300  # seconds: at most one upload per five minutes
UPLOADS_SHOWN = 6 * 3600  # the feed lists the uploads of the last six hours
_WORDS = [
    ("ピアノ", "piano"),
    ("夜想曲", "nocturne"),
    ("ゆっくり解説", "explained slowly"),
    ("弾いてみた", "played it"),
    ("作業用BGM", "music to work to"),
    ("ライブ", "live"),
    ("練習記録", "practice log"),
]


@functools.lru_cache(maxsize=65_536)  # a minute's feed and the next share 71 of 72 slots
def _uploaded(slot: int) -> bool:
    """Whether the uploader posted in this five-minute slot: a seeded coin, weighted
    towards the (Tokyo) evening."""
    hour = (slot * UPLOAD_SLOT / 3600 + 9) % 24
    chance = 0.3 + 0.2 * math.sin(2 * math.pi * (hour - 14) / 24)
    digest = hashlib.blake2b(f"upload-{slot}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < chance  # a seeded coin, cheaply


def upload_slots(moment: datetime) -> list[int]:
    """The slots of the uploads in the feed at `moment`, newest first."""
    now = int(moment.timestamp())
    last = now // UPLOAD_SLOT
    return [s for s in range(last, (now - UPLOADS_SHOWN) // UPLOAD_SLOT, -1) if _uploaded(s)]


def upload_title(slot: int) -> str:
    ja, en = random.Random(f"title-{slot}").choice(_WORDS)
    return f"【{ja}】 {en} #{slot % 10_000}"


def uploads(moment: datetime) -> float:
    """How many uploads the feed lists (the source's value)."""
    return float(len(upload_slots(moment)))


UPLOADS_FEED = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Kanade's uploads (demo)</title>
<link>http://{host}/videos</link><description>New uploads</description>
{items}</channel></rss>
"""


def uploads_feed(moment: datetime, host: str) -> str:
    items = "".join(
        f"<item><title>{html.escape(upload_title(slot))}</title>"
        f"<link>http://{host}/videos/{slot}</link>"
        f'<guid isPermaLink="false">demo-upload-{slot}</guid>'
        f"<pubDate>{format_datetime(datetime.fromtimestamp(slot * UPLOAD_SLOT, UTC))}</pubDate>"
        "</item>\n"
        for slot in upload_slots(moment)
    )
    return UPLOADS_FEED.format(host=host, items=items)


def history(
    source_id: str,
    start: datetime,
    end: datetime,
    step: timedelta,
    calm_from: datetime | None = None,
) -> Iterator[tuple]:
    """(time, value, ok) of a demo source from start (inclusive) to end (exclusive); the
    health check has no failure from `calm_from` on."""
    moment = start
    while moment < end:
        if source_id == "echo-health":
            calm = calm_from is not None and moment >= calm_from
            latency, status, body = health(moment, calm=calm)
            yield moment, round(latency, 1), status == 200 and body == "pong"
        else:
            yield moment, VALUES[source_id](moment), True
        moment += step


VALUES = {
    "clicks": clicks,
    "card-price": price,
    "repo-commits": commits,
    "repo-stars": stars,
    "uploads": uploads,
}
SOURCES = ["clicks", "card-price", "echo-health", "repo-commits", "repo-stars", "uploads"]


# --- the clock --------------------------------------------------------------------------


class Clock:
    """Demo time: the tick `tally local` said it publishes next (`set`), so that what a
    tick's fetch reads is the value at that tick's minute; before the first, `start`;
    without either (the demo run by hand), the real time from `time_source`.

    A fetch that runs so late that the next tick has been announced reads that tick's
    minute: the value of a later minute, never of an earlier one.
    """

    def __init__(self, start: datetime | None = None, time_source: Callable[[], float] = time.time):
        self.time_source = time_source
        self.tick = start
        self._lock = threading.Lock()

    def set(self, tick: datetime) -> None:
        with self._lock:
            self.tick = tick

    def now(self) -> datetime:
        with self._lock:
            tick = self.tick
        return tick if tick is not None else datetime.fromtimestamp(self.time_source(), UTC)


# --- the server ---------------------------------------------------------------------------

# The live health check's scripted outage: checks number 4 and 5 (from 0) of every 93
# answer 503. With a fast clock of 2 s that is an alert about 10 s after the first tick
# and its resolution 4 s later; on the real clock, a two-minute outage about every hour
# and a half: further apart than flap detection's hour (`flapping: within`), so each
# outage fires and resolves on its own (every 30 checks, the second one was "flapping"
# and the incident stayed open for as long as the demo ran, under a card that said
# "ok"); and not a multiple of the demo's 5-minute renders, so that some renders fall
# inside an outage and the page shows its incident open.
# Counted in checks, not minutes: whenever the ticks run, the outage is served. The
# checks before the first outage ends are calm (no random failure): it is the first.
OUTAGE_EVERY = 93
OUTAGE_CHECKS = (4, 5)
CALM_CHECKS = OUTAGE_CHECKS[-1] + 1
CALM_BEFORE_START = timedelta(minutes=10)  # of the history: the first page's last checks
CLOCK_PATH = "/_tally/clock"

SHOP_PAGE = """<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><title>Black Lotus — Card Shop Demo</title>
<script type="application/ld+json">{ld}</script></head>
<body><div class="product"><h1>Black Lotus (Unlimited)</h1>
<p>Condition: near mint</p><p>Price: <span class="price">¥{price}</span> (tax incl.)</p>
<p class="stock">In stock: {stock}</p></div></body></html>
"""


def make_handler(clock: Clock) -> type[BaseHTTPRequestHandler]:
    checks = itertools.count()  # health checks answered since start (thread-safe in CPython)

    class Handler(BaseHTTPRequestHandler):
        server_version = "tally-demo/1"

        def log_message(self, format: str, *args: object) -> None:
            sys.stderr.write(f"{self.log_date_time_string()} {format % args}\n")

        def _send(
            self, status: int, body: str, content_type: str, headers: dict | None = None
        ) -> None:
            data = body.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def _json(self, status: int, document: object, headers: dict | None = None) -> None:
            self._send(status, json.dumps(document), "application/json", headers)

        def do_HEAD(self) -> None:
            self.do_GET()

        def do_PUT(self) -> None:
            """`tally local` names the tick it is about to publish."""
            if urlparse(self.path).path != CLOCK_PATH:
                self._json(404, {"message": "Not Found"})
                return
            try:
                length = min(int(self.headers.get("Content-Length") or 0), 100)
                text = self.rfile.read(length).decode("utf-8", "replace").strip()
                tick = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                self._json(400, {"message": "not an ISO-8601 time"})
                return
            clock.set(tick if tick.tzinfo else tick.replace(tzinfo=UTC))
            self._send(204, "", "text/plain")

        def do_GET(self) -> None:
            url = urlparse(self.path)
            now = clock.now()
            query = parse_qs(url.query)
            if url.path == "/":
                self._send(200, "tally demo upstream\n", "text/plain")
            elif url.path == "/api/counter":
                self._json(200, {"data": {"count": int(clicks(now)), "at": now.isoformat()}})
            elif url.path == "/shop/black-lotus":
                value = price(now)
                ld = {
                    "@context": "https://schema.org",
                    "@type": "Product",
                    "name": "Black Lotus",
                    "offers": {"@type": "Offer", "price": value, "priceCurrency": "JPY"},
                }
                page = SHOP_PAGE.format(
                    ld=html.escape(json.dumps(ld), quote=False),
                    price=f"{value:,.0f}",
                    stock=1 + now.day % 3,
                )
                self._send(200, page, "text/html; charset=utf-8")
            elif url.path == "/ping":
                number = next(checks)
                latency, status, body = health(now, calm=number < CALM_CHECKS)
                if number % OUTAGE_EVERY in OUTAGE_CHECKS:
                    status, body = 503, "scripted outage (the demo's)"
                time.sleep(min(latency, 2000) / 1000)
                self._send(status, body, "text/plain")
            elif url.path == f"/github/repos/{REPO}":
                self._json(
                    200,
                    {
                        "full_name": REPO,
                        "stargazers_count": int(stars(now)),
                        "watchers_count": int(stars(now)),
                        "subscribers_count": 42,
                        "forks_count": int(stars(now) / 12),
                        "open_issues_count": 7 + now.day % 5,
                    },
                )
            elif url.path == "/feeds/uploads.rss":
                host = self.headers.get("Host", "127.0.0.1")
                self._send(200, uploads_feed(now, host), "application/rss+xml; charset=utf-8")
            elif url.path == f"/github/repos/{REPO}/commits":
                self._commits(now, query)
            else:
                self._json(404, {"message": "Not Found"})

        def _commits(self, now: datetime, query: dict[str, list[str]]) -> None:
            total = int(commits(now))
            try:
                per_page = max(1, min(100, int(query.get("per_page", ["30"])[0])))
                page = max(1, int(query.get("page", ["1"])[0]))
            except ValueError:
                self._json(400, {"message": "bad page"})
                return
            pages = max(1, math.ceil(total / per_page))
            first = (page - 1) * per_page
            items = [
                {"sha": f"{total - n:040x}", "commit": {"message": f"commit {total - n}"}}
                for n in range(first, min(total, first + per_page))
            ]
            host = self.headers.get("Host", "127.0.0.1")
            base = f"http://{host}/github/repos/{REPO}/commits?per_page={per_page}&page="
            links = []
            if page < pages:
                links.append(f'<{base}{page + 1}>; rel="next"')
                links.append(f'<{base}{pages}>; rel="last"')
            if page > 1:
                links.append(f'<{base}1>; rel="first"')
                links.append(f'<{base}{page - 1}>; rel="prev"')
            self._json(200, items, {"Link": ", ".join(links)} if links else None)

    return Handler


def announce_tick(port: int, tick: datetime, timeout: float = 5.0) -> bool:
    """Tell the demo upstream on `port` the tick about to be published; False when it
    does not answer (the stack's supervisor reports a demo that died)."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{CLOCK_PATH}",
        data=tick.astimezone(UTC).isoformat().encode("ascii"),
        method="PUT",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - loopback
            return response.status == 204
    except OSError:
        return False


def serve(port: int, clock: Clock, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), make_handler(clock))
    server.daemon_threads = True
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tally.local.demo")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--start", help="the first tick, ISO-8601 (default: real time)")
    args = parser.parse_args(argv)
    start = datetime.fromisoformat(args.start) if args.start else None
    server = serve(args.port, Clock(start))
    print(f"demo upstream on http://127.0.0.1:{args.port}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
