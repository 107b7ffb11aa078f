"""When sources are due: crons in the configured time zone, and `every`."""

from datetime import UTC, datetime, timedelta

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
