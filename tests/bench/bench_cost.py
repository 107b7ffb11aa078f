"""What a day costs: Firestore reads and writes (as billed: the store's counter, which
counts an empty query as the one read Firestore bills for it), documents stored, and
Cloud Monitoring points, for N sources every 5 minutes or every minute, alerting on, the
page rendered every 5 minutes, against each free tier and priced from list prices.

On the Firestore emulator, with the real code: each collect tick stores the samples as
the collector does (`Store.write_samples` with the config's grouping) and runs alerting
on them (past SHARD_SIZE sources due, as a fanned-out tick does: its run opened, each
shard's samples stored and left as its payload, alerting once the last is in:
`tick_fanout.hand_out` and `finish_shard`); the collect ticks without samples (48 an
hour at 5 minutes) run alerting (staleness) too; `render_site` renders every 5 minutes
into a folder. The sources are half `json` values, half `http` checks, with
`stale_after` and `change` rules. Fetching is left out (the collect benchmark's
business): the stored samples are those a fetch would give.

A whole simulated day of renders of 500 sources is hours of CPU on this machine, so the
day is added up from each kind of event, measured once on a warmed-up deployment (after
its first render, which draws everything and is not counted): a tick with samples (288 a
day at 5 minutes, 1,440 at 1), a tick without (the rest of the day's 1,440: alerting's
staleness), a render whose sources' whole cards are not due (their value follows from
the changed documents) and one where they are (the render document of every group:
every `card_every`, see render/plan.py), and the render at which a day closes (once a
day, on top). Metric points are counted from `wanted_metrics` (what the collector sends)
at each tick of a day's first hour, 24 times (every schedule here divides an hour). The
cases are those of issue 20: 50, 500 and 1,000 sources every 5 minutes and 1,000 sources
every minute (1,440 ticks with samples a day, none without).

Charts are not rasterised: every render (the uncounted first one and the counted ones)
draws with `_chart_digest` in place of `charts.draw`, bytes that are a digest of the
chart's spec. What a render reads and writes in Firestore depends on a chart only
through the md5 of its bytes (`Publisher.put` records it in the source's render
document, which is written when that record changed), and matplotlib's PNG is a function
of the spec: equal specs give equal bytes, different specs different ones, with the
digest as with matplotlib. Which charts are drawn, which documents are read and which
are written is the real code's decision on the emulator, unchanged. What that saves is
matplotlib's CPU: three renders draw every chart of every source (most of the 43 minutes
the 50- and 500-source cases took with matplotlib). `main` holds the claim on every run:
20 sources (10 checks, 10 values; a whole card every render, the closing render's long
charts) are measured both ways first, and the run stops if any counted figure differs.
(50 sources measured both ways gave the same figures too, on 2026-12-05: 1,203 writes
and 24,272 reads a day; and 500 sources gave 6,837 writes and 30,140 reads a day both
with the stand-in and, in the run before it came, with matplotlib.)

`main` prints the tables as README.md, docs/deploy.md ("What it costs") and
docs/benchmarks.md ("Cost") hold them, row for row: the docs are pasted from its output.

It also times the render (`render_times`, run first): at 500 sources every 5 minutes,
charts drawn by matplotlib, the CPU and wall time of each kind of render a day holds,
and how many of each a day has. docs/deploy.md's compute estimate assumes 20 s billed
a render; this is what the renders of a day average. TALLY_BENCH_PARTS (counts,
render-time) picks parts.
"""

from __future__ import annotations

import hashlib
import math
import os
import pickle
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock

# List prices, as written in docs/deploy.md on 2026-11-22 (not re-checked from here):
PRICES_AS_OF = "2026-11-22"
FREE_WRITES, FREE_READS = 20_000, 50_000  # Firestore, a day
FREE_METRIC_MIB = 150  # Cloud Monitoring, a month
WRITE_PRICE, READ_PRICE = 0.18 / 100_000, 0.06 / 100_000  # Firestore multi-region, USD
MIB_PRICE = 0.258  # Cloud Monitoring beyond the free allotment, USD
POINT_BYTES = 8
MONTH_DAYS = 30.42
# Measured at noon, after a tick in each hour of the morning: a render reads the day's
# documents so far (those of its sources' groups), 12 hours of them: a day's average.
START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


