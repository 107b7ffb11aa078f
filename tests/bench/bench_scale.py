"""1,000 sources on the Firestore emulator (issue 10.11): `nox -s bench -- scale`.

1. A collect tick of 1,000 `http` checks against an upstream that answers every request
   after 200 ms, beside one source's tick. Target: ≤ 2× one source's time + 1 s.
2. The render of 1,000 sources (800 values, 200 checks; two days of hourly history
   each), into a folder, with the render function's own time budget: the first render
   and a day-closing render, each split across runs; steady-state renders with 0, 1,
   10, 100 and 1,000 changed sources. Time, documents read and written, sources drawn
   and left for the next run, per run. Targets: every run ≤ 60 % of the render
   function's timeout; reads per steady-state render ≤ 1 + 2 × changed sources, plus
   the alert state (one document, read by every render since tally alerts itself).
3. `schedule.period` of 1,000 sources with distinct crons, cold and cached.
4. The tick fanned out (issue 22): 1,000 sources through the path deployed (Pub/Sub
   emulator, functions-framework instances), and 10,000 simulated from measured
   parts (tests/bench/fanout_stack.py).
5. The render fanned out (render/fanned.py): the first render and a day-closing
   render of 1,000 sources, the scheduled run publishing its shards to a topic of the
   Pub/Sub emulator, each shard pulled back and drawn in turn, timed; the wall time of
   the fanned-out run on enough instances is the scheduled run + the slowest shard +
   the completing step (index.html and the overview). Target: within one render period
   (5 min).
Set TALLY_BENCH_SOURCES for a smaller run, TALLY_BENCH_PARTS (period, collect,
tick-fanout, render, render-fanout; comma-separated) for some parts only.
"""

from __future__ import annotations

import math
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.bench.stack import DELAY, slow_upstream_on_emulator, upstream_url

SOURCES = int(os.environ.get("TALLY_BENCH_SOURCES", "1000"))
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def _store():
    from google.cloud import firestore
    from tally.store import Store

    from tests.support.emulators import PROJECT

    return Store(firestore.Client(project=PROJECT), timeout=120)


def _checks(count: int):
    """`count` checks of the upstream's hosts in turn (`stack.upstream_url`)."""
    from tally.config import parse_config

    return parse_config(
        {
            "sources": [
                {"id": f"c{n:04d}", "kind": "http", "url": f"{upstream_url(n)}/health",
                 "every": "1m"}
                for n in range(count)
            ]
        }
    )  # fmt: skip


