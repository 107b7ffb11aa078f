"""One tick: fetch every due source concurrently, store each sample, push metrics.

A source's failure is its own failed sample; only the store failing raises (after
every fetch of the tick has finished), so that the platform retries the event.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from tally import logs
from tally.config import Config, SourceBase, UnknownSource
from tally.metrics import MetricWriter
from tally.sample import Sample, format_value
from tally.schedule import floor_minute, is_due
from tally.sources import read
from tally.store import Store

MAX_CONCURRENT_FETCHES = int(os.environ.get("TALLY_MAX_CONCURRENCY", "32"))


@dataclass
class TickResult:
    tick: datetime
    samples: list[Sample]


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


def _collect_one(source: SourceBase, tick: datetime, store: Store) -> Sample:
    reading = read(source)
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
    )
    store.write_sample(sample)
    if sample.ok:
        logs.info(
            f"{source.id}: {format_value(sample.value)}"
            if sample.value is not None
            else f"{source.id}: ok",
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


def collect_tick(
    config: Config,
    tick: datetime,
    store: Store,
    metrics: MetricWriter | None = None,
    only: Sequence[str] | None = None,
) -> TickResult:
    """Collect one tick. Raises only when the store is unavailable."""
    tick = floor_minute(tick)
    sources = due_sources(config, tick, only)
    samples: list[Sample] = []
    failures: list[BaseException] = []
    if sources:
        with ThreadPoolExecutor(
            max_workers=min(MAX_CONCURRENT_FETCHES, len(sources)), thread_name_prefix="fetch"
        ) as pool:
            futures = [pool.submit(_collect_one, source, tick, store) for source in sources]
            for future in futures:
                try:
                    samples.append(future.result())
                except Exception as exc:  # noqa: BLE001 - the store: infrastructure, raised below
                    failures.append(exc)
    if failures:
        logs.error(
            "storing samples failed; the event will be retried",
            tick=tick.isoformat(),
            detail=str(failures[0])[:500],
        )
        raise failures[0]
    if metrics is not None:
        kinds = {source.id: source.kind for source in sources}  # type: ignore[attr-defined]
        metrics.write(tick, samples, kinds)
    logs.info(
        f"tick {tick.isoformat()}: {len(samples)} sources collected",
        tick=tick.isoformat(),
        collected=len(samples),
        failed=sum(1 for sample in samples if not sample.ok),
    )
    return TickResult(tick=tick, samples=samples)