CASES = ((50, 5), (500, 5), (1000, 5), (1000, 1))  # (sources, minutes between ticks)
CHECKED = 20  # sources of the case measured with matplotlib's charts too


def _config(count: int, every: int = 5):  # type: ignore[no-untyped-def]
    from tally.config import parse_config

    sources = []
    for n in range(count):
        check = n % 2 == 1
        source = {"id": f"s{n:04d}", "url": "https://example.test/", "every": f"{every}m"}
        source.update({"kind": "http"} if check else {"kind": "json", "query": "n"})
        source["alerts"] = {"stale_after": "30m", "change": {"percent": 1000, "window": "1d"}}
        sources.append(source)
    return parse_config({"render_every": "5m", "sources": sources})


def _samples(config, tick: datetime):  # type: ignore[no-untyped-def]
    from tally.collector import due_sources
    from tally.sample import Sample
    from tally.sources import kind_of

    samples = []
    for n, source in enumerate(due_sources(config, tick)):
        if kind_of(source).is_check:
            latency = 40.0 + n % 7
            samples.append(Sample(source.id, tick, True, latency, latency_ms=latency, up=1))
        else:
            samples.append(Sample(source.id, tick, True, 1000.0 + n + tick.minute))
    return samples


class Day:
    """Runs the ticks and renders of one deployment, counting what they cost."""

    def __init__(self, count: int, every: int, out: Path, project: str):
        from google.cloud import firestore
        from tally.group_document import assign
        from tally.store import Store

        self.config = _config(count, every)
        self.store = Store(firestore.Client(project=project))
        self.counter = self.store.counter
        self.groups = assign(source.id for source in self.config.sources)
        self.out = out
        self.sample_writes: set[int] = set()  # writes of each tick's samples, as seen
        self.shard_messages = 0  # a fanned-out tick's (none below the shard size)

    def ops(self) -> tuple[int, int]:
        return self.counter.reads, self.counter.writes

    def minute(self, at: datetime) -> None:
        from tally.alerts.engine import run_alerts
        from tally.tick_fanout import SHARD_SIZE

        samples = _samples(self.config, at)
        if len(samples) > SHARD_SIZE:
            self.fanned_out(at, samples)
            return
        if samples:
            before = self.counter.writes
            self.store.write_samples(samples, self.groups)
            self.sample_writes.add(self.counter.writes - before)
        run_alerts(self.config, self.store, at, samples, now=at)

    def fanned_out(self, at: datetime, samples: list) -> None:  # type: ignore[type-arg]
        """A tick past one shard, as deployed: the run opened and its shard messages
        published (counted, not sent), then each shard's samples stored and left as its
        payload, in order; the last one in runs alerting on all of them."""
        from tally import tick_fanout

        published = _Published()
        fanned = tick_fanout.hand_out(
            self.config,
            self.store,
            published,
            at,
            [sample.source_id for sample in samples],
            size=tick_fanout.SHARD_SIZE,
            now=at,
        )
        by_id = {sample.source_id: sample for sample in samples}
        writes = 0
        for shard in fanned.shards:
            mine = [by_id[source_id] for source_id in shard.source_ids]
            before = self.counter.writes
            self.store.write_samples(mine, self.groups)
            writes += self.counter.writes - before
            tick_fanout.finish_shard(self.config, self.store, at, shard, mine, now=at)
        self.sample_writes.add(writes)
        self.shard_messages = published.messages

    def render(self, at: datetime) -> None:
        """A render, once the emulator's clock is past the change mark's overlap after
        the tick just written: its reads are then the tick's, not a millisecond's luck
        (tests/support/firestore_clock.py), and `_same_counts` compares like with like."""
        from tally.render.budget import Budget
        from tally.render.entry import render_site

        from tests.support.firestore_clock import past_mark_overlap

        past_mark_overlap(self.store.client)
        render_site(self.config, self.store, self.out, now=at, budget=Budget.unlimited())

    def cost(self, work) -> tuple[int, int]:  # type: ignore[no-untyped-def]
        """(reads, writes) of `work()`."""
        before = self.ops()
        work()
        after = self.ops()
        return after[0] - before[0], after[1] - before[1]


