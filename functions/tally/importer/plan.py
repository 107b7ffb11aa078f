"""Planning: parsed rows → one batch per UTC day, as stored, and what each changes.

Firestore bills per document write, so a row is never a write: rows are sorted by
minute and grouped by UTC day, and each day becomes one batch of sample fields built
by the same `sample_fields` as a collected sample. A time is floored to its minute
(the tick, as collected samples are); two rows on the same minute are one sample: an
identical repeat is skipped, a conflicting one rejected with both line numbers.
Against the stored day, only what differs is written (`changes`), so importing the
same file twice writes nothing the second time.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tally.importer.parse import Rows
from tally.importer.result import Problem, Result
from tally.sample import Sample
from tally.sources.kind import Kind
from tally.store import effective_samples, key_of, sample_fields

IMPORTED_FAILURE = "failed (imported)"


@dataclass
class DayBatch:
    day: str  # YYYY-MM-DD, the day document's id
    samples: dict[str, dict[str, Any]]  # HHMM -> the sample's stored fields


def stored_fields(kind: Kind, value: float | None, ok: bool) -> dict[str, Any]:
    """A row as the collector would have stored it, through the same `sample_fields`;
    what else a row of this kind stores (a check's response time, up) the kind says."""
    sample = Sample(
        source_id="",
        tick=datetime.fromtimestamp(0, tz=UTC),
        ok=ok,
        value=value,
        error=None if ok else IMPORTED_FAILURE,
        **kind.imported(value, ok),
    )
    return sample_fields(sample)


def day_batches(rows: Rows, kind: Kind, result: Result) -> Iterator[DayBatch]:
    """Rows sorted by minute and grouped into days; repeats of a minute resolved."""
    batch: DayBatch | None = None
    previous_minute = None
    previous_line = 0
    previous_wanted: dict[str, Any] = {}
    for index in rows.sorted_indices():
        minute = rows.minute[index]
        raw = rows.value[index]
        value = None if math.isnan(raw) else raw
        ok = bool(rows.ok[index])
        wanted = stored_fields(kind, value, ok)
        if minute == previous_minute:
            if wanted == previous_wanted:
                result.skipped += 1
            else:
                result.rejected += 1
                result.problems.append(
                    Problem(
                        rows.line[index],
                        f"a different sample for the same minute as line {previous_line}"
                        " (one sample per minute; times are floored to the minute)",
                    )
                )
            continue
        previous_minute, previous_line, previous_wanted = minute, rows.line[index], wanted
        tick = datetime.fromtimestamp(minute * 60, tz=UTC)
        day, key = key_of(tick)
        if batch is None or batch.day != day:
            if batch is not None:
                yield batch
            batch = DayBatch(day, {})
        batch.samples[key] = wanted
    if batch is not None:
        yield batch


@dataclass
class DayChanges:
    """What one day's batch changes in its stored document."""

    new: dict[str, dict[str, Any]]  # HHMM -> fields to write: absent or different
    replaced: int  # of `new`: a stored sample with a different value
    skipped: int  # stored identically already


def changes(batch: DayBatch, document: dict[str, Any] | None) -> DayChanges:
    """The batch against the stored day document (None: there is none yet)."""
    existing = effective_samples(document or {})
    new: dict[str, dict[str, Any]] = {}
    replaced = 0
    for key, wanted in batch.samples.items():
        stored = existing.get(key)
        if _same(stored, wanted):
            continue
        new[key] = wanted
        replaced += stored is not None
    return DayChanges(new, replaced, len(batch.samples) - len(new))


def _same(stored: Any, wanted: dict[str, Any]) -> bool:
    """The row says what is stored: same ok and value (to the 15 digits `tally export`
    writes). A collected sample's richer fields (its error, its HTTP status) are kept."""
    if not isinstance(stored, dict) or bool(stored.get("ok")) != wanted["ok"]:
        return False
    have, want = stored.get("value"), wanted["value"]
    if have is None or want is None:
        return have is None and want is None
    return math.isclose(have, want, rel_tol=1e-13, abs_tol=0.0)
