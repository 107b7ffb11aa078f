"""One tick: fetch every due source concurrently, store each sample, push metrics.

A source's failure is its own failed sample; only the store failing raises, so that
the platform retries the event. A group of sources (`group_document`) is stored in one
document write as soon as its last due source has answered, so the tick lasts about as
long as its slowest source and costs a write per group, not per source.
"""

from __future__ import annotations

import os
import queue
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from tally import fetch_threads, logs
from tally.config import Config, SourceBase, UnknownSource
from tally.deadlines import SOURCE_GRACE, collect_start_budget
from tally.group_document import assign, group_of
from tally.metrics import MetricWriter, wanted_metrics
from tally.sample import Reading, Sample, format_value
from tally.schedule import floor_minute, is_due
from tally.secrets import redact
from tally.sources import FetchError, hosts, kept, kind_of, prepare, read
from tally.store import Store

if TYPE_CHECKING:
    from tally.alerts.engine import AlertRun

# Fetches wait on the network: a tick's sources, up to a shard of them
# (tick_fanout.SHARD_SIZE), go out in one wave, so a shard lasts about as long as its
# slowest source, not four turns of 64 (1,000 sources in 4 shards through Pub/Sub:
# 2.10 s against 3.27 s, docs/benchmarks.md); one host is asked at most 64 at a time
# (sources/hosts). A thread costs little memory, and the bodies the threads hold are
# bounded (sources/bodies: 256 KiB each flows freely, then 4 turns).
MAX_CONCURRENT_FETCHES = int(os.environ.get("TALLY_MAX_CONCURRENCY", "250"))
SCAN_SECONDS = 0.1  # how often a tick looks for fetches past their deadline


@dataclass
class TickResult:
    tick: datetime
    samples: list[Sample]
    fetch_seconds: float = 0.0  # until the slowest source answered: fetches run concurrently
    store_seconds: float = 0.0  # after that, until every sample was stored
    alerts: AlertRun | None = None  # what alerting did on this tick (after storing)


def due_sources(
    config: Config, tick: datetime, only: Sequence[str] | None = None
) -> list[SourceBase]:
    """The sources to collect: those due at the tick, or exactly `only` when given."""
    if only:
        known = {source.id: source for source in config.sources}
        missing = [source_id for source_id in only if source_id not in known]
        if missing:
            raise UnknownSource(missing)
        return [known[source_id] for source_id in dict.fromkeys(only)]
    return [source for source in config.sources if is_due(source, tick, config.tz)]


def host_asked(source: SourceBase) -> str:
    """The host the source's fetch asks (sources/hosts); a kind that cannot say gets a
    turn of its own, and its fetch says what is wrong: never the tick's failure."""
    try:
        return hosts.host_of(kind_of(source).address(source))
    except Exception:  # noqa: BLE001 - a bug in a kind must not cost the tick
        return f"source {source.id}"


def _fetch_one(source: SourceBase, tick: datetime) -> Sample:
    return _sample_of(source, tick, read(source))


def _overdue(source: SourceBase, tick: datetime, reason: str) -> Sample:
    """The failed sample of a source the tick stopped waiting for."""
    return _sample_of(source, tick, kind_of(source).failed(FetchError(reason, permanent=False)))


def _sample_of(source: SourceBase, tick: datetime, reading: Reading) -> Sample:
    """The tick's sample of a reading, logged."""
    sample = Sample(
        source_id=source.id,
        tick=tick,
        ok=reading.ok,
        value=reading.value,
        error=reading.error,
        latency_ms=reading.latency_ms,
        status=reading.status,
        up=reading.up,
        degraded=reading.degraded,
        entries=reading.entries if reading.ok else None,
    )
    if sample.ok:
        shown = format_value(sample.value) if sample.value is not None else "ok"
        logs.info(
            f"{source.id}: {shown}",
            source=source.id,
            value=sample.value,
            latency_ms=sample.latency_ms,
        )
    else:
        logs.warning(
            f"{source.id}: failed: {sample.error}",
            source=source.id,
            error=sample.error,
            status=sample.status,
        )
    return sample


