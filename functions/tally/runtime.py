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

from tally.collector import collect_tick
from tally.config import Config, load_config
from tally.deadlines import store_deadline
from tally.events import accepted_tick, named_tick
from tally.metrics import MetricWriter, enabled
from tally.store import DEFAULT_PROJECT, Store


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
    return Dependencies(config=loaded, store=store(loaded.retention_days), metrics=metric_writer())


def collect_event(dependencies: Dependencies, event: Any) -> None:
    """A collect event: the tick it stands for, collected (or the event dropped)."""
    config = dependencies.config
    max_age = config.stale_event_after.total_seconds()
    now = dependencies.clock()
    tick = accepted_tick(event, max_age, now=now)
    if tick is not None:
        collect_tick(config, tick, dependencies.store, dependencies.metrics, now=now)


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
