"""When a source is due: its cron expressions, or `every`, at a tick minute.

Crons are evaluated in the config's time zone (so `0 9 * * *` means nine in the
morning where the user lives). `every` is aligned so that it fires at predictable
minutes: `every: 5m` at :00, :05, …; `every: 1d` at local midnight. The collector asks
only "is this source due at this minute", which needs no state, so a redelivered tick
decides exactly as the first delivery did.

Daylight saving time, as Vixie cron (and cronie) handle it:

- A schedule at set wall times (`30 1 * * *`, `every: 6h`, `every: 1d`) fires once
  per wall time. A wall time that occurs twice (the hour repeated in autumn) fires at
  its first occurrence only; one that does not exist (the hour skipped in spring) fires
  at the first minute after the gap. So `every: 1d` fires on every calendar day, even
  where midnight itself is skipped (America/Santiago), and nothing acts twice.
- A schedule that runs through the hour (a `*` in the cron's minute or hour field, as
  in `*/5 * * * *` or `0 * * * *`, or `every:` of an hour or less) follows real time:
  it fires again in the repeated hour and has nothing to fire in the skipped one, so a
  per-5-minute source keeps one sample every 5 minutes across the change.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import pairwise
from zoneinfo import ZoneInfo

from croniter import croniter

from tally.config import SourceBase

MINUTES_PER_DAY = 1440
YEAR = timedelta(days=365)  # a source's period is capped here (`0 0 29 2 *`)
PERIOD_WINDOW_DAYS = 2 * 366  # days looked at to find the longest gap between runs

WallMatcher = Callable[[datetime], bool]  # naive local wall time -> fires then?


def floor_minute(moment: datetime) -> datetime:
    """The tick a moment belongs to: UTC, rounded down to the minute."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


# --- cron expressions -------------------------------------------------------------------


class CronPattern:
    """One 5-field cron expression, parsed once by croniter and matched by set lookups.

    croniter.match costs ~0.2 ms a call; a tick asks every source every minute, and
    `period` looks at two years of days, so the expanded fields are matched here.
    Day rules beyond numbers and `L` (`15W`, `1#2`, `L5`) are asked of croniter itself,
    once per day.
    """

    def __init__(self, expr: str):
        self.expr = expr
        parsed = croniter(expr)
        minute, hour, dom, month, dow = parsed.expanded
        fields = expr.split()
        # Vixie cron's rule: a `*` in the minute or hour field runs through the hour,
        # so it follows real time across a DST change rather than wall times.
        self.frequent = fields[0].startswith("*") or fields[1].startswith("*")
        self.minutes = _numbers(minute, 60)
        self.hours = _numbers(hour, 24)
        self.times = sorted(h * 60 + m for h in self.hours for m in self.minutes)
        self.months = None if month == ["*"] else frozenset(int(v) for v in month)
        self.dom_any = dom == ["*"]
        self.dow_any = dow == ["*"]
        self.every_day = self.dom_any and self.dow_any and self.months is None
        self.last_dom = "l" in dom
        self.doms = frozenset(v for v in dom if isinstance(v, int))
        self.dows = frozenset(v % 7 for v in dow if isinstance(v, int))
        self.exotic = bool(
            parsed.nth_weekday_of_month
            or getattr(parsed, "nearest_weekday", None)
            or any(not isinstance(v, int) for v in dom if v not in ("*", "l"))
            or any(not isinstance(v, int) for v in dow if v != "*")
        )

    def day_matches(self, day: date) -> bool:
        """Does the expression fire at all on this calendar day?"""
        if self.every_day:
            return True
        if self.months is not None and day.month not in self.months:
            return False
        if self.exotic:
            return _croniter_day(self.expr, day, self.times[0])
        if self.dom_any and self.dow_any:
            return True
        in_month = day.day in self.doms or (
            self.last_dom and day.day == calendar.monthrange(day.year, day.month)[1]
        )
        on_weekday = (day.weekday() + 1) % 7 in self.dows  # cron counts from Sunday = 0
        if self.dom_any:
            return on_weekday
        if self.dow_any:
            return in_month
        return in_month or on_weekday  # both restricted: either one (cron's rule)

    def matches(self, wall: datetime) -> bool:
        """Does it fire at this naive local wall time?"""
        return (
            wall.minute in self.minutes
            and wall.hour in self.hours
            and self.day_matches(wall.date())
        )


def _numbers(values: list, size: int) -> frozenset[int]:
    return frozenset(range(size)) if values == ["*"] else frozenset(int(v) for v in values)


@lru_cache(maxsize=4096)
def _croniter_day(expr: str, day: date, minute_of_day: int) -> bool:
    return bool(croniter.match(expr, datetime.combine(day, time(*divmod(minute_of_day, 60)))))


@lru_cache(maxsize=1024)
def cron(expr: str) -> CronPattern:
    return CronPattern(expr)


# --- is a source due ------------------------------------------------------------------


