"""When a source is due: its cron expressions, or `every`, at a tick minute.

Crons are evaluated in the config's time zone (so `0 9 * * *` means nine in the
morning where the user lives, across daylight-saving changes). `every` is aligned so
that it fires at predictable minutes: `every: 5m` at :00, :05, …; `every: 1d` at local
midnight. The collector asks only "is this source due at this minute", which needs
no state, so a redelivered tick decides exactly as the first delivery did.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from croniter import croniter

from tally.config import SourceBase

MINUTES_PER_DAY = 1440


def floor_minute(moment: datetime) -> datetime:
    """The tick a moment belongs to: UTC, rounded down to the minute."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def is_due(source: SourceBase, tick: datetime, tz: ZoneInfo) -> bool:
    """True when any of the source's schedules fires at this tick's minute."""
    local = floor_minute(tick).astimezone(tz)
    if source.every is not None:
        return _every_due(int(source.every.total_seconds() // 60), local)
    return any(croniter.match(expr, local) for expr in source.schedule)


def _every_due(minutes: int, local: datetime) -> bool:
    minute_of_day = local.hour * 60 + local.minute
    if MINUTES_PER_DAY % minutes == 0:
        return minute_of_day % minutes == 0
    if minutes % MINUTES_PER_DAY == 0:
        return minute_of_day == 0 and local.toordinal() % (minutes // MINUTES_PER_DAY) == 0
    # An interval that does not divide a day (7m): align to the epoch instead.
    epoch_minutes = int(local.timestamp() // 60)
    return epoch_minutes % minutes == 0


def period(source: SourceBase, tz: ZoneInfo, around: datetime) -> timedelta:
    """The longest gap between two runs near `around`: what 'on time' means for it."""
    if source.every is not None:
        return source.every
    local = floor_minute(around).astimezone(tz)
    runs = sorted(_runs_between(source, local - timedelta(days=8), local))
    gaps = [later - earlier for earlier, later in pairwise(runs)]
    return max(gaps, default=timedelta(days=8))


def _runs_between(source: SourceBase, start: datetime, end: datetime) -> set[datetime]:
    runs: set[datetime] = set()
    for expr in source.schedule:
        it = croniter(expr, start)
        for _ in range(1500):  # enough to see the pattern of any periodic cron
            moment = it.get_next(datetime)
            if moment > end:
                break
            runs.add(moment)
    return runs
