"""Durations as people write them in tally.yaml: `30s`, `5m`, `2h`, `1d`, `1w`.

One parser for the config, the schedule and the alert windows, so that `every: 5m`
and `stale_after: 10m` can never disagree about what a minute is.
"""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")


def parse_duration(text: str | int | float) -> timedelta:
    """Parse `5m` style text; a bare number is seconds. Raises ValueError with the text."""
    if isinstance(text, bool):
        raise ValueError(f"not a duration: {text!r}")
    if isinstance(text, (int, float)):
        seconds = float(text)
    else:
        match = _PATTERN.match(str(text))
        if not match:
            raise ValueError(f"not a duration: {text!r} (write e.g. 30s, 5m, 2h, 1d)")
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0:
        raise ValueError(f"duration must be positive: {text!r}")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """The shortest exact `5m` style text for a duration, in days at most (`7d`, as
    people write alert windows, rather than `1w`)."""
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
