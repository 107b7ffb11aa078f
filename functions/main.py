"""Cloud Functions entry points: adapt a Pub/Sub CloudEvent to the tally core, nothing more.

The render path is imported inside `render` so that the collect function, deployed
from the same source, never pays for pandas and matplotlib at cold start.
"""

import functions_framework
from cloudevents.http import CloudEvent
from tally import runtime
from tally.collector import collect_tick
from tally.events import accepted_tick


@functions_framework.cloud_event
def collect(cloud_event: CloudEvent) -> None:
    """Scheduler → Pub/Sub → here, every minute: collect the sources due at the tick."""
    config = runtime.config()
    tick = accepted_tick(cloud_event, config.stale_event_after.total_seconds())
    if tick is not None:
        collect_tick(config, tick, runtime.store(config.retention_days), runtime.metric_writer())


@functions_framework.cloud_event
def render(cloud_event: CloudEvent) -> None:
    """Scheduler → Pub/Sub → here, every few minutes: redraw the public page."""
    from tally.render.entry import render_site

    config = runtime.config()
    if accepted_tick(cloud_event, config.stale_event_after.total_seconds()) is not None:
        render_site(config, runtime.store(config.retention_days))
