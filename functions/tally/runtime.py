"""What an entry point needs (config, store, metric writer, clock), built from the
environment, and the two functions' work given those dependencies.

The deployed functions build their `Dependencies` once per instance (`main.dependencies`,
the one function tests replace) and reuse them while the instance stays warm; the
`tally` command builds what it needs once per run.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tally import logs, tick_fanout
from tally.collector import TickResult
from tally.config import Config, load_config
from tally.deadlines import store_deadline
from tally.events import accepted_tick, named_tick
from tally.fanout.plan import MalformedShard, shard_of
from tally.fanout.pubsub import publisher_from_environment
from tally.metrics import MetricWriter, enabled
from tally.store import DEFAULT_PROJECT, Store
from tally.tick_fanout import FannedOut, Publisher


def wall_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Dependencies:
    """Everything the collect and render functions use beyond the event itself."""

    config: Config
    store: Store
    metrics: MetricWriter | None = None
    # how old an event is, the render's "now", and alerting's (when messages are due)
    clock: Callable[[], datetime] = field(default=wall_clock)
    # the collect topic, when a tick may fan out (TALLY_COLLECT_TOPIC), and its shard size
    collect_topic: Publisher | None = None
    shard_size: int = tick_fanout.SHARD_SIZE


def project() -> str:
    return os.environ.get("GOOGLE_CLOUD_PROJECT") or DEFAULT_PROJECT


def config() -> Config:
    return load_config()


def store(retention_days: int = 400) -> Store:
    return Store(retention_days=retention_days, timeout=store_deadline())


def metric_writer() -> MetricWriter | None:
    return MetricWriter(project()) if enabled() else None


def from_environment() -> Dependencies:
    """The dependencies the environment describes (tally.yaml, the emulators or Google
    Cloud, TALLY_METRICS): what a deployed instance builds at its first event."""
    loaded = config()
    return Dependencies(
        config=loaded,
        store=store(loaded.retention_days),
        metrics=metric_writer(),
        collect_topic=publisher_from_environment("TALLY_COLLECT_TOPIC"),
        shard_size=tick_fanout.shard_size(),
    )


def collect_event(dependencies: Dependencies, event: Any) -> TickResult | FannedOut | None:
    """A collect event: the scheduler's (the tick collected, or handed to its shards) or
    a shard's (its sources collected); None when the event is dropped."""
    config = dependencies.config
    max_age = config.stale_event_after.total_seconds()
    now = dependencies.clock()
    tick = accepted_tick(event, max_age, now=now)
    if tick is None:
        return None
    try:
        shard = shard_of(event)
    except MalformedShard as exc:
        logs.warning(f"malformed shard message acknowledged and dropped: {exc}")
        return None
    store, metrics = dependencies.store, dependencies.metrics
    if shard is None:
        return tick_fanout.collect_scheduled(
            config,
            tick,
            store,
            metrics,
            dependencies.collect_topic,
            size=dependencies.shard_size,
            now=now,
        )
    if shard.kind != tick_fanout.KIND:
        logs.warning(f"a {shard.kind!r} shard sent to collect: acknowledged and dropped")
        return None
    return tick_fanout.collect_shard(config, tick, shard, store, metrics, now=now)


def render_event(dependencies: Dependencies, event: Any) -> None:
    """A render event: the page redrawn (or the event dropped), then the `renders`
    heartbeat, so that a render which stopped publishing pages is seen (the watchdog)."""
    from tally.render.entry import render_site  # pandas/matplotlib only on this path

    config = dependencies.config
    now = dependencies.clock()
    tick = accepted_tick(event, config.stale_event_after.total_seconds(), now=now)
    if tick is not None:
        # A message that names its tick (`tally local --tick-seconds`, a replay) is drawn
        # as at that tick, the time its samples and incidents carry; a scheduled one
        # (its publish time only) at the wall clock's time.
        result = render_site(config, dependencies.store, now=named_tick(event) or now)
        if dependencies.metrics is not None:
            dependencies.metrics.heartbeat(tick, "renders", len(result.uploaded))
