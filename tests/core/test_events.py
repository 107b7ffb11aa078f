"""Times from outside (a message's `tick`, its publish time, `tally import` rows) are read
as ISO-8601 with their offset: the instant, not the digits."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from tally.events import MalformedEvent, parse_time, tick_from_event
from tally.importer import RowError, parse_when

from tests.core.conftest import pubsub_event

READINGS = [
    ("2026-03-01T09:30:00Z", datetime(2026, 3, 1, 9, 30, tzinfo=UTC)),
    ("2026-03-01T09:30:00z", datetime(2026, 3, 1, 9, 30, tzinfo=UTC)),
    ("2026-03-01T09:30:00+09:00", datetime(2026, 3, 1, 0, 30, tzinfo=UTC)),
    ("2026-03-01T09:30:00.000+09:00", datetime(2026, 3, 1, 0, 30, tzinfo=UTC)),
    ("2026-03-01T09:30:00.250-05:00", datetime(2026, 3, 1, 14, 30, 0, 250000, tzinfo=UTC)),
    ("2026-03-01T09:30:00.123456789Z", datetime(2026, 3, 1, 9, 30, 0, 123456, tzinfo=UTC)),
    ("2026-03-01T23:59:59.999+09:00", datetime(2026, 3, 1, 14, 59, 59, 999000, tzinfo=UTC)),
    ("2026-03-01 09:30:00", datetime(2026, 3, 1, 9, 30, tzinfo=UTC)),  # naive: UTC
    ("2026-03-01T09:30", datetime(2026, 3, 1, 9, 30, tzinfo=UTC)),
    (" 2026-03-01T09:30:00+05:30 ", datetime(2026, 3, 1, 4, 0, tzinfo=UTC)),
]


@pytest.mark.parametrize(("text", "instant"), READINGS)
def test_iso_8601_is_read_with_its_offset(text, instant):
    assert parse_time(text) == instant


@pytest.mark.parametrize(("text", "instant"), READINGS)
def test_an_imported_row_lands_on_the_instant_it_names(text, instant):
    assert parse_when(text) == instant


@pytest.mark.parametrize(("text", "instant"), READINGS)
def test_the_tick_attribute_names_the_minute_of_that_instant(text, instant):
    event = pubsub_event(datetime(2026, 3, 2, tzinfo=UTC), attributes={"tick": text})
    assert tick_from_event(event) == instant.replace(second=0, microsecond=0)


def test_a_publish_time_with_nanoseconds_is_its_minute():
    event = pubsub_event(datetime(2026, 3, 2, tzinfo=UTC))
    event.data["message"]["publishTime"] = "2026-03-02T10:15:59.999999999Z"
    assert tick_from_event(event) == datetime(2026, 3, 2, 10, 15, tzinfo=UTC)


@pytest.mark.parametrize("text", ["yesterday", "2026-13-01T00:00:00Z", "09:30+09:00", ""])
def test_what_is_not_iso_8601_is_refused(text):
    with pytest.raises(ValueError):
        parse_time(text)
    if text:
        event = pubsub_event(datetime(2026, 3, 2, tzinfo=UTC), attributes={"tick": text})
        with pytest.raises(MalformedEvent):
            tick_from_event(event)
    with pytest.raises(RowError):
        parse_when(text)
