"""Render benchmarks: end to end from the store (Firestore emulator) to written files.

1. One source with a year of per-minute data (525,600 samples): tally's steady-state
   render (aggregates cached) against a naive full-history render that reads every
   sample and plots it at full resolution with pandas/matplotlib, as the systems
   tally replaces did. Target ≤ 1/5.
2. Firestore documents read per steady-state render of one source with 1 day, 1 year
   and 5 years of history. Target ≤ 10 at all three.
3. Cold start of the render function: import, then the first chart, in a fresh
   interpreter with an empty MPLCONFIGDIR (as on a new Cloud Functions instance).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
RUNS = 5


def _store():
    from google.cloud import firestore
    from tally.store import Store

    from tests.support.emulators import PROJECT

    return Store(firestore.Client(project=PROJECT), timeout=600)


def _config(source_id: str, every: str):
    from tally.config import parse_config

    return parse_config(
        {
            "sources": [
                {
                    "id": source_id,
                    "name": source_id,
                    "unit": "clicks",
                    "kind": "json",
                    "url": "https://example.test/",
                    "query": "n",
                    "every": every,
                }
            ]
        }
    )


def _wave(tick: datetime) -> float:
    return 1000.0 + (tick.timestamp() // 60) % 1440 + tick.toordinal() % 37


def _seed(store, source_id: str, days: int, every_minutes: int) -> float:  # type: ignore[no-untyped-def]
    from tests.render.seed import days_back, seed

    started = time.perf_counter()
    seed(store, source_id, days_back(NOW.date() - timedelta(days=1), days), every_minutes, _wave)
    return time.perf_counter() - started


def naive_render(store, source_id: str, out: Path) -> int:  # type: ignore[no-untyped-def]
    """Read every sample, plot it point by point (line, daily close, weekly candles)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    rows = [(s.tick, s.value) for s in store.samples(source_id)]
    frame = pd.DataFrame(rows, columns=["time", "value"]).set_index("time")
    series = frame["value"]
    out.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(4.8, 2.7), dpi=300)
    ax.plot(series.index, series.values, linewidth=1.0)
    fig.savefig(out / "full.png")
    plt.close(fig)
    daily = series.resample("D").ohlc()
    fig, ax = plt.subplots(figsize=(4.8, 2.7), dpi=300)
    ax.plot(daily.index, daily["close"], linewidth=1.0)
    fig.savefig(out / "daily.png")
    plt.close(fig)
    weekly = series.resample("W").ohlc()
    fig, ax = plt.subplots(figsize=(4.8, 2.7), dpi=300)
    ax.vlines(weekly.index, weekly["low"], weekly["high"])
    ax.bar(weekly.index, weekly["close"] - weekly["open"], bottom=weekly["open"], width=5)
    ax.plot(weekly.index, weekly["close"].rolling(5).mean())
    ax.plot(weekly.index, weekly["close"].rolling(25).mean())
    fig.savefig(out / "weekly.png")
    plt.close(fig)
    return len(series)


def _steady_renders(store, config, source_id: str, out: Path, start: datetime):  # type: ignore[no-untyped-def]
    """RUNS renders, each after one new sample, spaced so the source is redrawn."""
    from tally.render.entry import render_site
    from tally.render.plan import detail_every
    from tally.sample import Sample

    from tests.support.firestore_clock import past_mark_overlap

    step = detail_every(config)
    timings, reads, objects = [], [], []
    at = start
    for _ in range(RUNS):
        at += step
        store.write_sample(Sample(source_id, at - timedelta(minutes=1), ok=True, value=1.0))
        past_mark_overlap(store.client)  # the reads are the sample's, not a millisecond's
        started = time.perf_counter()
        result = render_site(config, store, out, now=at)
        timings.append(time.perf_counter() - started)
        reads.append(result.reads)
        objects.append(len(result.uploaded))
        assert result.redrawn == [source_id], result.redrawn
    return timings, reads, objects, at