class _Published:
    """Counts the shard messages a fanned-out tick publishes (Pub/Sub is not billed
    here: a few messages a tick are far inside its free 10 GiB a month)."""

    def __init__(self) -> None:
        self.messages = 0

    def publish(self, messages: list) -> None:  # type: ignore[type-arg]
        self.messages += len(messages)


def _chart_digest(spec) -> bytes:  # type: ignore[no-untyped-def]
    """A chart's stand-in bytes: a function of its spec, as matplotlib's PNG is."""
    return hashlib.sha256(pickle.dumps(spec, protocol=5)).digest()


@contextmanager
def _charts(rasterised: bool):  # type: ignore[no-untyped-def]
    if rasterised:
        yield
        return
    from tally.render import charts

    with mock.patch.object(charts, "draw", _chart_digest):
        yield


def _ticks_and_points(config) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """(ticks with samples, metric points) of a day's 1,440 collect ticks: its first
    hour's 60, by the collector's own decisions, 24 times (every source here is due
    every N minutes, N dividing an hour, and writes its points at each of its ticks:
    `metrics_every` is the default minute, so each hour of the day is the same)."""
    from tally.collector import due_sources
    from tally.metrics import series_for, wanted_metrics

    assert all(60 % (source.every.total_seconds() // 60) == 0 for source in config.sources)
    assert all(config.metrics_every_of(source).total_seconds() == 60 for source in config.sources)
    points = ticks = 0
    day = START.replace(hour=0)
    for minute in range(60):
        tick = day + timedelta(minutes=minute)
        due = due_sources(config, tick)
        samples = _samples(config, tick)
        ticks += bool(samples)
        points += len(series_for(tick, samples, wanted_metrics(config, due, tick)))
    return 24 * ticks, 24 * points


def _documents(store) -> dict[str, int]:  # type: ignore[no-untyped-def]
    client = store.client
    return {
        "group-hour": sum(1 for _ in client.collection_group("hours").select([]).stream()),
        "day (per source)": sum(1 for _ in client.collection_group("days").select([]).stream()),
    }


def measure(count: int, every: int = 5, *, rasterised: bool = False) -> dict:  # type: ignore[type-arg]
    """The counted events of `count` sources every `every` minutes, and a day of them."""
    from tally.render.plan import card_every

    project = f"bench-cost-{count}-{every}m" + ("-drawn" if rasterised else "")
    with tempfile.TemporaryDirectory() as folder, _charts(rasterised):
        day = Day(count, every, Path(folder), project)
        for hour in range(12):  # the morning's documents (alerting runs too: settled)
            day.minute(START.replace(hour=hour))
        day.minute(START)
        day.render(START + timedelta(minutes=1))  # the first render: everything, once
        tick = day.cost(lambda: day.minute(START + timedelta(minutes=5)))
        idle = day.cost(lambda: day.minute(START + timedelta(minutes=6))) if every > 1 else None
        render = day.cost(lambda: day.render(START + timedelta(minutes=6)))
        cards = card_every(day.config)
        if cards > day.config.render_every:  # whole cards not due at that render
            quick = render
            at = START + timedelta(minutes=1) + cards
            day.minute(at - timedelta(minutes=1))  # on the grid of both cadences
            whole = day.cost(lambda: day.render(at))
        else:
            quick, whole = None, render
        closing = day.cost(lambda: day.render(START + timedelta(hours=13, minutes=1)))
        documents = _documents(day.store)
        ticks, points = _ticks_and_points(day.config)
    renders = 1440 // int(day.config.render_every.total_seconds() // 60)
    whole_renders = 1440 / (cards.total_seconds() / 60)
    parts = [(ticks, tick), (whole_renders, whole), (1, closing)]
    if idle is not None:
        parts.append((1440 - ticks, idle))
    if quick is not None:
        parts.append((renders - whole_renders, quick))
    return {
        "reads_day": sum(n * cost[0] for n, cost in parts),
        "writes_day": sum(n * cost[1] for n, cost in parts),
        "ticks_day": ticks,
        "tick": tick,
        "idle": idle,
        "quick": quick,
        "whole": whole,
        "closing": closing,
        "card_every": cards.total_seconds() / 60,
        "points_day": points,
        "group_hour_docs": documents["group-hour"],
        "tick_writes": max(day.sample_writes),
        "shard_messages": day.shard_messages,
    }


COUNTED = ("tick", "idle", "quick", "whole", "closing", "group_hour_docs", "tick_writes")


def _row(count: int, every: int, m: dict) -> str:  # type: ignore[type-arg]
    reads, writes = m["reads_day"], m["writes_day"]
    mib = m["points_day"] * POINT_BYTES * MONTH_DAYS / 2**20
    price = (
        max(0, reads - FREE_READS) * READ_PRICE * MONTH_DAYS
        + max(0, writes - FREE_WRITES) * WRITE_PRICE * MONTH_DAYS
        + max(0.0, mib - FREE_METRIC_MIB) * MIB_PRICE
    )
    return (
        f"| {count:,} × {every} min | {writes:,.0f} ({writes / FREE_WRITES:.0%}) "
        f"| {reads:,.0f} ({reads / FREE_READS:.0%}) "
        f"| {m['points_day']:,.0f} = {mib:.1f} MiB a month ({mib / FREE_METRIC_MIB:.0%}) "
        f"| {m['tick_writes']:,.0f} | ${price:.2f} |"
    )


def _pair(cost: tuple[int, int] | None) -> str:
    return "—" if cost is None else f"{cost[0]:,}, {cost[1]:,}"


def _event_row(count: int, every: int, m: dict) -> str:  # type: ignore[type-arg]
    return (
        f"| {count:,} × {every} min | {_pair(m['tick'])} ({m['ticks_day']:,} a day) "
        f"| {_pair(m['idle'])} | {_pair(m['quick'])} | {_pair(m['whole'])} "
        f"| {_pair(m['closing'])} | {m['card_every']:.0f} min | {m['group_hour_docs']:,} "
        f"| {m['shard_messages'] or '—'} |"
    )


def _same_counts(drawn: dict, digest: dict) -> None:  # type: ignore[type-arg]
    """The stand-in charts must not change a counted figure (see the top)."""
    differ = {key: (drawn[key], digest[key]) for key in COUNTED if drawn[key] != digest[key]}
    if differ:
        raise SystemExit(f"matplotlib's charts and the stand-in count differently: {differ}")
    print(
        f"{CHECKED} × 5 min, charts drawn by matplotlib and by the stand-in: every counted "
        f"figure the same ({', '.join(f'{key} {drawn[key]}' for key in COUNTED)})",
        flush=True,
    )


RENDER_TIMED = 500  # sources whose renders are timed, charts drawn by matplotlib


def _timed(work) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(CPU seconds of this process, wall seconds) of `work()`."""
    cpu, wall = time.process_time(), time.perf_counter()
    work()
    return time.process_time() - cpu, time.perf_counter() - wall


def render_times(count: int = RENDER_TIMED) -> list[tuple[str, float, tuple[float, float]]]:
    """(kind of render, how many a day, (CPU s, wall s)) at `count` sources every 5
    minutes, charts drawn by matplotlib into a folder, on a warmed-up deployment (after
    the first render, timed too but not a day's). Each kind is timed once, after a tick:
    a render with no whole card due (the value, status and last error of each card from
    the changed documents), one with every whole card due (every `card_every`), one with
    every source's own page and recent chart due (every `detail_every`: all at once, as
    the first render drew them all), and the one that closes a day (its long charts)."""
    from tally.render.plan import card_every, detail_every

    with tempfile.TemporaryDirectory() as folder, _charts(rasterised=True):
        day = Day(count, 5, Path(folder), f"bench-render-time-{count}")
        for hour in range(12):
            day.minute(START.replace(hour=hour))
        day.minute(START)

        def after_a_tick(at: datetime) -> tuple[float, float]:
            day.minute(at - timedelta(minutes=1))
            return _timed(lambda: day.render(at))

        first = _timed(lambda: day.render(START + timedelta(minutes=1)))
        quick = after_a_tick(START + timedelta(minutes=6))
        cards, details = card_every(day.config), detail_every(day.config)
        whole = after_a_tick(START + timedelta(minutes=1) + cards)
        detail = after_a_tick(START + timedelta(minutes=1) + details)
        closing = after_a_tick(START + timedelta(hours=13, minutes=1))
    # A day closes at one render and every source's page comes due every `details`
    # after it (both draw each whole card too); in each such cycle whole cards come
    # due every `cards`, the other renders only carry values forward.
    renders = 1440 // int(day.config.render_every.total_seconds() // 60)
    cycles = round(timedelta(days=1) / details)
    wholes = cycles * (math.ceil(details / cards) - 1)
    detailed = cycles - 1
    return [
        ("the first render (draws everything; not a day's)", 0, first),
        ("no whole card due", renders - wholes - cycles, quick),
        (f"every whole card due (every {cards.total_seconds() / 60:.0f} min)", wholes, whole),
        (f"every source's page due (every {details.total_seconds() / 3600:g} h)", detailed, detail),
        ("the day closes (long charts)", 1, closing),
    ]


def print_render_times(count: int, rows: list[tuple[str, float, tuple[float, float]]]) -> None:
    print(
        f"\n| a render of {count:,} sources every 5 min, charts drawn | a day "
        "| CPU (this machine) | wall (the emulator's work included) |"
    )
    print("|---|---|---|---|")
    for kind, per_day, (cpu, wall) in rows:
        print(f"| {kind} | {per_day:g} | {cpu:.2f} s | {wall:.2f} s |")
    renders = sum(per_day for _, per_day, _ in rows)
    cpu_day = sum(per_day * cpu for _, per_day, (cpu, _) in rows)
    print(
        f"\nA day's {renders:g} renders: {cpu_day:,.0f} s of CPU, "
        f"{cpu_day / renders:.2f} s a render on average."
    )


def main() -> None:
    from tests.bench.stack import slow_upstream_on_emulator

    parts = {
        part.strip()
        for part in os.environ.get("TALLY_BENCH_PARTS", "counts,render-time").split(",")
    }
    results = {}
    with slow_upstream_on_emulator():
        if "render-time" in parts:
            times = render_times()
        if "counts" in parts:
            _same_counts(measure(CHECKED, 5, rasterised=True), measure(CHECKED, 5))
            for count, every in CASES:  # each printed when measured
                results[count, every] = measure(count, every)
                print(f"{count} × {every} min measured: {results[count, every]}", flush=True)
    if "render-time" in parts:
        print_render_times(RENDER_TIMED, times)
    if not results:
        return
    print(
        "\n| sources × cadence | Firestore writes a day (of 20,000 free) "
        "| reads a day (of 50,000 free) | metric points a day (of 150 MiB a month) "
        f"| writes a tick (samples) | beyond the free tiers, a month (list prices of "
        f"{PRICES_AS_OF}) |"
    )
    print("|---|---|---|---|---|---|")
    for (count, every), measured in results.items():
        print(_row(count, every, measured))
    print(
        "\n| sources × cadence | (reads, writes) of: a tick with samples | a tick without "
        "| a render, whole cards not due | a render with every whole card "
        "| the day-closing render | whole cards every | group-hour documents stored (13 hours) "
        "| shards a tick (fan-out) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for (count, every), measured in results.items():
        print(_event_row(count, every, measured))
