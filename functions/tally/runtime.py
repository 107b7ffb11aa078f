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
from typing import TYPE_CHECKING, Any

from tally import logs, tick_fanout
from tally.collector import TickResult
from tally.config import Config, load_config
from tally.deadlines import store_deadline
from tally.events import accepted_tick, named_tick
from tally.fanout.plan import MalformedShard, Shard, shard_of, size_from_environment
from tally.fanout.pubsub import MessagePublisher, publisher_from_environment
from tally.metrics import MetricWriter, enabled
from tally.store import DEFAULT_PROJECT, Store
from tally.tick_fanout import FannedOut

if TYPE_CHECKING:
    from tally.render.result import RenderResult

RENDER_TOPIC = "TALLY_RENDER_TOPIC"  # the render function's own topic: its shards
# Why 100: a source costs about 0.42 s of drawing in a day-closing render
# (docs/benchmarks.md, scale), so a shard is about 42 s, a quarter of a run's 150 s
# budget, and 1,000 sources are 10 shards (tally/render/fanned.py).
RENDER_SHARD_SIZE = 100


def render_shard_size() -> int:
    """TALLY_RENDER_SHARD_SIZE, else RENDER_SHARD_SIZE."""
    return size_from_environment("TALLY_RENDER_SHARD_SIZE", RENDER_SHARD_SIZE)


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
    collect_topic: MessagePublisher | None = None
    shard_size: int = tick_fanout.SHARD_SIZE
    # the render's own topic, when a render may fan out (TALLY_RENDER_TOPIC), and its
    # shard size (TALLY_RENDER_SHARD_SIZE)
    render_topic: MessagePublisher | None = None
    render_shard_size: int = RENDER_SHARD_SIZE


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
        render_topic=publisher_from_environment(RENDER_TOPIC),
        render_shard_size=render_shard_size(),
    )


def _accepted(
    dependencies: Dependencies, event: Any, kind: str
) -> tuple[datetime, datetime, Shard | None] | None:
    """(tick, now, shard: None for the scheduler's message) of an event for the `kind`
    function, or None when it is acknowledged and dropped: stale or malformed, or a
    shard of the other function."""
    now = dependencies.clock()
    tick = accepted_tick(event, dependencies.config.stale_event_after.total_seconds(), now=now)
    if tick is None:
        return None
    try:
        shard = shard_of(event)
    except MalformedShard as exc:
        logs.warning(f"malformed shard message acknowledged and dropped: {exc}")
        return None
    if shard is not None and shard.kind != kind:
        logs.warning(f"a {shard.kind!r} shard sent to {kind}: acknowledged and dropped")
        return None
    return tick, now, shard


def collect_event(dependencies: Dependencies, event: Any) -> TickResult | FannedOut | None:
    """A collect event: the scheduler's (the tick collected, or handed to its shards) or
    a shard's (its sources collected); None when the event is dropped."""
    accepted = _accepted(dependencies, event, tick_fanout.KIND)
    if accepted is None:
        return None
    tick, now, shard = accepted
    config, store, metrics = dependencies.config, dependencies.store, dependencies.metrics
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
    return tick_fanout.collect_shard(config, tick, shard, store, metrics, now=now)


def render_event(dependencies: Dependencies, event: Any) -> RenderResult | None:
    """A render event: the scheduler's (the page redrawn, or handed to its shards when
    more sources are due than one run should draw and TALLY_RENDER_TOPIC names the
    render's topic) or a shard's (its sources drawn, and the page published by the
    shard that completes the run); dropped when stale. The `renders` heartbeat follows
    each published page, so that a render which stopped publishing is seen (the
    watchdog). What the event did, or None when it was dropped."""
    # pandas/matplotlib only on this path
    from tally.render import fanned
    from tally.render.entry import render_site

    accepted = _accepted(dependencies, event, fanned.KIND)
    if accepted is None:
        return None
    tick, now, shard = accepted
    config = dependencies.config
    if shard is not None:
        result = fanned.render_shard(config, dependencies.store, shard, tick)
    else:
        topic = dependencies.render_topic
        fan = fanned.FanOut(topic, tick, dependencies.render_shard_size) if topic else None
        # A message that names its tick (`tally local --tick-seconds`, a replay) is drawn
        # as at that tick, the time its samples and incidents carry; a scheduled one
        # (its publish time only) at the wall clock's time.
        result = render_site(config, dependencies.store, now=named_tick(event) or now, fan=fan)
    if dependencies.metrics is not None and result is not None and result.published:
        dependencies.metrics.heartbeat(tick, "renders", len(result.uploaded))
    return result