def bench_year_of_minutes(store) -> None:  # type: ignore[no-untyped-def]
    from tally.render.entry import render_site
    from tally.sample import Sample

    source_id = "minutely"
    config = _config(source_id, "1m")
    seeded = _seed(store, source_id, 365, 1)
    out = Path(tempfile.mkdtemp(prefix="tally-bench-render-"))

    naive = []
    for _ in range(3):
        reads0 = store.counter.reads
        started = time.perf_counter()
        count = naive_render(store, source_id, out / "naive")
        naive.append(time.perf_counter() - started)
        naive_reads = store.counter.reads - reads0

    started = time.perf_counter()
    first = render_site(config, store, out / "site", now=NOW)
    cold = time.perf_counter() - started

    timings, reads, objects, at = _steady_renders(store, config, source_id, out / "site", NOW)

    # the first render after a day closes: one more day folded, long-range charts redrawn
    next_day = datetime.combine(at.date() + timedelta(days=1), datetime.min.time(), UTC)
    close_at = next_day + timedelta(hours=1)
    store.write_sample(Sample(source_id, close_at - timedelta(minutes=1), ok=True, value=2.0))
    started = time.perf_counter()
    closing = render_site(config, store, out / "site", now=close_at)
    day_close = time.perf_counter() - started

    steady = statistics.median(timings)
    naive_s = statistics.median(naive)
    print(
        f"One source, {count:,} per-minute samples in 365 day documents "
        f"(seeded in {seeded:.0f} s); store: the Firestore emulator; output: a folder.\n"
    )
    print("| render, end to end | time | documents read | objects written |")
    print("|---|---|---|---|")
    print(
        f"| naive: read every sample, plot at full resolution (pandas/matplotlib), median of 3 "
        f"| {naive_s:.2f} s | {naive_reads} | 3 |"
    )
    print(
        f"| tally, first render (folds the whole history into the aggregates, once) "
        f"| {cold:.2f} s | {first.reads} | {len(first.uploaded)} |"
    )
    print(
        f"| tally, steady state: one new sample (median of {RUNS}) | **{steady:.2f} s** "
        f"| {statistics.median(reads):g} | {statistics.median(objects):g} |"
    )
    print(
        f"| tally, first render after a day closes (long-range charts redrawn) "
        f"| {day_close:.2f} s | {closing.reads} | {len(closing.uploaded)} |"
    )
    print(
        f"\nSteady state / naive: **{steady / naive_s:.3f}** (target ≤ 0.2); "
        f"day close / naive: {day_close / naive_s:.3f}."
    )


def bench_reads(store) -> None:  # type: ignore[no-untyped-def]
    from tally.render.entry import render_site

    from tests.support.firestore_clock import past_mark_overlap

    cases = [
        ("1 day", "one-day", 1, 1, "1m"),
        ("1 year", "one-year", 365, 1, "1m"),
        ("5 years", "five-years", 5 * 365, 60, "1h"),
    ]
    print("\n| history of one source | samples | steady-state reads (new sample) |", end="")
    print(" reads, nothing new | first render reads |")
    print("|---|---|---|---|---|")
    for label, source_id, days, every_min, every in cases:
        # each case is a deployment of its own: no render state from the one before
        store.client.recursive_delete(store.client.collection("render"))
        _seed(store, source_id, days, every_min)
        config = _config(source_id, every)
        out = Path(tempfile.mkdtemp(prefix="tally-bench-reads-"))
        first = render_site(config, store, out, now=NOW)
        _, reads, _, at = _steady_renders(store, config, source_id, out, NOW)
        past_mark_overlap(store.client)
        idle = render_site(config, store, out, now=at + timedelta(minutes=5))
        samples = days * 1440 // every_min
        print(f"| {label} | {samples:,} | **{max(reads)}** | {idle.reads} | {first.reads} |")
    print(
        "\nA steady-state render of a changed source reads the overview, the day document "
        "the change query returns, its group's render document and the alert state "
        "(the page shows open incidents); with nothing new, the overview, the (empty) "
        "query and the alert state. Target ≤ 10 at all three."
    )


COLD = """
import os, sys, time, tempfile
os.environ["MPLCONFIGDIR"] = tempfile.mkdtemp(prefix="tally-cold-")
t0 = time.perf_counter()
from tally.render.entry import render_site
t1 = time.perf_counter()
import numpy as np
from pathlib import Path
from tally.render import charts
from tally.render.series import ChartSpec, Series
if sys.argv[1] == "scan":
    charts.FONTLISTS = Path("/nonexistent")  # matplotlib scans and parses every font itself
x = np.arange(2880).astype("datetime64[m]").astype("datetime64[s]")
charts.draw(ChartSpec("c", "first chart", "", lines=[Series("v", x, np.sin(np.arange(2880.0)))]))
t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""


def _cold(variant: str) -> tuple[float, float]:
    runs = []
    for _ in range(RUNS):
        result = subprocess.run(
            [sys.executable, "-c", COLD, variant],
            cwd=ROOT / "functions",
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append([float(v) for v in result.stdout.split()])
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def bench_cold_start() -> None:
    imports, chart = _cold("shipped")
    _, scanned = _cold("scan")
    print(
        f"\n| render cold start (fresh interpreter, empty MPLCONFIGDIR, median of {RUNS}) | time |"
    )
    print("|---|---|")
    print(f"| import tally.render.entry (Firestore client, numpy) | {imports:.2f} s |")
    print(f"| first chart (matplotlib + Japanese font + draw + PNG) | {chart:.2f} s |")
    print(f"| total | **{imports + chart:.2f} s** |")
    print(
        f"| first chart if matplotlib built its font cache itself (no shipped font list) "
        f"| {scanned:.2f} s |"
    )


def main() -> None:
    from tally import logs

    from tests.support.emulators import PROJECT, FirestoreEmulator

    emulator = FirestoreEmulator()
    os.environ["FIRESTORE_EMULATOR_HOST"] = emulator.host
    os.environ["GOOGLE_CLOUD_PROJECT"] = PROJECT
    os.environ.setdefault("MPLCONFIGDIR", tempfile.mkdtemp(prefix="tally-bench-mpl-"))
    logs.set_min_severity("ERROR")
    try:
        store = _store()
        bench_year_of_minutes(store)
        bench_reads(store)
        bench_cold_start()
    finally:
        emulator.stop()


if __name__ == "__main__":
    main()
