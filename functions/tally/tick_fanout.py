"""A tick past one instance: more sources due than one instance should fetch are split
into shards, each collected by the collect function on an instance of its own, and
alerting runs once the tick's shards are in.

    the scheduler's message   due sources ≤ shard size: the tick as ever (collector)
                              more: the run's document (fanout/completion), then one
                              message a shard to the collect topic; nothing fetched here
    a shard's message         its sources collected and stored (one sample per source
                              per tick, a failure never replacing a success: the
                              collector's keys), its metrics written, its samples left
                              as its payload; the shard that finds every shard in runs
                              alerting on every shard's samples
    a later fanned-out tick   the runs a lost shard left open past the stale-event
                              window are alerted on with the shards that came in

Why alerting waits for the shards: it folds a tick's samples into one state and sends
one digest per channel when many incidents open at once; per shard it would send one
per shard, and the shards' transactions would queue on the same documents. Alerting is
exactly once whatever runs it twice (alerts/engine: a redelivered tick changes nothing).

Why SHARD_SIZE is 250: a fetch costs about 1 ms of CPU on a full core (docs/benchmarks.md),
about 3 ms at the third of a vCPU a 512 MiB function gets: 250 fetches are under a
second of CPU, so a shard ticks about as fast as one source (its slowest upstream plus
a second: its 250 fetches go out at once, collector.MAX_CONCURRENT_FETCHES), and 1,000
sources are 4 shards. 25 groups of samples never split.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from tally import logs
from tally.collector import TickResult, alert_tick, collect_tick, due_sources, host_asked
from tally.config import Config
from tally.fanout import completion
from tally.fanout.plan import Shard, message_of, plan, size_from_environment
from tally.fanout.pubsub import MessagePublisher
from tally.gc_pause import collector_paused
from tally.group_document import assign
from tally.metrics import MetricWriter
from tally.sample import Sample, short_reason
from tally.sources import hosts
from tally.store import Store

if TYPE_CHECKING:
    from tally.alerts.engine import AlertRun

SHARD_SIZE = 250
KIND = "collect"


def shard_size() -> int:
    """TALLY_SHARD_SIZE (Terraform's `collect_shard_size`), else SHARD_SIZE."""
    return size_from_environment("TALLY_SHARD_SIZE", SHARD_SIZE)


@dataclass
class FannedOut:
    """A tick handed to its shards: what the scheduler's message did."""

    tick: datetime
    shards: list[Shard]
    swept: list[TickResult] = field(default_factory=list)


def sweep_after(config: Config) -> timedelta:
    """When a shard still missing can no longer arrive: past the stale-event window a
    redelivery is dropped (events.accepted_tick), and a minute more."""
    return config.stale_event_after + timedelta(minutes=1)


def collect_scheduled(
    config: Config,
    tick: datetime,
    store: Store,
    metrics: MetricWriter | None,
    publisher: MessagePublisher | None,
    *,
    size: int,
    now: datetime,
) -> TickResult | FannedOut:
    """The scheduler's message: the tick collected here, or handed to its shards."""
    sources = due_sources(config, tick)
    if publisher is None or len(sources) <= size:
        # the sources just found due, not looked for again (`only`; with none due,
        # collect_tick looks once more and finds none: only alerting runs)
        only = [source.id for source in sources] or None
        return collect_tick(config, tick, store, metrics, only, now=now)
    return hand_out(config, store, publisher, tick, [s.id for s in sources], size=size, now=now)


def hand_out(
    config: Config,
    store: Store,
    publisher: MessagePublisher,
    tick: datetime,
    source_ids: list[str],
    *,
    size: int,
    now: datetime,
) -> FannedOut:
    """The tick's run opened and a message published for each of its shards.

    Runs a shard of which was lost are looked for here, when a tick fans out (a query a
    fanned-out tick, not one a minute): the first after their sweep time finds them."""
    swept = sweep(config, store, now)
    shards = _sharing_hosts(
        config, plan(source_ids, assign(s.id for s in config.sources), size, KIND)
    )
    completion.open_run(store, KIND, tick, len(shards), sweep_after(config))
    publisher.publish([message_of(shard, tick) for shard in shards])
    logs.info(
        f"tick {tick.isoformat()}: {len(source_ids)} sources due, handed to {len(shards)} shards",
        tick=tick.isoformat(),
        due=len(source_ids),
        shards=len(shards),
    )
    return FannedOut(tick, shards, swept)


def _sharing_hosts(config: Config, shards: list[Shard]) -> list[Shard]:
    """The shards, each with its share of the hosts it asks with other shards: running at
    once on instances of their own, they ask a host no more at a time than one
    instance would (sources/hosts.PER_HOST)."""
    known = {source.id: source for source in config.sources}
    counts = [
        Counter(host_asked(known[i]) for i in shard.source_ids if i in known) for shard in shards
    ]
    return [
        replace(shard, hosts=tuple(sorted(share.items())))
        for shard, share in zip(shards, hosts.shares(counts, hosts.PER_HOST), strict=True)
    ]


def collect_shard(
    config: Config,
    tick: datetime,
    shard: Shard,
    store: Store,
    metrics: MetricWriter | None,
    *,
    now: datetime,
) -> TickResult:
    """A shard's message: its sources collected; alerting on the whole tick when this
    shard finds every shard in."""
    known = {source.id for source in config.sources}
    source_ids = [source_id for source_id in shard.source_ids if source_id in known]
    if len(source_ids) < len(shard.source_ids):
        logs.warning(
            f"shard {shard.index} of tick {tick.isoformat()}: "
            f"{len(shard.source_ids) - len(source_ids)} source(s) no longer in the config",
            tick=tick.isoformat(),
        )
    result = (
        collect_tick(
            config,
            tick,
            store,
            metrics,
            source_ids,
            alerting=False,
            now=now,
            host_limits=dict(shard.hosts),
        )
        if source_ids
        else TickResult(tick=tick, samples=[])
    )
    result.alerts = finish_shard(config, store, tick, shard, result.samples, now=now)
    return result


def finish_shard(
    config: Config,
    store: Store,
    tick: datetime,
    shard: Shard,
    samples: list[Sample],
    *,
    now: datetime,
) -> AlertRun | None:
    """A shard's samples (stored) left as its payload; alerting on every shard's when
    this one finds them all in (what it did), else None."""
    payload = [encode(sample) for sample in samples]
    with collector_paused():  # the last shard reads and decodes every shard's samples
        run = completion.finish(store, KIND, tick, shard.index, shard.count, payload)
        every_shards = _samples_of(run) if run is not None else []
    return _alert_run(config, store, run, every_shards, now) if run is not None else None


def sweep(config: Config, store: Store, now: datetime) -> list[TickResult]:
    """The runs a lost shard left open, alerted on with the shards that came in."""
    results = []
    for run in completion.overdue(store, KIND, now):
        logs.warning(
            f"tick {run.tick.isoformat()}: shard(s) {run.missing} of {run.count} never came "
            "in; alerting on the others",
            tick=run.tick.isoformat(),
            missing=run.missing,
        )
        result = TickResult(tick=run.tick, samples=_samples_of(run))
        result.alerts = _alert_run(config, store, run, result.samples, now)
        results.append(result)
    return results


def _alert_run(
    config: Config, store: Store, run: completion.Run, samples: list[Sample], now: datetime
) -> AlertRun | None:
    """Alerting on the run's samples (every shard's that came in), then the run closed."""
    alerts = alert_tick(config, store, run.tick, samples, now)
    completion.close(store, KIND, run.tick)
    return alerts


def _samples_of(run: completion.Run) -> list[Sample]:
    return [decode(item) for payload in run.payloads for item in payload]


def encode(sample: Sample) -> dict[str, Any]:
    """What alerting needs of a sample (its entries too: they are not stored with it)."""
    return {
        "s": sample.source_id,
        "t": sample.tick.isoformat(),
        "ok": sample.ok,
        "v": sample.value,
        "e": short_reason(sample.error),
        "n": list(sample.entries) if sample.entries is not None else None,
    }


def decode(item: dict[str, Any]) -> Sample:
    entries = item.get("n")
    return Sample(
        source_id=item["s"],
        tick=datetime.fromisoformat(item["t"]),
        ok=bool(item["ok"]),
        value=item.get("v"),
        error=item.get("e"),
        entries=tuple(entries) if entries is not None else None,
    )
