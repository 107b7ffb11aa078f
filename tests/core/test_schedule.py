"""When sources are due: crons in the configured time zone, and `every`."""

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

import pytest
from tally.config import parse_config
from tally.schedule import is_due, period


def _source(**when):
    config = parse_config(
        {
            "timezone": "Asia/Tokyo",
            "sources": [{"id": "s", "kind": "json", "url": "https://x.test", "query": "a", **when}],
        }
    )
    return config.sources[0], config.tz


def _due_minutes(source, tz, start, hours):
    minutes = []
    for offset in range(hours * 60):
        tick = start + timedelta(minutes=offset)
        if is_due(source, tick, tz):
            minutes.append(tick.astimezone(tz).strftime("%H:%M"))
    return minutes


def test_two_crons_on_one_source_fire_at_both():
    source, tz = _source(schedule=["0 9-21 * * *", "*/30 22-23,0-8 * * *"])
    start = datetime(2026, 11, 22, 0, 0, tzinfo=tz).astimezone(UTC)
    fired = _due_minutes(source, tz, start, 24)
    assert "12:00" in fired and "12:30" not in fired  # hourly by day
    assert "23:00" in fired and "23:30" in fired  # half-hourly by night
    assert "03:30" in fired
    assert len(fired) == 13 + 2 * 11


def test_crons_are_read_in_the_configured_time_zone():
    source, tz = _source(schedule="0 9 * * *")
    fired = _due_minutes(source, tz, datetime(2026, 11, 22, tzinfo=UTC), 24)
    assert fired == ["09:00"]  # 00:00 UTC, nine in the morning in Tokyo
    assert is_due(source, datetime(2026, 11, 22, 0, 0, 30, tzinfo=UTC), tz)


def test_every_is_aligned_to_predictable_minutes():
    five, tz = _source(every="5m")
    fired = _due_minutes(five, tz, datetime(2026, 11, 22, tzinfo=UTC), 1)
    assert fired[:3] == ["09:00", "09:05", "09:10"] and len(fired) == 12
    daily, tz = _source(every="1d")
    assert _due_minutes(daily, tz, datetime(2026, 11, 22, tzinfo=UTC), 24) == ["00:00"]


def test_period_says_what_on_time_means():
    source, tz = _source(schedule=["0 9-21 * * *", "*/30 22-23,0-8 * * *"])
    now = datetime(2026, 11, 22, 4, 45, tzinfo=UTC)  # 13:45 in Tokyo
    assert period(source, tz, now) == timedelta(hours=1)
    every, tz = _source(every="10m")
    assert period(every, tz, now) == timedelta(minutes=10)


# --- daylight saving time: once per wall time, real time through the hour -------------


def _in(zone: str, **when):
    config = parse_config(
        {
            "timezone": zone,
            "sources": [{"id": "s", "kind": "json", "url": "https://x.test", "query": "a", **when}],
        }
    )
    return config.sources[0], config.tz


def _fired(source, tz, start: datetime, end: datetime) -> list[datetime]:
    """Every UTC minute in [start, end) at which the source is due."""
    minutes = int((end - start).total_seconds() // 60)
    ticks = (start + timedelta(minutes=m) for m in range(minutes))
    return [tick for tick in ticks if is_due(source, tick, tz)]


def _utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "cron", "start", "fired"),
    [
        # New York, 2026-11-01: 02:00 EDT becomes 01:00 EST, so 01:30 happens twice.
        ("America/New_York", "30 1 * * *", _utc(2026, 10, 31, 12), [_utc(2026, 11, 1, 5, 30)]),
        # Berlin, 2026-10-25: 03:00 CEST becomes 02:00 CET, so 02:30 happens twice.
        ("Europe/Berlin", "30 2 * * *", _utc(2026, 10, 24, 12), [_utc(2026, 10, 25, 0, 30)]),
        # Santiago, 2026-04-05: 00:00 becomes 23:00 of the 4th, so 23:30 happens twice.
        ("America/Santiago", "30 23 * * *", _utc(2026, 4, 4, 12), [_utc(2026, 4, 5, 2, 30)]),
    ],
)
def test_a_wall_time_that_occurs_twice_fires_once_at_the_first(zone, cron, start, fired):
    source, tz = _in(zone, schedule=cron)
    assert _fired(source, tz, start, start + timedelta(hours=24)) == fired


