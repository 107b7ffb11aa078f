"""Alerting benchmarks: what it costs in Firestore operations and in a tick's time.

1. Firestore operations alerting adds, counted at the client's RPCs: per tick in steady
   state (no incident changing), 50 sources every 5 minutes, whatever the number of
   sources; and per incident that opens and resolves, with one channel. Then the day's
   totals against the free tier.
2. A tick of 50 sources (upstream answering after 200 ms) in which 5 incidents open at
   once and the one channel answers after 2 s: when the samples are stored, with and
   without alerting, and how long alerting itself takes.
3. A storm at 1,000 and 10,000 sources (5 rules each, 4 channels): every value moves,
   then every upstream fails with a distinct 300-character reason, then all recover.
   Messages per channel, the state's documents and sizes, reads and writes, the time
   alerting takes, per phase. The samples are handed to alerting as the collector
   stores them (fetching 10,000 sources is the scale benchmark's business).
4. Flapping: a value alternating every minute, and in 2-minute blocks, for an hour
   under `above: 100`, with the default damping and with flap detection off: messages
   per channel.
"""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta

from tests.bench.bench_collect import RpcCounter, _store
from tests.bench.stack import slow_upstream_on_emulator

FREE_READS, FREE_WRITES = 50_000, 20_000


def _config(url: str, count: int, every: str, hook: str, breaching: int = 0, channels: int = 1):  # type: ignore[no-untyped-def]
    from tally.config import parse_config

    sources = []
    for n in range(count):
        # change: evaluated every tick, never firing on a latency that merely doubles
        alerts: dict = {"stale_after": "30m", "change": {"percent": 1000, "window": "1d"}}
        alerts["above"] = 100 if n < breaching else 60_000  # a check's value: its ms
        sources.append(
            {
                "id": f"s{n:03d}",
                "kind": "http",
                "url": f"{url}/health",
                "every": every,
                "timeout": "10s",
                "alerts": alerts,
            }
        )
    notify = {f"hook{n}" if n else "hook": hook for n in range(channels)}
    # no damping: these rows measure what one incident opening or resolving costs
    return parse_config(
        {"notify": notify, "alerts": {"pending": 1, "recovery": 1}, "sources": sources}
    )


def _distinct(ops: list[tuple[int, int]]) -> str:
    """Every distinct (reads, writes) seen, as "1, 1" (or "1, 1 / 2, 1" if they varied)."""
    return " / ".join(f"{reads}, {writes}" for reads, writes in sorted(set(ops)))


def bench_steady_state(url: str, hook: str) -> None:
    from tally.collector import collect_tick

    rows = []
    for count in (5, 50, 200):
        store = _store()
        config = _config(url, count, "5m", hook)
        start = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(days=count)
        for minute in range(10):  # settle: every source seen, nothing firing
            collect_tick(config, start + timedelta(minutes=minute), store)
        due, idle = [], []
        for minute in range(10, 30):
            result = collect_tick(config, start + timedelta(minutes=minute), store)
            assert result.alerts is not None and not result.alerts.opened, (
                [(i.id, i.summary) for i in result.alerts.opened][:3],
                [(s.source_id, s.error) for s in result.samples if not s.ok][:3],
            )
            # alerting's own operations (the samples' group documents are the collector's)
            ops = (result.alerts.reads, result.alerts.writes)
            (due if result.samples else idle).append(ops)
        rows.append((count, due, idle))
    print(
        "| sources, every 5 min | alerting per tick with samples (reads, writes) "
        "| per tick without (reads, writes) |"
    )
    print("|---|---|---|")
    for count, due, idle in rows:
        print(f"| {count} | {_distinct(due)} | {_distinct(idle)} |")
    # A day of the 50-source row, from what was measured: 288 ticks with samples, the
    # other 1,152 collect ticks without (the most any tick of each sort cost).
    due_reads, due_writes = max(rows[1][1])
    idle_reads, idle_writes = max(rows[1][2])
    per_day_reads = 288 * due_reads + 1152 * idle_reads
    per_day_writes = 288 * due_writes + 1152 * idle_writes
    samples = 50 * 288
    render_reads = 3 * 50 * 288 + 288  # README's render bound, plus the alert state per render
    print(
        f"\nA day of 50 sources every 5 minutes, alerting on: writes {samples:,} samples "
        f"+ {per_day_writes} alert state = **{samples + per_day_writes:,}** of "
        f"{FREE_WRITES:,} free; reads {per_day_reads:,} alert state + {render_reads:,} "
        f"render = **{per_day_reads + render_reads:,}** of {FREE_READS:,} free."
    )


