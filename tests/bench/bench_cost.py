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

A whole simulated day of renders of 500 sources is hours of CPU on this machine, so the
day is added up from each kind of event, measured once on a warmed-up deployment (after
its first render, which draws everything and is not counted): a tick with samples (288
a day), a tick without (1,152 a day, alerting's staleness), a render whose sources'
whole cards are not due (their value follows from the changed documents) and one
where they are (the render document of every source: every `card_every`, see
render/plan.py), and the render at which a day closes (once a day, on top). Metric
points are counted for all 1,440 ticks of a day from `wanted_metrics` (what the
collector sends).
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
# Measured at noon, after a tick in each hour of the morning: a render reads the day's
# documents so far (those of its sources' groups), 12 hours of them: a day's average.
START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


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

    def cost(self, work) -> tuple[int, int]:  # type: ignore[no-untyped-def]
        """(reads, writes) of `work()`."""
        before = self.ops()
        work()
        after = self.ops()
        return after[0] - before[0], after[1] - before[1]


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
    from tally.render.plan import card_every

    with tempfile.TemporaryDirectory() as folder:
        day = Day(count, Path(folder))
        for hour in range(12):  # the morning's documents (alerting runs too: settled)
            day.minute(START.replace(hour=hour))
        day.minute(START)
        day.render(START + timedelta(minutes=1))  # the first render: everything, once
        tick = day.cost(lambda: day.minute(START + timedelta(minutes=5)))
        idle = day.cost(lambda: day.minute(START + timedelta(minutes=6)))
        render = day.cost(lambda: day.render(START + timedelta(minutes=6)))
        every = card_every(day.config)
        if every > day.config.render_every:  # whole cards not due at that render
            quick = render
            at = START + timedelta(minutes=1) + every
            day.minute(at - timedelta(minutes=1))
            whole = day.cost(lambda: day.render(at))
        else:
            quick, whole = None, render
        closing = day.cost(lambda: day.render(START + timedelta(hours=13, minutes=1)))
        documents = _documents(day.store)
        points = _points_per_day(day.config)
    renders = 1440 // int(day.config.render_every.total_seconds() // 60)
    whole_renders = 1440 / (every.total_seconds() / 60)
    parts = [(288, tick), (1152, idle), (whole_renders, whole), (1, closing)]
    if quick is not None:
        parts.append((renders - whole_renders, quick))
    return {
        "reads_day": sum(n * cost[0] for n, cost in parts),
        "writes_day": sum(n * cost[1] for n, cost in parts),
        "tick": tick,
        "idle": idle,
        "quick": quick,
        "whole": whole,
        "closing": closing,
        "card_every": every.total_seconds() / 60,
        "points_day": points,
        "group_hour_docs": documents["group-hour"],
        "tick_writes": max(day.sample_writes),
    }


def _row(count: int, m: dict) -> str:  # type: ignore[type-arg]
    reads, writes = m["reads_day"], m["writes_day"]
    mib = m["points_day"] * POINT_BYTES * MONTH_DAYS / 2**20
    price = (
        max(0, reads - FREE_READS) * READ_PRICE * MONTH_DAYS
        + max(0, writes - FREE_WRITES) * WRITE_PRICE * MONTH_DAYS
        + max(0.0, mib - FREE_METRIC_MIB) * MIB_PRICE
    )
    return (
        f"| {count} × 5 min | {writes:,.0f} ({writes / FREE_WRITES:.0%}) "
        f"| {reads:,.0f} ({reads / FREE_READS:.0%}) "
        f"| {m['points_day']:,.0f} = {mib:.1f} MiB a month ({mib / FREE_METRIC_MIB:.0%}) "
        f"| {m['tick_writes']:,.0f} | ${price:.2f} |"
    )


def main() -> None:
    from tests.bench.stack import slow_upstream_on_emulator

    with slow_upstream_on_emulator():
        results = {}
        for count in (50, 500):  # each printed when measured: 500 takes long here
            results[count] = measure(count)
            print(f"{count} sources measured: {results[count]}", flush=True)
    print(
        "\n| sources × cadence | Firestore writes a day (of 20,000 free) "
        "| reads a day (of 50,000 free) | metric points a day (of 150 MiB a month) "
        f"| writes a tick (samples) | beyond the free tiers, a month (list prices of "
        f"{PRICES_AS_OF}) |"
    )
    print("|---|---|---|---|---|---|")
    for count, measured in results.items():
        print(_row(count, measured))
    print(
        "\n| sources | (reads, writes) of: a tick with samples | a tick without "
        "| a render, whole cards not due | a render with every whole card "
        "| the day-closing render | whole cards every | group-hour documents stored (13 hours) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for count, m in results.items():
        quick = "—" if m["quick"] is None else "{}, {}".format(*m["quick"])
        print(
            f"| {count} | {m['tick'][0]}, {m['tick'][1]} | {m['idle'][0]}, {m['idle'][1]} "
            f"| {quick} | {m['whole'][0]}, {m['whole'][1]} "
            f"| {m['closing'][0]}, {m['closing'][1]} | {m['card_every']:.0f} min "
            f"| {m['group_hour_docs']} |"
        )