@pytest.mark.parametrize(
    ("zone", "when", "start", "fired"),
    [
        # New York, 2026-03-08: 02:00 EST becomes 03:00 EDT (07:00Z); 02:30 never happens.
        (
            "America/New_York",
            {"schedule": "30 2 * * *"},
            _utc(2026, 3, 7, 12),
            [_utc(2026, 3, 8, 7)],
        ),
        (
            "America/New_York",
            {"schedule": "0 2 * * *"},
            _utc(2026, 3, 7, 12),
            [_utc(2026, 3, 8, 7)],
        ),
        # both the skipped 02:30 and 03:00 itself: still one run
        (
            "America/New_York",
            {"schedule": ["30 2 * * *", "0 3 * * *"]},
            _utc(2026, 3, 7, 12),
            [_utc(2026, 3, 8, 7)],
        ),
        (
            "America/New_York",
            {"every": "2h"},
            _utc(2026, 3, 8, 4),  # 23:00 EST on the 7th
            [_utc(2026, 3, 8, 5), _utc(2026, 3, 8, 7), _utc(2026, 3, 8, 8)],  # 00, (02→)03, 04
        ),
        # Berlin, 2026-03-29: 02:00 CET becomes 03:00 CEST (01:00Z).
        (
            "Europe/Berlin",
            {"schedule": "30 2 * * *"},
            _utc(2026, 3, 28, 12),
            [_utc(2026, 3, 29, 1)],
        ),
        # Santiago, 2026-09-06: midnight becomes 01:00 (04:00Z); `every: 1d` fires then.
        ("America/Santiago", {"every": "1d"}, _utc(2026, 9, 5, 12), [_utc(2026, 9, 6, 4)]),
    ],
)
def test_a_wall_time_that_does_not_exist_fires_at_the_first_minute_after_the_gap(
    zone, when, start, fired
):
    source, tz = _in(zone, **when)
    end = start + timedelta(hours=24 if "schedule" in when or when["every"] == "1d" else 5)
    assert _fired(source, tz, start, end) == fired


@pytest.mark.parametrize("zone", ["America/New_York", "Europe/Berlin", "America/Santiago"])
@pytest.mark.parametrize("when", [{"every": "1d"}, {"schedule": "30 1 * * *"}])
def test_a_daily_schedule_fires_on_every_calendar_day_across_both_changes(zone, when):
    source, tz = _in(zone, **when)
    for first_day in (date(2026, 3, 1), date(2026, 9, 1), date(2026, 10, 20)):
        start, end = (
            datetime.combine(day, datetime.min.time(), tz).astimezone(UTC)
            for day in (first_day, first_day + timedelta(days=14))
        )
        fired = _fired(source, tz, start, end)
        local_days = [tick.astimezone(tz).date() for tick in fired]
        assert local_days == [first_day + timedelta(days=n) for n in range(14)], fired


@pytest.mark.parametrize(
    ("zone", "start"),
    [
        ("America/New_York", _utc(2026, 11, 1, 3)),  # autumn: 01:xx happens twice
        ("America/New_York", _utc(2026, 3, 8, 4)),  # spring: 02:xx never happens
        ("Europe/Berlin", _utc(2026, 10, 24, 23)),
        ("Europe/Berlin", _utc(2026, 3, 28, 23)),
        ("America/Santiago", _utc(2026, 4, 5, 2)),  # the night of the 4th, 23:00 twice
        ("America/Santiago", _utc(2026, 9, 6, 2)),  # midnight never happens
    ],
)
@pytest.mark.parametrize(
    ("when", "step"),
    [
        ({"schedule": "*/30 * * * *"}, 30),
        ({"schedule": "0 * * * *"}, 60),
        ({"every": "5m"}, 5),
        ({"every": "1h"}, 60),
        ({"schedule": ["0 9-21 * * *", "*/30 22-23,0-8 * * *"]}, 30),  # the scheduled bot at night
    ],
)
def test_a_schedule_through_the_hour_follows_real_time_across_a_change(zone, start, when, step):
    source, tz = _in(zone, **when)
    fired = _fired(source, tz, start, start + timedelta(hours=6))
    assert [b - a for a, b in pairwise(fired)] == [timedelta(minutes=step)] * (len(fired) - 1)
    assert len(fired) == 6 * 60 // step


