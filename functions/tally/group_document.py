"""The group-hour document: the samples of up to GROUP_SIZE sources for one UTC hour.

    groups/{group}/hours/{YYYY-MM-DDTHH}   one document per group of sources per hour
        sources                  the ids it holds (an array: readers of one source find
                                 every document holding it with `array-contains`)
        group, date, hour        'g03', '2026-11-22', '2026-11-22T09'
        samples.{source}.{MM}    an ok sample, keyed by its tick's minute
        failures.{source}.{MM}   a failed sample, keyed by its tick's minute
        written                  the commit time of the last write (server timestamp)
        touched.{source}         the commit time of the source's last write here
        expire_at                the TTL policy's field (hour + retention)

Why a group and an hour: Firestore bills a write per document, so a tick of 500 sources
stored a document each costs 500 writes (144,000 a day at 5-minute schedules, seven times
the free 20,000). A tick stores each group's samples in one write: 20 writes for 500
sources. The hour bounds the document: GROUP_SIZE sources × 60 minutes × the largest
sample (`sample_size_bound`) stays far under Firestore's 1 MiB, whatever the schedules
and failure reasons (tests/core/test_group_document.py builds that worst case); and one
write a minute per document is far under Firestore's sustained rate for one document.

The grouping is the config's source ids, sorted, in chunks of GROUP_SIZE: stable while
the set of ids is, and changing only where an id is added or removed. Nothing relies on
it staying put: readers find a source's documents by the `sources` array, and a source
that moved keeps its older samples where they were. A source the grouping does not know
(the store used without a config: a test, a tool) is a group of its own.

Pure functions of documents and samples: `store.py` reads and writes them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

GROUP_SIZE = 25
GROUPS = "groups"
HOURS = "hours"


def assign(source_ids: Iterable[str]) -> dict[str, str]:
    """Each source id's group: sorted ids in chunks of GROUP_SIZE ('g00', 'g01', …)."""
    ordered = sorted(set(source_ids))
    return {source_id: f"g{index // GROUP_SIZE:02d}" for index, source_id in enumerate(ordered)}


def group_of(groups: Mapping[str, str], source_id: str) -> str:
    """The group of a source; a source the grouping does not know is a group of its own."""
    return groups.get(source_id) or f"s-{source_id}"


def hour_of(tick: datetime) -> tuple[str, str, str]:
    """(date, hour document id, minute key) of a tick: ('2026-11-22', '2026-11-22T09', '30')."""
    tick = tick.astimezone(UTC)
    return tick.strftime("%Y-%m-%d"), tick.strftime("%Y-%m-%dT%H"), tick.strftime("%M")


def hour_path(group: str, hour: str) -> str:
    return f"{GROUPS}/{group}/{HOURS}/{hour}"


def is_hour_path(path: str) -> bool:
    parts = path.split("/")
    return len(parts) == 4 and parts[0] == GROUPS and parts[2] == HOURS


def fragments(data: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any], dict[str, Any]]]:
    """What an hour document holds of each source: source id → (date, ok samples,
    failures), each keyed HHMM as in a day document."""
    hour = str(data.get("hour", ""))
    day, hh = hour[:10], hour[11:13]
    out: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {}
    for field, slot in (("samples", 1), ("failures", 2)):
        by_source = data.get(field) or {}
        if not isinstance(by_source, dict):
            continue
        for source_id, minutes in by_source.items():
            if not isinstance(minutes, dict):
                continue
            entry = out.setdefault(source_id, (day, {}, {}))
            entry[slot].update({f"{hh}{minute}": fields for minute, fields in minutes.items()})
    return out