def is_due(source: SourceBase, tick: datetime, tz: ZoneInfo) -> bool:
    """True when any of the source's schedules fires at this tick's minute."""
    tick = floor_minute(tick)
    local = tick.astimezone(tz)
    wall = local.replace(tzinfo=None)
    if source.every is not None:
        minutes = int(source.every.total_seconds() // 60)
        if MINUTES_PER_DAY % minutes and minutes % MINUTES_PER_DAY:
            # neither divides nor is a multiple of a day (7m, 100m): aligned to the
            # epoch, which is real time already
            return int(tick.timestamp() // 60) % minutes == 0
        match = _every(minutes)
        if minutes <= 60:
            return match(wall)
        return _fires_at_wall_time([match], tick, local)
    patterns = [cron(expr) for expr in source.schedule]
    if any(p.matches(wall) for p in patterns if p.frequent):
        return True
    wall_times = [p.matches for p in patterns if not p.frequent]
    return bool(wall_times) and _fires_at_wall_time(wall_times, tick, local)


def _fires_at_wall_time(matchers: list[WallMatcher], tick: datetime, local: datetime) -> bool:
    """Once per wall time: the first of two occurrences, or just after a skipped one."""
    wall = local.replace(tzinfo=None)
    if not _repeated(local) and any(match(wall) for match in matchers):
        return True
    # Wall times skipped by a change to summer time fire at the first minute after it.
    skipped = (tick - timedelta(minutes=1)).astimezone(local.tzinfo).replace(tzinfo=None)
    skipped += timedelta(minutes=1)
    while skipped < wall:
        if any(match(skipped) for match in matchers):
            return True
        skipped += timedelta(minutes=1)
    return False


def _repeated(local: datetime) -> bool:
    """This local time is the second occurrence of its wall time (the autumn change)."""
    return local.fold == 1 and local.replace(fold=0).utcoffset() != local.utcoffset()


@lru_cache(maxsize=256)
def _every(minutes: int) -> WallMatcher:
    """`every:` that divides a day (aligned to local midnight) or is whole days."""
    if MINUTES_PER_DAY % minutes == 0:

        def aligned(wall: datetime) -> bool:
            return (wall.hour * 60 + wall.minute) % minutes == 0

        return aligned
    days = minutes // MINUTES_PER_DAY

    def midnight(wall: datetime) -> bool:
        return wall.hour == 0 and wall.minute == 0 and wall.toordinal() % days == 0

    return midnight


# --- the period: what "on time" means for a source ---------------------------------------


def period(source: SourceBase, tz: ZoneInfo, around: datetime | None = None) -> timedelta:
    """The longest gap between two consecutive runs of the source's schedule, capped at a
    year: a monthly source's period is 31 days, a weekday source's 3 days.

    Cheap: the within-day times of a cron come from its parsed fields, and its days
    are looked at only when the cron restricts them (two years of days, once per day
    and set of expressions, cached), so a render asks it of 1,000 sources in
    milliseconds. Gaps are in wall-clock time (a daily source's period is one day,
    also across a DST change).
    """
    if source.every is not None:
        return source.every
    end = floor_minute(around or datetime.now(UTC)).astimezone(tz).date()
    patterns = [cron(expr) for expr in source.schedule]
    if all(p.every_day for p in patterns):
        return timedelta(minutes=_daily_gap(tuple(source.schedule)))
    return timedelta(minutes=_longest_gap(tuple(source.schedule), end))


@lru_cache(maxsize=1024)
def _daily_gap(exprs: Sequence[str]) -> int:
    """Longest gap in minutes of expressions that fire every day."""
    first, last, inner = _day_shape(exprs)
    return max(inner, MINUTES_PER_DAY - last + first)


@lru_cache(maxsize=4096)
def _day_shape(exprs: Sequence[str]) -> tuple[int, int, int]:
    """(first run, last run, longest gap between runs) of one day, in minutes of the day."""
    times = sorted({t for expr in exprs for t in cron(expr).times})
    inner = max((b - a for a, b in pairwise(times)), default=0)
    return times[0], times[-1], inner


@lru_cache(maxsize=4096)
def _longest_gap(exprs: Sequence[str], end: date) -> int:
    """Longest gap in minutes between consecutive runs in the two years up to `end`."""
    patterns = [cron(expr) for expr in exprs]
    best = 0
    runs = 0
    previous: tuple[date, int] | None = None  # (day, its last run)
    day = end - timedelta(days=PERIOD_WINDOW_DAYS)
    while day <= end:
        active = tuple(expr for expr, p in zip(exprs, patterns, strict=True) if p.day_matches(day))
        if active:
            first, last, inner = _day_shape(active)
            runs += 1 + (first != last)
            best = max(best, inner)
            if previous is not None:
                gap = (day - previous[0]).days * MINUTES_PER_DAY + first - previous[1]
                best = max(best, gap)
            previous = (day, last)
        day += timedelta(days=1)
    cap = int(YEAR.total_seconds() // 60)
    return cap if runs < 2 else min(best, cap)