def bench_collect(url: str) -> None:
    from tally import collector
    from tally.collector import collect_tick

    store = _store()
    tick = datetime(2026, 1, 1, tzinfo=UTC)
    one, many = _checks(1), _checks(SOURCES)

    def timed(config, at) -> tuple[float, float, float]:  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        result = collect_tick(config, at, store)
        assert all(sample.ok for sample in result.samples)
        return time.perf_counter() - started, result.fetch_seconds, result.store_seconds

    timed(one, tick)  # warm the client and the connection to the emulator
    singles = [timed(one, tick + timedelta(minutes=n)) for n in range(1, 6)]
    one_s = statistics.median(row[0] for row in singles)
    target = 2 * one_s + 1
    print(
        f"Upstream: a separate process answering every request after {DELAY * 1000:.0f} ms; "
        f"store: the Firestore emulator; {os.cpu_count()} CPU cores.\n"
    )
    print("| collect tick | concurrent fetches | whole tick | until the slowest fetch "
          "| store after it | writes |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    print(f"| 1 source (median of 5) | 1 | {one_s:.3f} s | | | 1 |")
    default = collector.MAX_CONCURRENT_FETCHES
    minute = 10
    for limit in (64, default):  # the old default, and one wave of a shard
        collector.MAX_CONCURRENT_FETCHES = limit
        writes0 = store.counter.writes
        runs = [timed(many, tick + timedelta(minutes=minute + n)) for n in range(3)]
        minute += 3
        writes = (store.counter.writes - writes0) / len(runs)
        whole, fetch, stored = (statistics.median(row[i] for row in runs) for i in range(3))
        name = "the default, TALLY_MAX_CONCURRENCY" if limit == default else "the default before"
        verdict = "met" if whole <= target else "missed"
        print(
            f"| {SOURCES:,} sources (median of 3) | {limit} ({name}) | **{whole:.2f} s** "
            f"({verdict}) | {fetch:.2f} s | {stored:.2f} s | {writes:,.0f} |"
        )
    collector.MAX_CONCURRENT_FETCHES = default
    print(f"\nTarget ≤ 2 × {one_s:.3f} s + 1 s = {target:.2f} s.")


def _render_config(count: int):
    from tally.config import parse_config

    sources = []
    for n in range(count):
        source = {"id": f"s{n:04d}", "url": "https://example.test/", "every": "1h"}
        if n % 5 == 4:
            source.update(kind="http")
        else:
            source.update(kind="json", query="n", unit="clicks")
        sources.append(source)
    return parse_config({"title": "scale", "render_every": "5m", "sources": sources})


def _seed(store, config) -> float:  # type: ignore[no-untyped-def]
    from tests.render.seed import seed

    started = time.perf_counter()
    days = [NOW.date() - timedelta(days=2), NOW.date() - timedelta(days=1)]
    for n, source in enumerate(config.sources):
        seed(store, source.id, days, 60, lambda t, n=n: _value(n, t))
    return time.perf_counter() - started


def _value(n: int, tick: datetime) -> float | None:
    """A random walk per source, one sample in 30 failed: cards as varied as real ones
    (the overview's size depends on it: identical sparklines would compress to nothing)."""
    rng = random.Random(f"{n}-{tick.isoformat()}")
    if rng.random() < 1 / 30:
        return None
    return round(1000.0 + 37 * n + 400 * math.sin(tick.timestamp() / (3600 * (2 + n % 11))), 2)


def _write_news(store, config, count: int, at: datetime) -> None:  # type: ignore[no-untyped-def]
    from tally.group_document import assign
    from tally.sample import Sample

    samples = [
        Sample(source.id, at, ok=True, value=2000.0 + n, latency_ms=None)
        for n, source in enumerate(config.sources[:count])
    ]
    if samples:  # grouped as the collector groups them
        store.write_samples(samples, assign(source.id for source in config.sources))


def _render_runs(store, config, out: Path, start: datetime, label: str) -> list[dict]:  # type: ignore[no-untyped-def]
    """Render runs 5 minutes apart until no source is left for the next one."""
    from tally.render.entry import render_site

    runs = []
    at = start
    while True:
        started = time.perf_counter()
        result = render_site(config, store, out, now=at)
        runs.append(
            {
                "label": label if not runs else "",
                "run": len(runs) + 1,
                "seconds": time.perf_counter() - started,
                "drawn": len(result.redrawn),
                "pending": len(result.pending),
                "reads": result.reads,
                "writes": result.writes,
                "uploaded": len(result.uploaded),
            }
        )
        print(
            f"  {label} run {len(runs)}: {runs[-1]['seconds']:.0f} s, {len(result.redrawn)} drawn, "
            f"{len(result.pending)} left",
            file=sys.stderr,
            flush=True,
        )
        if not result.pending:
            return runs
        at += timedelta(minutes=5)


def bench_render() -> None:
    from tally.deadlines import RENDER_FUNCTION_TIMEOUT, render_sources_budget
    from tally.render.entry import render_site
    from tally.render.state import OVERVIEW_PATH

    from tests.support.firestore_clock import past_mark_overlap

    store = _store()
    config = _render_config(SOURCES)
    seeded = _seed(store, config)
    limit = RENDER_FUNCTION_TIMEOUT.total_seconds() * 0.6
    print(
        f"\n{SOURCES:,} sources ({SOURCES // 5 * 4:,} values, {SOURCES // 5:,} checks), two days "
        f"of hourly samples each (seeded in {seeded:.0f} s); output: a folder; the render "
        f"function's budget: {render_sources_budget().total_seconds():.0f} s on sources per "
        f"run (half its {RENDER_FUNCTION_TIMEOUT.total_seconds():.0f} s timeout).\n",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        runs = _render_runs(store, config, out, NOW, "first render (draws everything)")

        steady = []
        at = NOW + timedelta(minutes=5 * len(runs))
        for changed in (0, 1, 10, 100, SOURCES):
            _write_news(store, config, changed, at - timedelta(minutes=1))
            past_mark_overlap(store.client)  # the reads are the news, not a millisecond's
            started = time.perf_counter()
            result = render_site(config, store, out, now=at)
            steady.append((changed, time.perf_counter() - started, result))
            at += timedelta(minutes=5)

        closing_at = datetime.combine(NOW.date() + timedelta(days=1), datetime.min.time(), UTC)
        closing_at += timedelta(minutes=40)  # 30 min stale_event_after + 5.5 min margin, passed
        runs += _render_runs(store, config, out, closing_at, "a day closes (every source)")
        overview = store.get(OVERVIEW_PATH)

    print("| render run | time | sources drawn | left for the next run | reads | writes |")
    print("|---|---|---|---|---|---|")
    for run in runs:
        print(
            f"| {run['label']} {run['run']} | {run['seconds']:.0f} s | {run['drawn']:,} "
            f"| {run['pending']:,} | {run['reads']:,} | {run['writes']:,} |"
        )
    longest = max(run["seconds"] for run in runs)
    verdict = "met" if longest <= limit else "**missed**"
    print(
        f"\nLongest run {longest:.0f} s; target ≤ 60 % of the timeout = {limit:.0f} s: {verdict}."
    )

    print(
        "\n| steady-state render | changed sources | time | reads "
        "| changed sources' aggregates | writes |"
    )
    print("|---|---|---|---|---|---|")
    for changed, seconds, result in steady:
        print(
            f"| | {changed:,} | {seconds:.2f} s | **{result.reads:,}** | {changed:,} "
            f"| {result.writes} |"
        )
    blob = len(overview["blob"]) if overview else 0
    print(
        f"\nThe overview document (render/state) at {SOURCES:,} sources: {blob / 1024:.0f} KiB "
        f"compressed, {blob / SOURCES:.0f} bytes a source (Firestore's limit: 1 MiB)."
    )


def bench_period() -> None:
    from tally import schedule
    from tally.config import parse_config

    minutes = [f"{n % 60} {n // 60 % 24} * * *" for n in range(SOURCES // 4)]
    weekdays = [f"{n % 60} {n % 24} * * {1 + n % 5}-5" for n in range(SOURCES // 4)]
    monthly = [f"{n % 60} {n % 24} {1 + n % 28} * *" for n in range(SOURCES // 4)]
    dense = [f"*/{1 + n % 30} {n % 12}-23 * * *" for n in range(SOURCES - 3 * (SOURCES // 4))]
    crons = minutes + weekdays + monthly + dense
    config = parse_config(
        {
            "sources": [
                {
                    "id": f"p{n:04d}",
                    "kind": "json",
                    "url": "https://x.test/",
                    "query": "a",
                    "schedule": expr,
                }
                for n, expr in enumerate(crons)
            ]
        }
    )
    timings = []
    for _ in range(2):
        started = time.perf_counter()
        for source in config.sources:
            schedule.period(source, config.tz, NOW)
        timings.append(time.perf_counter() - started)
    print(
        f"\n| `schedule.period` of {SOURCES:,} sources, {len(set(crons)):,} distinct crons | time |"
    )
    print("|---|---|")
    print(f"| cold (parsed and computed) | {timings[0] * 1000:.0f} ms |")
    print(f"| cached (every later render) | {timings[1] * 1000:.1f} ms |")


def _fanned_run(store, config, out: Path, at: datetime, topic) -> dict:  # type: ignore[no-untyped-def]
    """One fanned-out render at `at`: the scheduled run, then every shard in turn (the
    last one completes the run: its completing step timed on its own)."""
    from tally.fanout.plan import shard_of
    from tally.render import fanned
    from tally.render.entry import render_site
    from tally.render.publish import FolderSink
    from tally.schedule import floor_minute

    completing: list[tuple[float, float]] = []  # (wall, CPU) seconds
    complete = fanned.complete

    def timed_complete(*args, **kwargs):  # type: ignore[no-untyped-def]
        started, cpu = time.perf_counter(), time.process_time()
        try:
            return complete(*args, **kwargs)
        finally:
            completing.append((time.perf_counter() - started, time.process_time() - cpu))

    tick = floor_minute(at)
    fan = fanned.FanOut(topic.publisher, tick, SHARD_SIZE)
    started = time.perf_counter()
    scheduled = render_site(config, store, out, now=at, fan=fan)
    scheduled_s = time.perf_counter() - started
    events = topic.pull()
    shards = []
    cpus: list[float] = []
    fanned.complete = timed_complete
    try:
        for event in events:
            shard = shard_of(event)
            assert shard is not None
            started, cpu = time.perf_counter(), time.process_time()
            result = fanned.render_shard(config, store, shard, tick, sink=FolderSink(out))
            shards.append((shard, time.perf_counter() - started, result))
            cpus.append(time.process_time() - cpu)
            print(
                f"  shard {shard.index + 1}/{shard.count}: {shards[-1][1]:.0f} s",
                file=sys.stderr,
                flush=True,
            )
    finally:
        fanned.complete = complete
    assert len(completing) == 1 and shards[-1][2] is not None and shards[-1][2].published
    done, done_cpu = completing[0]
    times = [seconds for _, seconds, _ in shards[:-1]] + [shards[-1][1] - done]
    cpus[-1] -= done_cpu
    return {
        "scheduled": scheduled_s,
        "shards": len(events),
        "sizes": sorted({len(shard.source_ids) for shard, _, _ in shards}),
        "times": times,
        "cpus": cpus,
        "completing": done,
        "completing_cpu": done_cpu,
        "wall": scheduled_s + max(times) + done,
        "drawn": len(shards[-1][2].redrawn),
        "pending": len(shards[-1][2].pending),
        "messages": scheduled.shards,
    }


SHARD_SIZE = int(os.environ.get("TALLY_RENDER_SHARD_SIZE", "100"))


def bench_render_fanout() -> None:
    from tally.deadlines import render_sources_budget

    from tests.support.pubsub import PubSubEmulator

    store = _store()
    config = _render_config(SOURCES)
    seeded = _seed(store, config)
    period = config.render_every.total_seconds()
    print(
        f"\nFanned out: {SOURCES:,} sources as above (seeded in {seeded:.0f} s), shards of "
        f"{SHARD_SIZE} sources published to a topic of the Pub/Sub emulator and drawn one "
        "after another here, each timed; on enough instances they draw at once, so the "
        "run's wall time is the scheduled run + the slowest shard + the completing step "
        f"(a shard's budget: {render_sources_budget().total_seconds():.0f} s). Load average "
        f"before: {', '.join(f'{x:.2f}' for x in os.getloadavg())}.\n",
        flush=True,
    )
    emulator = PubSubEmulator()
    try:
        topic = emulator.topic()
        closing_at = datetime.combine(NOW.date() + timedelta(days=1), datetime.min.time(), UTC)
        closing_at += timedelta(minutes=40)
        with tempfile.TemporaryDirectory() as folder:
            out = Path(folder)
            runs = [
                ("first render (draws everything)", _fanned_run(store, config, out, NOW, topic)),
                ("a day closes (every source)", _fanned_run(store, config, out, closing_at, topic)),
            ]
    finally:
        emulator.stop()
    print(
        "| fanned-out render | shards (sources each) | scheduled run | each shard: fastest, "
        "median, slowest (its CPU) | completing step (its CPU) | wall time on enough "
        "instances | sources drawn |"
    )
    print("|---|---|---|---|---|---|---|")
    for label, run in runs:
        times, cpus = run["times"], run["cpus"]
        verdict = "met" if run["wall"] <= period else "**missed**"
        sizes = "–".join(str(size) for size in run["sizes"])
        print(
            f"| {label} | {run['shards']} ({sizes}) | {run['scheduled']:.1f} s "
            f"| {min(times):.0f} s, {statistics.median(times):.0f} s, {max(times):.0f} s "
            f"({max(cpus):.0f} s) | {run['completing']:.1f} s ({run['completing_cpu']:.1f} s) "
            f"| **{run['wall']:.0f} s** ({verdict}) | {run['drawn']:,} ({run['pending']} left) |"
        )
    print(
        f"\nTarget: within one render period ({period:.0f} s). Load average after: "
        f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}."
    )


def bench_fanout(url: str) -> None:
    """Issue 22: the tick through the deployed path, fanned out, and 10,000 simulated."""
    from tests.bench.fanout_stack import (
        MEASURED,
        SHARD,
        STACK_ROWS,
        WARM,
        bench_stack_tick,
        simulated,
    )

    measured = bench_stack_tick(SOURCES)
    one = measured[f"1/2/{SHARD} alerted"]
    target = 2 * one + 1
    print(
        "\nThe tick through the path deployed: the scheduler's message on the Pub/Sub "
        "emulator, pushed to `main.collect` on the functions-framework (a process an "
        "instance, each handed one request at a time, as Cloud Run does); past a shard's "
        "sources due, shards published back and pushed to the instances (the emulator "
        f"pushes 2 at a time). Shards of {SHARD} are the deployed default; on this 2-core "
        f"machine, shards of 500 are one an instance. Median of {MEASURED} ticks after "
        f"{WARM} that warm the instances, on a "
        "Firestore emulator warmed first (a JVM: cold, it takes 3.8 s of CPU for a "
        "1,000-sample write it does in 0.2 s warm).\n"
    )
    print(
        "| tick through Pub/Sub | instances | samples stored | alerting done "
        "| CPU: the collect function's processes, the whole machine |"
    )
    print("|---|---|---|---|---|")
    for sources, workers, shard in STACK_ROWS:
        sources = min(sources, SOURCES)
        key = f"{sources}/{workers}/{shard}"
        alerted = measured[f"{key} alerted"]
        verdict = "" if sources == 1 else (" (met)" if alerted <= target else " (missed)")
        shards = "" if sources == 1 else f", {-(-sources // shard)} shards of {shard}"
        print(
            f"| {sources:,} source{'s' if sources > 1 else ''}{shards} | {workers} "
            f"| {measured[f'{key} stored']:.2f} s | **{alerted:.2f} s**{verdict} "
            f"| {measured[f'{key} function cpu']:.2f} s, {measured[f'{key} machine cpu']:.2f} s |"
        )
    print(f"\nTarget ≤ 2 × {one:.2f} s + 1 s = {target:.2f} s (alerting done).")
    for sources, workers, shard in STACK_ROWS[1:]:
        ticks = measured[f"{min(sources, SOURCES)}/{workers}/{shard} ticks"]
        listed = ", ".join(
            f"{at:.2f} s" + (" (one instance)" if alone else "") for at, alone in ticks
        )
        print(f"Shards of {shard}, each tick measured: {listed}.")
    print("(one instance): one instance did the whole tick's work, its shards one after another.")

    sims = {count: simulated(count) for count in (SOURCES, 10_000)}  # 1,000 first
    walls = {n: sim["hand out"] + sim["shard"] + sim["last step"] for n, sim in sims.items()}
    met = {n: "met" if wall <= target else "missed" for n, wall in walls.items()}

    def row(name: str, cell) -> str:  # type: ignore[no-untyped-def]
        return f"| {name} | " + " | ".join(cell(n, sim) for n, sim in sims.items()) + " |\n"

    print(
        "\n| a tick with an instance per shard, simulated from measured parts | "
        + " | ".join(f"{n:,} sources" for n in sims)
        + " |\n|---|---|---|\n"
        + row("shards, messages a tick", lambda n, s: f"{s['shards']:.0f}, {s['messages']:.0f}")
        + row("the scheduler's step (run opened, messages published)",
              lambda n, s: f"{s['hand out']:.2f} s")
        + row(f"one shard of {SHARD} `http` checks, one instance (median of 3)",
              lambda n, s: f"{s['shard']:.2f} s")
        + row("the last shard's step: payloads read, alerting on every sample, closed",
              lambda n, s: f"{s['last step']:.2f} s (first: {s['last step, first tick']:.2f} s)")
        + row("**wall time, an instance per shard**",
              lambda n, s: f"**{walls[n]:.2f} s** ({met[n]})")
        + row("Firestore operations of the steady tick (samples, fan-out, alerting)",
              lambda n, s: f"{s['reads']:.0f} reads, {s['writes']:.0f} writes")
    )  # fmt: skip


def main() -> None:
    parts = {
        part.strip()
        for part in os.environ.get(
            "TALLY_BENCH_PARTS", "period,collect,tick-fanout,render,render-fanout"
        ).split(",")
    }
    with slow_upstream_on_emulator() as url:
        if "period" in parts:
            bench_period()
        if "collect" in parts:
            bench_collect(url)
        if "tick-fanout" in parts:
            bench_fanout(url)
        if "render" in parts:
            bench_render()
    if "render-fanout" in parts:  # a fresh emulator: the render above left its state
        with slow_upstream_on_emulator():
            bench_render_fanout()


if __name__ == "__main__":
    main()
