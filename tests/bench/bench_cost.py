"""What a day costs: Firestore reads and writes (as billed: the store's counter, which
counts an empty query as the one read Firestore bills for it), documents stored, and
Cloud Monitoring points, for N sources every 5 minutes, alerting on, the page rendered
every 5 minutes, against each free tier and priced from list prices.

On the Firestore emulator, with the real code: each collect tick stores the samples as
the collector does (`Store.write_samples` with the config's grouping) and runs alerting
on them; the 48 collect ticks of an hour without samples run alerting (staleness) too;
`render_site` renders every 5 minutes into a folder. The sources are half `json` values,
half `http` checks, with `stale_after` and `change` rules. Fetching is left out (the
collect benchmark's business): the stored samples are those a fetch would give.

A whole simulated day of renders of 500 sources is hours of CPU on this machine, so a
day is measured in three parts and added up: a warm-up hour (first render, not counted),
a steady hour (12 ticks with samples, 48 without, 12 renders), multiplied by 24, and the
render at which a day closes (its cost beyond a steady render, once a day). Metric points
are counted for all 288 ticks of a day from `wanted_metrics` (what the collector sends).
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

# List prices, as written in docs/deploy.md on 2026-11-22 (not re-checked from here):
PRICES_AS_OF = "2026-11-22"
FREE_WRITES, FREE_READS = 20_000, 50_000  # Firestore, a day
FREE_METRIC_MIB = 150  # Cloud Monitoring, a month
WRITE_PRICE, READ_PRICE = 0.18 / 100_000, 0.06 / 100_000  # Firestore multi-region, USD
MIB_PRICE = 0.258  # Cloud Monitoring beyond the free allotment, USD
POINT_BYTES = 8
MONTH_DAYS = 30.42
START = datetime(2026, 3, 1, 21, 0, tzinfo=UTC)  # the steady hour ends 23:00, before midnight


def _config(count: int):  # type: ignore[no-untyped-def]
    from tally.config import parse_config

    sources = []
    for n in range(count):
        check = n % 2 == 1
        source = {"id": f"s{n:03d}", "url": "https://example.test/", "every": "5m"}
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

    def __init__(self, count: int, out: Path):
        from google.cloud import firestore
        from tally.group_document import assign
        from tally.store import Store

        self.config = _config(count)
        self.store = Store(firestore.Client(project=f"bench-cost-{count}"))
        self.counter = self.store.counter
        self.groups = assign(source.id for source in self.config.sources)
        self.out = out
        self.sample_writes: set[int] = set()  # writes of each tick's samples, as seen

    def ops(self) -> tuple[int, int]:
        return self.counter.reads, self.counter.writes

    def minute(self, at: datetime) -> None:
        from tally.alerts.engine import run_alerts

        samples = _samples(self.config, at)
        if samples:
            before = self.counter.writes
            self.store.write_samples(samples, self.groups)
            self.sample_writes.add(self.counter.writes - before)
        run_alerts(self.config, self.store, at, samples, now=at)

    def render(self, at: datetime) -> None:
        from tally.render.budget import Budget
        from tally.render.entry import render_site

        render_site(self.config, self.store, self.out, now=at, budget=Budget.unlimited())

    def hour(self, start: datetime) -> None:
        for minute in range(60):
            at = start + timedelta(minutes=minute)
            self.minute(at)
            if minute % 5 == 1:  # a render a minute after each 5-minute tick
                self.render(at)


def _points_per_day(config) -> int:  # type: ignore[no-untyped-def]
    from tally.collector import due_sources
    from tally.metrics import series_for, wanted_metrics

    points = 0
    day = START.replace(hour=0)
    for minute in range(1440):
        tick = day + timedelta(minutes=minute)
        due = due_sources(config, tick)
        samples = _samples(config, tick)
        points += len(series_for(tick, samples, wanted_metrics(config, due, tick)))
    return points


def _documents(store) -> dict[str, int]:  # type: ignore[no-untyped-def]
    client = store.client
    return {
        "group-hour": sum(1 for _ in client.collection_group("hours").select([]).stream()),
        "day (per source)": sum(1 for _ in client.collection_group("days").select([]).stream()),
    }


def measure(count: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        day = Day(count, Path(folder))
        day.hour(START)  # warm-up: the first render draws everything
        reads0, writes0 = day.ops()
        day.hour(START + timedelta(hours=1))
        reads, writes = (a - b for a, b in zip(day.ops(), (reads0, writes0), strict=True))
        day.minute(START + timedelta(hours=2))
        steady_render_reads0 = day.ops()
        day.render(START + timedelta(hours=2, minutes=1))
        render_reads = day.ops()[0] - steady_render_reads0[0]
        # the render at which the day closes (the ticks in between are left out: they
        # cost what the steady hour's do); added to the day on top of the 288 renders
        closing0 = day.ops()
        day.render(START + timedelta(hours=4, minutes=1))
        closing_reads, closing_writes = (a - b for a, b in zip(day.ops(), closing0, strict=True))
        documents = _documents(day.store)
        points = _points_per_day(day.config)
    return {
        "reads_hour": reads,
        "writes_hour": writes,
        "render_reads": render_reads,
        "closing_reads": closing_reads,
        "closing_writes": closing_writes,
        "tick_writes": max(day.sample_writes),
        "points_day": points,
        "group_hour_docs": documents["group-hour"],
    }


def _row(count: int, m: dict[str, float]) -> str:
    reads = 24 * m["reads_hour"] + m["closing_reads"]
    writes = 24 * m["writes_hour"] + m["closing_writes"]
    mib = m["points_day"] * POINT_BYTES * MONTH_DAYS / 2**20
    price = (
        max(0, reads - FREE_READS) * READ_PRICE * MONTH_DAYS
        + max(0, writes - FREE_WRITES) * WRITE_PRICE * MONTH_DAYS
        + max(0.0, mib - FREE_METRIC_MIB) * MIB_PRICE
    )
    return (
        f"| {count} × 5 min | {writes:,.0f} ({writes / FREE_WRITES:.0%}) "
        f"| {reads:,.0f} ({reads / FREE_READS:.0%}) | {m['render_reads']:,.0f} "
        f"| {m['points_day']:,.0f} = {mib:.1f} MiB a month ({mib / FREE_METRIC_MIB:.0%}) "
        f"| {m['tick_writes']:,.0f} | ${price:.2f} |"
    )


def main() -> None:
    from tests.bench.stack import slow_upstream_on_emulator

    with slow_upstream_on_emulator():
        results = {count: measure(count) for count in (50, 500)}
    print(
        "| sources × cadence | Firestore writes a day (of 20,000 free) "
        "| reads a day (of 50,000 free) | reads of one steady render "
        "| metric points a day (of 150 MiB a month) | writes a tick | beyond the free tiers, "
        f"a month (list prices of {PRICES_AS_OF}) |"
    )
    print("|---|---|---|---|---|---|---|")
    for count, measured in results.items():
        print(_row(count, measured))
    print()
    for count, m in results.items():
        print(
            f"{count} sources, measured: a steady hour {m['reads_hour']:,} reads and "
            f"{m['writes_hour']:,} writes (12 ticks with samples, 48 without, 12 renders); "
            f"one steady render {m['render_reads']:,} reads; the day-closing render "
            f"{m['closing_reads']:,} reads and {m['closing_writes']:,} writes; "
            f"{m['group_hour_docs']:,} group-hour documents after 3 hours."
        )
