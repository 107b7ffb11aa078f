"""Durations as people write them in tally.yaml: `30s`, `5m`, `2h`, `1d`, `1w`.

One parser for the config, the schedule and the alert windows, so that `every: 5m`
and `stale_after: 10m` can never disagree about what a minute is.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
# No duration in tally.yaml may exceed a century: a tick plus or minus any of them is
# still a date (years 1 to 9999) for centuries to come, and fields bound them tighter.
LONGEST = timedelta(days=36500)
_HINT = "write e.g. 30s, 5m, 2h, 1d"


def parse_duration(text: str | int | float) -> timedelta:
    """Parse `5m` style text; a bare number is seconds. Raises ValueError with the text
    (a short preview of it: the text may be anything YAML can hold)."""
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise ValueError(f"not a duration: a {type(text).__name__} ({_HINT})")
    if isinstance(text, (int, float)):
        seconds = float(text)
        if not math.isfinite(seconds):
            raise ValueError(f"not a duration: {text!r} is not a finite number ({_HINT})")
    else:
        match = _PATTERN.match(text)
        if not match:
            shown = text if len(text) <= 40 else text[:39] + "…"
            raise ValueError(f"not a duration: {shown!r} ({_HINT})")
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    shown = text if isinstance(text, str) else f"{text:g}"
    if seconds <= 0:
        raise ValueError(f"duration must be positive: {shown!r}")
    if seconds > LONGEST.total_seconds():
        raise ValueError(f"duration {shown[:40]!r} is longer than {LONGEST.days} days")
    return timedelta(seconds=seconds)


def bounded_duration(text: str | int | float, shortest: timedelta, longest: timedelta) -> timedelta:
    """parse_duration, then from `shortest` to `longest` (both included)."""
    delta = parse_duration(text)
    if not shortest <= delta <= longest:
        raise ValueError(
            f"must be from {format_duration(shortest)} to {format_duration(longest)}, "
            f"not {format_duration(delta)}"
        )
    return delta


def format_duration(delta: timedelta) -> str:
    """The shortest exact `5m` style text for a duration, in days at most (`7d`, as
    people write alert windows, rather than `1w`)."""
    total = delta.total_seconds()
    if total != int(total):  # `0.5s`: a fraction of a second is shown as one
        return f"{total:g}s"
    seconds = int(total)
    if seconds == 0:
        return "0s"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