def bench_incidents(url: str, hook: str) -> None:
    from tally.collector import collect_tick

    store = _store()
    start = datetime(2026, 4, 1, tzinfo=UTC)
    for index, (count, channels) in enumerate(((1, 1), (5, 1), (1, 3))):
        calm = _config(url, 5, "1m", hook, channels=channels)
        firing = _config(url, 5, "1m", hook, breaching=count, channels=channels)
        at = start + timedelta(hours=index)
        collect_tick(calm, at, store)  # nothing firing
        opened = collect_tick(firing, at + timedelta(minutes=1), store).alerts
        resolved = collect_tick(calm, at + timedelta(minutes=2), store).alerts
        assert opened is not None and resolved is not None
        print(
            f"| {count} incident(s) open at once, {channels} channel(s) | {opened.reads} "
            f"reads, {opened.writes} writes | {resolved.reads} reads, "
            f"{resolved.writes} writes |"
        )


def bench_tick_time(url: str, receiver) -> None:  # type: ignore[no-untyped-def]
    from tally.collector import collect_tick

    store = _store()
    receiver.up(delay=2.0)
    config = _config(url, 50, "1m", receiver.url(), breaching=5)
    calm = _config(url, 50, "1m", receiver.url())
    start = datetime(2026, 5, 1, tzinfo=UTC)
    rows: dict[str, list[tuple[float, float]]] = {"off": [], "on": []}
    for run in range(5):
        at = start + timedelta(hours=run)
        collect_tick(calm, at, store)  # nothing open
        for mode in ("off", "on"):
            at += timedelta(minutes=1)
            t0 = datetime.now(UTC)
            result = collect_tick(config, at, store, alerting=mode == "on")
            total = (datetime.now(UTC) - t0).total_seconds()
            stored = result.fetch_seconds + result.store_seconds
            if mode == "on":
                assert result.alerts is not None and len(result.alerts.opened) == 5
            rows[mode].append((stored, total))
            collect_tick(calm, at + timedelta(seconds=30), store)  # resolve for the next run
    med = {mode: [statistics.median(r[i] for r in rows[mode]) for i in (0, 1)] for mode in rows}
    print(
        "\n| 50 sources, 5 incidents opening, channel answering after 2 s (median of 5) "
        "| samples stored after | whole tick |"
    )
    print("|---|---|---|")
    print(f"| alerting off | {med['off'][0]:.3f} s | {med['off'][1]:.3f} s |")
    print(f"| alerting on | {med['on'][0]:.3f} s | {med['on'][1]:.3f} s |")
    print(
        f"\nAlerting runs after the samples are stored and the metrics written: it adds "
        f"{med['on'][1] - med['off'][1]:.2f} s to the tick (the 2 s channel, the 5 messages "
        "sent at once), and nothing before the samples are stored."
    )


STORM_RULES = {
    "above": 1000,
    "below": 1,
    "change": {"percent": 10, "window": "3m"},
    "stale_after": "3m",
}


def _synthetic(count: int, notify: dict[str, str], **top: object):  # type: ignore[no-untyped-def]
    from tally.config import parse_config

    sources = [
        {
            "id": f"s{n:05d}",
            "kind": "http",
            "url": "http://127.0.0.1:9/health",
            "every": "1m",
            "alerts": STORM_RULES,
        }
        for n in range(count)
    ]
    return parse_config(
        {"notify": notify, "site_url": "https://example.test", "sources": sources, **top}
    )


def _alert_tick(config, store, at, value, reasons):  # type: ignore[no-untyped-def]
    """One tick of alerting with every source's sample: `value`, or failed (None)."""
    import time

    from tally.alerts.engine import run_alerts
    from tally.sample import Sample

    samples = [
        Sample(source_id=s.id, tick=at, ok=True, value=value)
        if value is not None
        else Sample(source_id=s.id, tick=at, ok=False, error=reasons[s.id])
        for s in config.sources
    ]
    started = time.perf_counter()
    run = run_alerts(config, store, at, samples, now=at + timedelta(seconds=20))
    return run, time.perf_counter() - started