def test_a_zone_without_daylight_saving_fires_once_a_day():
    for when in ({"every": "1d"}, {"schedule": "30 1 * * *"}, {"schedule": "30 2 * * *"}):
        source, tz = _in("Asia/Tokyo", **when)
        start = datetime.combine(date(2026, 3, 1), datetime.min.time(), tz).astimezone(UTC)
        fired = _fired(source, tz, start, start + timedelta(days=3))
        assert [b - a for a, b in pairwise(fired)] == [timedelta(days=1)] * 2


# --- the period: the longest gap between consecutive runs ------------------------------


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ("*/5 * * * *", timedelta(minutes=5)),
        ("0 9 * * *", timedelta(days=1)),
        ("0 9 * * 1-5", timedelta(days=3)),  # Friday 9:00 -> Monday 9:00
        ("0 9 * * MON", timedelta(days=7)),
        ("0 0 1 * *", timedelta(days=31)),  # monthly: the longest month
        ("0 0 1,15 * *", timedelta(days=17)),  # 15th -> 1st of a 31-day month
        ("0 0 31 * *", timedelta(days=61)),  # only months with 31 days: Oct 31 -> Dec 31
        ("0 0 1 */3 *", timedelta(days=92)),  # quarterly
        ("0 0 1 1 *", timedelta(days=365)),  # yearly: capped at a year
        ("0 0 29 2 *", timedelta(days=365)),  # leap day: every four years, capped
        ("0 0 L * *", timedelta(days=31)),  # the last day of each month
        ("0 12 * * 1#1", timedelta(days=35)),  # the first Monday: croniter decides the days
        (["0 9-21 * * *", "*/30 22-23,0-8 * * *"], timedelta(hours=1)),
    ],
)
def test_period_is_the_longest_gap_between_consecutive_runs(schedule, expected):
    source, tz = _in("Europe/Berlin", schedule=schedule)
    assert period(source, tz, datetime(2026, 11, 18, 12, tzinfo=UTC)) == expected


@pytest.mark.parametrize(
    "schedule",
    [
        "0 0 1 * *",
        "30 6 1,15 * *",
        "0 0 31 * *",
        "0 9 * * 1-5",
        "15 4 1 * 1",  # the 1st or any Monday (cron ORs the two day fields)
        "0 0 L * *",
        "0 9 15W * *",
        "0 12 * * L5",
        ["0 0 1 * *", "0 12 10 * *"],
    ],
)
def test_period_agrees_with_croniter_walking_every_run(schedule):
    """The fast computation against croniter's own runs over the same two years."""
    from croniter import croniter

    source, tz = _in("UTC", schedule=schedule)
    around = datetime(2026, 11, 18, 12, tzinfo=UTC)
    end = datetime(2026, 11, 19)
    start = end - timedelta(days=2 * 366)
    runs = set()
    for expr in source.schedule:
        walker = croniter(expr, start - timedelta(minutes=1))
        while (run := walker.get_next(datetime)) < end:
            runs.add(run)
    gaps = [b - a for a, b in pairwise(sorted(runs))]
    assert period(source, tz, around) == min(max(gaps), timedelta(days=365))


@pytest.mark.parametrize(
    "expr",
    [
        "*/5 9-17 * * 1-5",
        "15,45 */2 * * *",
        "0 0 1,15 * 1",
        "0 9 * * 5-7",
        "0 9 * * SUN-TUE",
        "0 0 L * *",
        "0 9 1-5,L * *",
        "0 9 15W * *",
        "0 12 * * 1#2",
        "0 12 * * L5",
        "30 6 * 2,8 *",
    ],
)
def test_cron_matching_is_croniters(expr):
    """tally matches expanded fields itself (croniter.match costs 0.2 ms a call): the
    same answer as croniter at each of its runs and at random minutes."""
    import random

    from croniter import croniter
    from tally.schedule import cron

    pattern = cron(expr)
    walker = croniter(expr, datetime(2026, 1, 1))
    for _ in range(200):
        assert pattern.matches(walker.get_next(datetime)), expr
    rng = random.Random(expr)
    for _ in range(300):
        moment = datetime(2026, 1, 1) + timedelta(minutes=rng.randrange(2 * 366 * 1440))
        assert pattern.matches(moment) == croniter.match(expr, moment), (expr, moment)