def _answered(answered: queue.SimpleQueue[Future[Sample]], timeout: float) -> list[Future[Sample]]:
    """The fetches done since last asked, waiting up to `timeout` for the first.

    Each fetch's future puts itself in `answered` when done. `concurrent.futures.wait`
    would do, but it hangs a waiter on every fetch still out at each call: a tick of
    500 sources made that 500 × 500 lock round trips."""
    try:
        done = [answered.get(timeout=timeout)]
    except queue.Empty:
        return []
    while True:
        try:
            done.append(answered.get_nowait())
        except queue.Empty:
            return done


def _fetch_and_store(
    sources: list[SourceBase],
    tick: datetime,
    store: Store,
    groups: dict[str, str],
    host_limits: Mapping[str, int] | None = None,
) -> list[tuple[Sample, float]]:
    """Fetch concurrently and store each group of sources once all its due sources have
    answered: while one commit is in flight the groups completed meanwhile wait, then go
    together in the next. A tick then lasts about as long as its slowest source plus one
    small commit, at one document write per group (`groups`: source id → group) and a
    handful of round trips. Returns (sample, seconds after start) in config order, each
    sample as stored (one Firestore refused is stored as a failure saying why).

    Whatever the sources do, the tick ends in time: a source still busy after its
    `timeout` plus the grace (its page taking ages to parse) is a failed sample, and so
    is a source not started within the start budget (hundreds of sources hanging at
    once); their threads are left to finish on their own. Overdue fetches are looked
    for every SCAN_SECONDS, not at every completion (1,000 sources would make that
    quadratic).
    """
    started = time.perf_counter()
    budget = collect_start_budget().total_seconds()
    grace = SOURCE_GRACE.total_seconds()
    began: dict[int, float] = {}
    stored: dict[str, Sample] = {}

    def commit(batch: list[Sample]) -> None:
        for sample in store.write_samples(batch, groups):
            stored[sample.source_id] = sample

    # a group's samples wait until its last due source is in: one write per group
    missing: dict[str, int] = {}
    for source in sources:
        group = group_of(groups, source.id)
        missing[group] = missing.get(group, 0) + 1
    waiting_for: dict[str, list[Sample]] = {}

    turns = hosts.HostTurns(hosts.PER_HOST, host_limits)  # a shard's shares (tick_fanout)
    connections = kept.KeptConnections()  # open between fetches of a host, this tick only

    def fetch(index: int, source: SourceBase) -> Sample:
        with turns.turn(host_asked(source)), kept.keeping(connections):
            began[index] = time.perf_counter()  # its timeout counts from here
            return _fetch_one(source, tick)  # never raises: a failure is a failed sample

    def overdue(index: int, now: float) -> Sample | None:
        source = sources[index]
        if index in began:
            if now < began[index] + source.timeout.total_seconds() + grace:
                return None
            reason = f"timed out after {source.timeout.total_seconds():g}s (reading the response)"
        elif now < started + budget:
            return None
        else:
            reason = (
                "not fetched: the tick ran out of time (too many sources waiting on slow servers)"
            )
        return _overdue(source, tick, reason)

    prepare(sources)  # reader processes start loading while the fetches are out
    results: dict[int, tuple[Sample, float]] = {}
    pending: list[Sample] = []
    in_flight: Future[None] | None = None
    workers = min(MAX_CONCURRENT_FETCHES, len(sources))
    pool = fetch_threads.take(workers, len(sources))  # a warm instance's idle threads
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
    futures: dict[Future[Sample], int] = {}
    answered: queue.SimpleQueue[Future[Sample]] = queue.SimpleQueue()
    try:
        for n, source in enumerate(sources):
            future = pool.submit(fetch, n, source)
            futures[future] = n
            future.add_done_callback(answered.put)
        waiting = set(futures)
        next_scan = started + SCAN_SECONDS
        while waiting:
            done = _answered(answered, max(next_scan - time.perf_counter(), 0))
            now = time.perf_counter()
            finished = [(future, future.result()) for future in done if future in waiting]
            if now >= next_scan:
                next_scan = now + SCAN_SECONDS
                for future in waiting.difference(done):
                    late = overdue(futures[future], now)
                    if late is not None and not future.done():
                        future.cancel()  # not started yet: it never will be
                        finished.append((future, late))
            for future, sample in finished:
                waiting.discard(future)
                results[futures[future]] = (sample, now - started)
                group = group_of(groups, sample.source_id)
                waiting_for.setdefault(group, []).append(sample)
                missing[group] -= 1
                if missing[group] == 0:
                    pending.extend(waiting_for.pop(group))
            if pending and (in_flight is None or in_flight.done()):
                if in_flight is not None:
                    in_flight.result()  # a failed commit raises here
                in_flight, pending = writer.submit(commit, pending), []
        if in_flight is not None:
            in_flight.result()
        pending.extend(sample for group in waiting_for.values() for sample in group)
        if pending:
            commit(pending)
    finally:
        fetch_threads.give_back(pool, futures)  # overdue fetches end on their own
        connections.close()
        writer.shutdown(wait=True)
    timed = [results[index] for index in range(len(sources))]
    return [(stored.get(sample.source_id, sample), seconds) for sample, seconds in timed]


