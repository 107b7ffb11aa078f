"""Store: the one gateway to Firestore, laid out so that cost does not grow with history
(docs/how-it-works.md; the day document's fields are in `day_document.py`).

Writing a sample is one document write and no read: a merge on the tick's field path,
so a redelivered tick overwrites itself, plus a server timestamp in the same write:
`written` is when the document last changed, which is how the renderer finds what
changed since its last run in one query (`changed_days`). A tick may run twice (a redelivery, two
instances at once) and the upstream may blink in between: failures and ok samples live
under different field paths, and when both exist for a tick the ok sample is the one
read, so a failure never replaces a stored success of the same tick. The source's
summary (last value, last ok, last error, failure streak) is derived when read from
the newest day documents: nothing is ever incremented, so duplicates cannot skew it.

Every document access goes through this class (and `transactions.py`, alerting's
transactions on its client, and `store_import.py`, the import's day documents), which
counts reads and writes: the benchmarks and tests
assert on those counts.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from google.api_core import exceptions as api_exceptions
from google.api_core import retry as api_retry
from google.cloud import firestore

from tally import logs
from tally.day_document import (  # also imported from here by the layout's readers
    effective_samples,
    key_of,
    sample_fields,
    sample_from,
)
from tally.sample import Sample, short_reason
from tally.secrets import redact
from tally.transactions import read_many

DEFAULT_PROJECT = "demo-tally"
MAX_WRITES_PER_COMMIT = 500  # Firestore's limit for one commit
STREAK_DAYS = 3  # how many day documents a summary may read to measure a failure streak


@dataclass
class Day:
    """One day document of one source, as read: `samples` holds one sample per tick
    key, the ok one where a tick has both (`effective_samples`)."""

    source_id: str
    date: str
    samples: dict[str, dict[str, Any]]

    def ordered(self) -> list[Sample]:
        return [
            sample_from(self.source_id, self.date, key, self.samples[key])
            for key in sorted(self.samples)
        ]


@dataclass
class Summary:
    """What the page and `tally collect` show about a source right now."""

    source_id: str
    last: Sample | None = None
    last_ok: Sample | None = None
    last_error: Sample | None = None
    failure_streak: int = 0
    streak_at_least: bool = False  # the streak runs past the documents read


@dataclass
class Counter:
    reads: int = 0
    writes: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, reads: int = 0, writes: int = 0) -> None:
        self.reads += reads
        self.writes += writes
        self.by_kind[kind] = self.by_kind.get(kind, 0) + reads + writes


class Store:
    """The one gateway to Firestore for the collector, the renderer and the CLI."""

    def __init__(
        self,
        client: firestore.Client | None = None,
        *,
        retention_days: int = 400,
        timeout: float = 30.0,
    ):
        self.client = client or firestore.Client(
            project=os.environ.get("GOOGLE_CLOUD_PROJECT") or DEFAULT_PROJECT
        )
        self.retention = timedelta(days=retention_days)
        self.timeout = timeout
        # Firestore down must surface within the function's budget, so the platform
        # retries the event, rather than hang in the client's default 10-minute retry.
        self.retry = api_retry.Retry(initial=0.2, maximum=2.0, timeout=timeout)
        self.counter = Counter()

    # --- raw documents (the renderer keeps its caches through these) -------------

    def get(self, path: str) -> dict[str, Any] | None:
        return self.get_at(path)[0]

    def get_at(self, path: str) -> tuple[dict[str, Any] | None, datetime]:
        """A document and the server time it was read at: every write committed after
        that time is newer than what was read (the renderer's change mark)."""
        snapshot = self.client.document(path).get(retry=self.retry, timeout=self.timeout)
        self.counter.add("get", reads=1)
        return (snapshot.to_dict() if snapshot.exists else None), snapshot.read_time

    def get_many(self, paths: list[str]) -> list[dict[str, Any] | None]:
        """Several documents in one round trip, in the order of `paths` (None for one that
        does not exist); Firestore bills a read for each."""
        return read_many(self.client, paths, self.retry, self.timeout, self.counter, "get")

    def set(self, path: str, data: dict[str, Any], *, merge: bool = False) -> None:
        self.client.document(path).set(data, merge=merge, retry=self.retry, timeout=self.timeout)
        self.counter.add("set", writes=1)

    def delete(self, path: str) -> None:
        """Delete one document (Firestore bills a delete as a write)."""
        self.client.document(path).delete(retry=self.retry, timeout=self.timeout)
        self.counter.add("delete", writes=1)

    # --- samples -------------------------------------------------------------------

    def day_path(self, source_id: str, day: str) -> str:
        return f"sources/{source_id}/days/{day}"

    def day_write(
        self,
        source_id: str,
        day: str,
        samples: dict[str, dict[str, Any]],
        *,
        replace: bool = False,
    ) -> tuple[str, dict[str, Any]]:
        """The document path and merge data that store these samples of one day (keyed
        HHMM, as `sample_fields` gives them): one collected sample or a day imported.

        Ok samples go to `samples.{HHMM}`, failures to `failures.{HHMM}`, so a failure
        written after an ok sample of the same tick never hides it. `replace` (an
        import saying what a minute was) also deletes the other path of each key, so
        a failure can replace an ok sample; use it only on a document that exists.
        """
        day_start = datetime.combine(date.fromisoformat(day), time(), tzinfo=UTC)
        data: dict[str, Any] = {
            "source": source_id,
            "date": day,
            "expire_at": day_start + timedelta(days=1) + self.retention,
            "written": firestore.SERVER_TIMESTAMP,  # the renderer's change mark
        }
        # An empty map in a merge would replace the whole stored map: only non-empty ones.
        for path, wanted in (("samples", True), ("failures", False)):
            entries: dict[str, Any] = {
                key: fields for key, fields in samples.items() if bool(fields["ok"]) == wanted
            }
            if replace:
                entries.update(
                    {
                        key: firestore.DELETE_FIELD
                        for key, fields in samples.items()
                        if bool(fields["ok"]) != wanted
                    }
                )
            if entries:
                data[path] = entries
        return self.day_path(source_id, day), data

    def _sample_write(self, sample: Sample) -> tuple[str, dict[str, Any]]:
        """The document path and merge data that store one sample."""
        day, key = key_of(sample.tick)
        return self.day_write(sample.source_id, day, {key: sample_fields(sample)})

    def write_sample(self, sample: Sample) -> None:
        """Store one sample: exactly one document write, no read."""
        path, data = self._sample_write(sample)
        self.set(path, data, merge=True)

    def write_samples(self, samples: list[Sample]) -> list[Sample]:
        """Store a tick's samples: still one document write each, in as few commits as
        Firestore allows (500 writes a commit), so a tick costs one round trip.

        Returns the tick's samples as they stand, in order: the samples themselves,
        except one that Firestore refused (a day document past its 1 MiB limit, say),
        which is stored as a failed sample saying why, so it costs neither the tick nor
        the others. If even that cannot be stored (logged), the failed sample is still
        returned: the tick reports it and alerting counts the failure.
        """
        stored: list[Sample] = []
        for start in range(0, len(samples), MAX_WRITES_PER_COMMIT):
            batch = self.client.batch()
            chunk = samples[start : start + MAX_WRITES_PER_COMMIT]
            for sample in chunk:
                path, data = self._sample_write(sample)
                batch.set(self.client.document(path), data, merge=True)
            try:
                batch.commit(retry=self.retry, timeout=self.timeout)
            except api_exceptions.InvalidArgument:
                # the commit is all or nothing: find the offending samples one by one
                stored.extend(self._write_one_by_one(chunk))
                continue
            self.counter.add("set", writes=len(chunk))
            stored.extend(chunk)
        return stored

    def _write_one_by_one(self, samples: list[Sample]) -> list[Sample]:
        stored = []
        for sample in samples:
            try:
                self.write_sample(sample)
            except api_exceptions.InvalidArgument as exc:
                stored.append(self._store_refusal(sample, str(exc.message)))
            else:
                stored.append(sample)
        return stored

    def _store_refusal(self, sample: Sample, why: str) -> Sample:
        """Store, in place of a sample Firestore refused, a failed sample saying why."""
        logs.error(
            f"{sample.source_id}: Firestore refused the sample; storing why instead",
            source=sample.source_id,
            tick=sample.tick.isoformat(),
            detail=redact(why)[:500],  # redacted before it is cut
        )
        refused = Sample(
            source_id=sample.source_id,
            tick=sample.tick,
            ok=False,
            error=short_reason(f"not stored: Firestore refused the sample: {why}"),
        )
        try:
            self.write_sample(refused)
        except api_exceptions.InvalidArgument as exc:  # not even that fits: say so, go on
            logs.error(
                f"{sample.source_id}: the failed sample could not be stored either",
                source=sample.source_id,
                tick=sample.tick.isoformat(),
                detail=redact(str(exc.message))[:500],
            )
        return refused

    def _day_from(self, source_id: str, data: dict[str, Any]) -> Day:
        return Day(
            source_id=source_id,
            date=data["date"],
            samples=effective_samples(data),
        )

    def day(self, source_id: str, day: str) -> Day | None:
        data = self.get(self.day_path(source_id, day))
        return self._day_from(source_id, data) if data else None

    def days(
        self,
        source_id: str,
        since: str | None = None,
        until: str | None = None,
        *,
        newest_first: bool = False,
        limit: int | None = None,
    ) -> Iterator[Day]:
        """Day documents of a source in date order; reads one document per day yielded."""
        query: Any = self.client.collection(f"sources/{source_id}/days")
        if since:
            query = query.where(filter=firestore.FieldFilter("date", ">=", since))
        if until:
            query = query.where(filter=firestore.FieldFilter("date", "<=", until))
        direction = firestore.Query.DESCENDING if newest_first else firestore.Query.ASCENDING
        query = query.order_by("date", direction=direction)
        if limit:
            query = query.limit(limit)
        returned = 0
        for snapshot in query.stream(retry=self.retry, timeout=self.timeout):
            returned += 1
            self.counter.add("query", reads=1)
            yield self._day_from(source_id, snapshot.to_dict())
        if returned == 0:
            self.counter.add("query", reads=1)  # Firestore bills an empty query as one read

    def changed_days(self, after: datetime, at: datetime) -> Iterator[Day]:
        """Every day document (of any source) written after `after`, as it was at `at`:
        one query over the collection group `days`, one read per document returned.

        Reading at a fixed time (the renderer's `get_at` of its state) makes the marks
        of consecutive renders meet exactly: what is committed after `at` is found by
        the next render, whatever was being written while this one ran.
        """
        query = self.client.collection_group("days").where(
            filter=firestore.FieldFilter("written", ">", after)
        )
        returned = 0
        for snapshot in query.stream(retry=self.retry, timeout=self.timeout, read_time=at):
            returned += 1
            self.counter.add("changed", reads=1)
            source_id = snapshot.reference.parent.parent.id
            yield self._day_from(source_id, snapshot.to_dict())
        if returned == 0:
            self.counter.add("changed", reads=1)  # Firestore bills an empty query as one read

    def samples(self, source_id: str, since: str | None = None) -> Iterator[Sample]:
        """Every stored sample of a source, oldest first."""
        for day in self.days(source_id, since=since):
            yield from day.ordered()

    def summary(self, source_id: str) -> Summary:
        """Last value, last ok, last error and failure streak, from the newest days."""
        result = Summary(source_id=source_id)
        streak_open = True
        for index, day in enumerate(self.days(source_id, newest_first=True, limit=STREAK_DAYS)):
            samples = day.ordered()
            if result.last is None and samples:
                result.last = samples[-1]
            for sample in reversed(samples):
                if sample.ok:
                    result.last_ok = result.last_ok or sample
                    streak_open = False
                else:
                    result.last_error = result.last_error or sample
                    if streak_open:
                        result.failure_streak += 1
            if result.last_ok and result.last_error:
                break
            if index == STREAK_DAYS - 1 and streak_open and result.failure_streak:
                result.streak_at_least = True
        return result
