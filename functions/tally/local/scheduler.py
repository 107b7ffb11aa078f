"""What the two Cloud Scheduler jobs would publish, locally.

Cloud Scheduler publishes to the "collect" topic every minute and to the "render" topic
every `render_every`; the function takes the tick from the message's publish time.
On the real clock the local scheduler does just that (its first tick is published at
once, naming its minute, so values come without waiting for the next minute).
With a fast clock (`--tick-seconds S`) every S seconds is the next minute: the message
carries the attribute `tick` (see tally/events.py), so each fast tick lands on its own
minute key, exactly as consecutive scheduled minutes would.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tally.local.pubsub import PubSub
from tally.schedule import floor_minute

COLLECT_TOPIC = "tally-collect"
RENDER_TOPIC = "tally-render"
PUBLISH_MARGIN = 0.5  # seconds after the minute, so the publish time floors into it


def render_due(tick: datetime, every_minutes: int) -> bool:
    """Like the render job's cron: at minutes divisible by the interval."""
    minute_of_day = tick.hour * 60 + tick.minute
    if 1440 % every_minutes == 0:
        return minute_of_day % every_minutes == 0
    return int(tick.timestamp() // 60) % every_minutes == 0


@dataclass(frozen=True)
class Tick:
    at: float  # time.monotonic() when to publish
    tick: datetime
    explicit: bool  # carries the `tick` attribute (fast clock, or the very first tick)


class Scheduler:
    def __init__(
        self,
        pubsub: PubSub,
        render_every_minutes: int,
        tick_seconds: float | None = None,
        start: datetime | None = None,
        *,
        wall_clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.pubsub = pubsub
        self.render_every = max(1, render_every_minutes)
        self.tick_seconds = tick_seconds
        self.wall_clock = wall_clock  # what time it is (the minute to publish)
        self.monotonic = monotonic  # when to publish it (immune to clock changes)
        self.start = floor_minute(start or datetime.fromtimestamp(wall_clock(), UTC))
        self.published: list[datetime] = []

    def ticks(self) -> Iterator[Tick]:
        """When to publish which tick, forever."""
        origin = self.monotonic()
        yield Tick(origin, self.start, explicit=True)
        if self.tick_seconds:
            count = 1
            while True:
                yield Tick(
                    origin + count * self.tick_seconds,
                    self.start + timedelta(minutes=count),
                    explicit=True,
                )
                count += 1
        tick = self.start
        while True:
            tick += timedelta(minutes=1)
            wait = tick.timestamp() + PUBLISH_MARGIN - self.wall_clock()
            yield Tick(self.monotonic() + wait, tick, explicit=False)

    def publish(self, tick: Tick, *, force_render: bool = False) -> bool:
        """Publish the tick's collect (and render when due); True when render went out."""
        attributes = {"tick": tick.tick.strftime("%Y-%m-%dT%H:%M:%SZ")} if tick.explicit else {}
        self.pubsub.publish(COLLECT_TOPIC, b"collect", attributes)
        self.published.append(tick.tick)
        if force_render or render_due(tick.tick, self.render_every):
            self.pubsub.publish(RENDER_TOPIC, b"render", attributes)
            return True
        return False