def collect_tick(
    config: Config,
    tick: datetime,
    store: Store,
    metrics: MetricWriter | None = None,
    only: Sequence[str] | None = None,
    *,
    alerting: bool = True,
    now: datetime | None = None,
    host_limits: Mapping[str, int] | None = None,
) -> TickResult:
    """Collect one tick, then alert on it. Raises only when the store is unavailable.

    Alerting runs after the samples are stored and the metrics written, so a slow
    notification channel never delays either; `now` is the wall clock it uses for
    retries (tests pass their own). `host_limits`: a shard's shares of the hosts other
    shards of its tick ask too (sources/hosts.shares).
    """
    tick = floor_minute(tick)
    sources = due_sources(config, tick, only)
    samples: list[Sample] = []
    fetch_seconds = store_seconds = 0.0
    if sources:
        started = time.perf_counter()
        try:
            groups = assign(s.id for s in config.sources)
            timed = _fetch_and_store(sources, tick, store, groups, host_limits)
        except Exception as exc:  # the store is infrastructure: let the platform retry
            logs.error(
                "storing samples failed; the event will be retried",
                tick=tick.isoformat(),
                detail=redact(str(exc))[:500],  # redacted before it is cut
            )
            raise
        fetch_seconds = max(sample_seconds for _, sample_seconds in timed)
        store_seconds = time.perf_counter() - started - fetch_seconds
        samples = [sample for sample, _ in timed]
    if metrics is not None:
        metrics.write(tick, samples, wanted_metrics(config, sources, tick))
    logs.info(
        f"tick {tick.isoformat()}: {len(samples)} sources collected",
        tick=tick.isoformat(),
        collected=len(samples),
        failed=sum(1 for sample in samples if not sample.ok),
    )
    result = TickResult(
        tick=tick, samples=samples, fetch_seconds=fetch_seconds, store_seconds=store_seconds
    )
    if alerting and config.sources:
        result.alerts = alert_tick(config, store, tick, samples, now)
    return result


def alert_tick(
    config: Config, store: Store, tick: datetime, samples: list[Sample], now: datetime | None
) -> AlertRun | None:
    """Alerting for the tick: Firestore failing raises (the event is retried and the
    samples, already stored, are written again to the same keys); a bug in alerting is
    logged and never costs the tick its samples."""
    from google.api_core import exceptions as api_exceptions

    from tally.alerts.engine import run_alerts

    try:
        return run_alerts(config, store, tick, samples, now=now)
    except api_exceptions.GoogleAPIError:
        logs.error("alerting failed: Firestore unavailable; the event will be retried")
        raise
    except Exception as exc:  # noqa: BLE001 - see the docstring
        logs.error(f"alerting failed: {type(exc).__name__}: {exc}", tick=tick.isoformat())
        return None
