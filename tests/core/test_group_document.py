"""Group-hour documents on the Firestore emulator: a tick costs a write per group of
sources, the largest document any tick can make fits Firestore's 1 MiB with room, and a
source's history reads back whole whichever groups and layouts hold it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from google.api_core.exceptions import InvalidArgument
from tally import group_document
from tally.group_document import GROUP_SIZE, assign
from tally.sample import MAX_REASON_CHARS, Sample, short_reason
from tally.store import sample_fields

HOUR = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
LIMIT = 1_048_576  # Firestore's maximum document size


def _size(value: Any) -> int:
    """Firestore's storage size of a value (cloud.google.com/firestore/docs/storage-size)."""
    if isinstance(value, dict):
        return sum(len(key.encode()) + 1 + _size(item) for key, item in value.items())
    if isinstance(value, list):
        return sum(_size(item) for item in value)
    if isinstance(value, str):
        return len(value.encode()) + 1
    if value is None or isinstance(value, bool):
        return 1
    return 8  # numbers, timestamps


def _document_size(path: str, data: dict[str, Any]) -> int:
    name = sum(len(part.encode()) + 1 for part in path.split("/")) + 16
    return name + _size(data) + 32


def _worst_hour(sources: int) -> tuple[str, dict[str, Any]]:
    """An hour of every-minute failures of `sources` sources with the longest ids and
    the longest reasons in the widest characters, every field set: what no tick can
    exceed (a sample is written whole, under one key per minute)."""
    ids = [f"{n:03d}".ljust(63, "x") for n in range(sources)]
    reason = short_reason("𝄞" * 2000)  # four bytes a character
    assert reason is not None and len(reason.encode()) <= 400
    data: dict[str, Any] = {
        "sources": ids,
        "group": "g99",
        "date": HOUR.date().isoformat(),
        "hour": HOUR.strftime("%Y-%m-%dT%H"),
        "expire_at": HOUR,
        "written": HOUR,
        "touched": dict.fromkeys(ids, HOUR),
        "samples": {},
        "failures": {},
    }
    for source_id in ids:
        for minute in range(60):
            sample = Sample(
                source_id,
                HOUR + timedelta(minutes=minute),
                ok=False,
                value=1e308,
                error=reason,
                latency_ms=1e308,
                status=599,
                up=0,
                degraded=True,
            )
            data["failures"].setdefault(source_id, {})[f"{minute:02d}"] = sample_fields(sample)
    return group_document.hour_path("g99", data["hour"]), data


def test_the_largest_hour_a_group_can_make_fits_with_room(store):
    path, data = _worst_hour(GROUP_SIZE)
    size = _document_size(path, data)
    assert size < 0.75 * LIMIT, size  # 25 sources x 60 minutes x the largest sample
    store.client.document(path).set(data)  # and Firestore takes it
    assert len(store.client.document(path).get().to_dict()["failures"]) == GROUP_SIZE
    # not a bound by luck: twice the group is past the limit, and refused
    twice_path, twice = _worst_hour(2 * GROUP_SIZE)
    assert _document_size(twice_path, twice) > LIMIT
    with pytest.raises(InvalidArgument):
        store.client.document(twice_path).set(twice)


def test_a_reason_is_cut_to_300_characters_and_400_bytes():
    assert len(short_reason("p" * 1000)) == MAX_REASON_CHARS
    kana = short_reason("ア" * 1000)  # three bytes each
    assert kana.endswith("…") and len(kana.encode()) <= 400 and set(kana[:-1]) == {"ア"}


def test_a_tick_of_60_sources_is_three_writes_and_no_read(store):
    ids = [f"s{n:02d}" for n in range(60)]
    tick = HOUR + timedelta(minutes=5)
    samples = [Sample(source_id, tick, ok=True, value=float(n)) for n, source_id in enumerate(ids)]
    store.write_samples(samples, assign(ids))
    assert (store.counter.writes, store.counter.reads) == (3, 0)  # ceil(60 / 25)
    assert [s.value for s in store.samples("s59")] == [59.0]
    # the same tick delivered again: the same three documents, nothing doubled
    store.write_samples(samples, assign(ids))
    assert store.counter.writes == 6
    assert [s.tick for s in store.samples("s07")] == [tick]


def test_the_grouping_is_the_sorted_ids_in_chunks():
    groups = assign([f"s{n:02d}" for n in reversed(range(60))])
    assert groups["s00"] == groups["s24"] == "g00" and groups["s25"] == "g01"
    assert groups["s59"] == "g02" and len(set(groups.values())) == 3


def test_a_source_that_changes_group_keeps_its_whole_history(store):
    """A source added to the config moves others to another group mid-hour: every
    sample still reads back, once, and a failure never hides an ok sample of its tick
    even when they landed in different groups."""
    before = assign([f"s{n:02d}" for n in range(30)])
    after = assign(["a-new"] + [f"s{n:02d}" for n in range(30)])
    assert before["s24"] != after["s24"]  # s24 moved from g00 to g01
    first, second = HOUR + timedelta(minutes=5), HOUR + timedelta(minutes=10)
    store.write_samples([Sample("s24", first, ok=True, value=1.0)], before)
    store.write_samples([Sample("s24", second, ok=True, value=2.0)], after)
    # a redelivery of the first tick under the new grouping, the upstream failing now
    store.write_samples([Sample("s24", first, ok=False, error="HTTP 503")], after)

    assert [(s.tick, s.ok, s.value) for s in store.samples("s24")] == [
        (first, True, 1.0),
        (second, True, 2.0),
    ]
    summary = store.summary("s24")
    assert summary.last.value == 2.0 and summary.failure_streak == 0


def test_day_documents_of_the_older_layout_read_with_the_new(store):
    """Samples tally stored before group-hour documents (one document per source and
    day) stay where they are and read back with the new ones, in order."""
    old = HOUR - timedelta(days=1)
    path, data = store.day_write(
        "clicks", old.date().isoformat(), {"0900": sample_fields(Sample("clicks", old, True, 5))}
    )
    store.set(path, data)
    store.write_samples([Sample("clicks", HOUR, ok=True, value=6.0)], assign(["clicks"]))
    assert [(s.tick, s.value) for s in store.samples("clicks")] == [(old, 5), (HOUR, 6.0)]
    assert [day.date for day in store.days("clicks", newest_first=True, limit=1)] == [
        HOUR.date().isoformat()
    ]