def bench_storm(receiver) -> None:  # type: ignore[no-untyped-def]
    import random
    import string

    from google.cloud import firestore

    print(
        "\n| storm (5 rules, 4 channels) | phase | ticks | incidents | messages per channel "
        "| alerting time, slowest tick | reads, writes (slowest tick) | state: documents, "
        "largest, total (compressed), trim level |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for count in (1000, 10_000):
        store = _store()
        counter = RpcCounter(store.client)
        store.client.recursive_delete(store.client.collection("alerts"))
        channels = {f"c{n}": receiver.url("json", f"/c{n}") for n in range(4)}
        config = _synthetic(count, channels)
        rng = random.Random(count)
        letters = string.ascii_letters + string.digits
        reasons = {s.id: "".join(rng.choices(letters, k=300)) for s in config.sources}
        start = datetime(2026, 6, 1, tzinfo=UTC)
        phases = [
            ("steady", [100.0] * 3),
            ("every value moves", [1500.0] * 2),
            ("every upstream fails", [None] * 4),
            ("all recover", [100.0] * 4),
        ]
        minute = 0
        receiver.take()
        for phase, values in phases:
            slowest = (0.0, (0, 0), None)
            opened = resolved = 0
            for value in values:
                before = (counter.reads, counter.writes)
                run, seconds = _alert_tick(
                    config, store, start + timedelta(minutes=minute), value, reasons
                )
                minute += 1
                ops = (counter.reads - before[0], counter.writes - before[1])
                opened += len(run.opened)
                resolved += len(run.resolved)
                if seconds >= slowest[0]:
                    slowest = (seconds, ops, run.written)
            received = receiver.take()
            per_channel = sorted({sum(1 for r in received if r.path == f"/c{n}") for n in range(4)})
            written = slowest[2]
            sizes = written.sizes if written else {}
            state = (
                f"{len(sizes)}, {max(sizes.values()):,} B, {sum(sizes.values()):,} B, "
                f"{written.level}"
                if written
                else "–"
            )
            print(
                f"| {count:,} sources | {phase} | {len(values)} | {opened:,} opened, "
                f"{resolved:,} resolved | {' / '.join(map(str, per_channel))} "
                f"| {slowest[0]:.1f} s | {slowest[1][0]}, {slowest[1][1]} | {state} |",
                flush=True,
            )
        documents = [
            len(doc.to_dict()["blob"])
            for doc in firestore.Client(project="demo-tally").collection("alerts").stream()
        ]
        print(
            f"| {count:,} sources | after the storm | | | | | | {len(documents)}, "
            f"{max(documents):,} B, {sum(documents):,} B |"
        )


def bench_flapping(receiver) -> None:  # type: ignore[no-untyped-def]
    from tally.alerts.engine import run_alerts
    from tally.config import parse_config
    from tally.sample import Sample

    print(
        "\n| an hour of a value under `above: 100` | damping | messages per channel in the hour "
        "| after it holds steady |"
    )
    print("|---|---|---|---|")
    cases = [
        ("150 / 50 every minute", lambda m: 150.0 if m % 2 == 0 else 50.0, {}),
        ("150, 150, 50, 50, … (2-minute blocks)", lambda m: 150.0 if m // 2 % 2 == 0 else 50.0, {}),
        (
            "150, 150, 50, 50, … (2-minute blocks)",
            lambda m: 150.0 if m // 2 % 2 == 0 else 50.0,
            {"flapping": False},
        ),
    ]
    for index, (label, value, alerts) in enumerate(cases):
        store = _store()
        store.client.recursive_delete(store.client.collection("alerts"))
        config = parse_config(
            {
                "notify": {"a": receiver.url("json", "/a"), "b": receiver.url("form", "/b")},
                "sources": [
                    {
                        "id": "price",
                        "kind": "json",
                        "url": "http://127.0.0.1:9/v",
                        "query": "v",
                        "every": "1m",
                        "alerts": {"above": 100, **alerts},
                    }
                ],
            }
        )
        start = datetime(2026, 7, 1, tzinfo=UTC) + timedelta(days=index)
        receiver.take()
        counts = []
        for minutes in (range(60), range(60, 100)):
            for minute in minutes:
                at = start + timedelta(minutes=minute)
                current = value(minute) if minute < 60 else 50.0
                sample = Sample(source_id="price", tick=at, ok=True, value=current)
                run_alerts(config, store, at, [sample], now=at + timedelta(seconds=20))
            received = receiver.take()
            counts.append(sorted({sum(1 for r in received if r.path == p) for p in ("/a", "/b")}))
        damping = "defaults, flapping off" if alerts else "defaults"
        print(
            f"| {label} | {damping} | {' / '.join(map(str, counts[0]))} "
            f"| {' / '.join(map(str, counts[1]))} |",
            flush=True,
        )


def main() -> None:
    from tests.support.receiver import Receiver

    with slow_upstream_on_emulator() as url:
        receiver = Receiver()
        try:
            bench_steady_state(url, receiver.url())
            print("\n| incidents | opening (alerting's reads, writes) | resolving |")
            print("|---|---|---|")
            bench_incidents(url, receiver.url())
            bench_tick_time(url, receiver)
            receiver.up()
            bench_flapping(receiver)
            bench_storm(receiver)
        finally:
            receiver.down()


if __name__ == "__main__":
    main()
