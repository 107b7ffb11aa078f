"""Cloud Functions entry points: adapt a Pub/Sub CloudEvent to the tally core, nothing more.

An instance builds its dependencies (config, store, metric writer, clock) at its first
event and keeps them while it stays warm; tests replace `dependencies`. The render path
is imported inside `runtime.render_event`, so the collect function, deployed from the
same source, never pays for pandas and matplotlib at cold start.
"""

import functools

import functions_framework
from cloudevents.http import CloudEvent
from tally import runtime


@functools.cache
def dependencies() -> runtime.Dependencies:
    """This instance's dependencies, built from its environment once."""
    return runtime.from_environment()


@functions_framework.cloud_event
def collect(cloud_event: CloudEvent) -> None:
    """Scheduler → Pub/Sub → here, every minute: collect the sources due at the tick, or
    hand them to shards that come back here (tally/tick_fanout.py)."""
    runtime.collect_event(dependencies(), cloud_event)


@functions_framework.cloud_event
def render(cloud_event: CloudEvent) -> None:
    """Scheduler → Pub/Sub → here, every few minutes: redraw the public page."""
    runtime.render_event(dependencies(), cloud_event)
