"""How long one render run may spend on sources (tally/deadlines.py), on a clock that
tests can drive.

A day-closing render redraws every source's long-range charts, about a second each:
1,000 sources would not fit in one run of the render function. So a run stops
starting sources once its budget is spent, writes the overview of every source (the
ones it reached, and the rest as the last run left them), and the next run continues
where it stopped.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from tally.deadlines import render_sources_budget


class Budget:
    def __init__(self, seconds: float | None, clock: Callable[[], float] = time.monotonic):
        self.seconds = seconds
        self.clock = clock
        self.started = clock()

    @classmethod
    def for_render_function(cls) -> Budget:
        return cls(render_sources_budget().total_seconds())

    @classmethod
    def unlimited(cls) -> Budget:
        return cls(None)

    def spent(self) -> float:
        return self.clock() - self.started

    def exhausted(self) -> bool:
        return self.seconds is not None and self.spent() >= self.seconds
