"""Store: the one gateway to Firestore, laid out so that cost does not grow with history
nor with the number of sources (docs/how-it-works.md; the documents' fields are in
`group_document.py` and `day_document.py`).

Collected samples go to group-hour documents: a tick stores each group's samples in one
document write, no read: a merge on the samples' field paths, so a redelivered tick
overwrites itself, plus a server timestamp in the same write: `written` is when the
document last changed, which is how the renderer finds what changed since its last run
(`changed_documents`). A tick may run twice (a redelivery, two instances at once) and the
upstream may blink in between: failures and ok samples live under different field
paths, and when both exist for a tick the ok sample is the one read, so a failure never
replaces a stored success of the same tick. A source's days read back merged from every
document holding it and its own day document (`tally import`'s, and what tally stored
before the group layout: still read, never moved). The source's summary (last value,
last ok, last error, failure streak) is derived when read from the newest days: nothing
is ever incremented, so duplicates cannot skew it.

Every document access goes through this class (and `transactions.py`, alerting's
transactions on its client, and `store_import.py`, the import's day documents), which
counts reads and writes: the benchmarks and tests assert on those counts.
"""

from __future__ import annotations

import heapq
import itertools
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from google.api_core import exceptions as api_exceptions
from google.api_core import retry as api_retry
from google.cloud import firestore

from tally import group_document, logs
from tally.day_document import (  # also imported from here by the layout's readers
    effective_samples,  # noqa: F401
    key_of,  # noqa: F401
    merged_samples,
    sample_fields,
    sample_from,
)
from tally.merge_write import add_merge_write
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

    def create(self, path: str, data: dict[str, Any]) -> bool:
        """Create a document that must not exist yet; False (nothing written) if it does."""
        try:
            self.client.document(path).create(data, retry=self.retry, timeout=self.timeout)
        except api_exceptions.AlreadyExists:
            self.counter.add("create", writes=1)  # counted as the write it tried to be
            return False
        self.counter.add("create", writes=1)
        return True

    def documents_where(
        self, collection: str, field: str, op: str, value: Any, *, limit: int
    ) -> list[dict[str, Any]]:
        """The documents of a collection one field's filter picks, at most `limit`."""
        query = self.client.collection(collection).where(
            filter=firestore.FieldFilter(field, op, value)
        )
        return [snapshot.to_dict() or {} for snapshot in self._stream(query.limit(limit), "query")]

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

    def hour_write(self, group: str, samples: list[Sample]) -> tuple[str, dict[str, Any]]:
        """The document path and merge data that store these samples (of one UTC hour)
        in their group's hour document: one write whatever their number.

        Ok samples go to `samples.{source}.{MM}`, failures to `failures.{source}.{MM}`, so
        a failure written after an ok sample of the same tick never hides it; `sources`
        gains their ids (an array union), which is how readers find the document.
        """
        day, hour, _ = group_document.hour_of(samples[0].tick)
        hour_start = datetime.fromisoformat(f"{hour}:00").replace(tzinfo=UTC)
        data: dict[str, Any] = {
            "sources": firestore.ArrayUnion(sorted({s.source_id for s in samples})),
            "group": group,
            "date": day,
            "hour": hour,
            "expire_at": hour_start + timedelta(hours=1) + self.retention,
            "written": firestore.SERVER_TIMESTAMP,  # the renderer's change mark
            # and each source's own: the others in the document did not change
            "touched": {s.source_id: firestore.SERVER_TIMESTAMP for s in samples},
        }
        for sample in samples:
            _, sample_hour, minute = group_document.hour_of(sample.tick)
            if sample_hour != hour:
                raise ValueError(f"{sample.source_id}: a sample of {sample_hour} among {hour}'s")
            field = "samples" if sample.ok else "failures"
            by_source = data.setdefault(field, {}).setdefault(sample.source_id, {})
            by_source[minute] = sample_fields(sample)
        return group_document.hour_path(group, hour), data

    def write_sample(self, sample: Sample, groups: Mapping[str, str] | None = None) -> None:
        """Store one sample: exactly one document write, no read."""
        group = group_document.group_of(groups or {}, sample.source_id)
        path, data = self.hour_write(group, [sample])
        self.set(path, data, merge=True)

    def write_samples(
        self, samples: list[Sample], groups: Mapping[str, str] | None = None
    ) -> list[Sample]:
        """Store samples: one document write per group and hour they fall in (a tick of
        500 sources: 20 writes), in as few commits as Firestore allows (500 writes a
        commit). `groups` is the config's grouping (`group_document.assign`).

        Returns the samples as they stand, in order: the samples themselves, except one
        that Firestore refused (its document past the 1 MiB limit, say), which is stored
        as a failed sample saying why, so it costs neither the tick nor the others. If
        even that cannot be stored (logged), the failed sample is still returned: the
        tick reports it and alerting counts the failure.
        """
        documents: dict[tuple[str, str], list[Sample]] = {}
        for sample in samples:
            group = group_document.group_of(groups or {}, sample.source_id)
            documents.setdefault((group, group_document.hour_of(sample.tick)[1]), []).append(sample)
        keys = list(documents)
        stored: dict[int, Sample] = {}
        for start in range(0, len(keys), MAX_WRITES_PER_COMMIT):
            chunk = keys[start : start + MAX_WRITES_PER_COMMIT]
            batch = self.client.batch()
            for group, _hour in chunk:
                path, data = self.hour_write(group, documents[(group, _hour)])
                add_merge_write(batch, self.client.document(path), data)  # set, merge=True
            try:
                batch.commit(retry=self.retry, timeout=self.timeout)
            except api_exceptions.InvalidArgument:
                # the commit is all or nothing: find the offending samples one by one
                for key in chunk:
                    for sample in self._write_one_by_one(documents[key], groups):
                        stored[id(sample)] = sample
                continue
            self.counter.add("set", writes=len(chunk))
        by_tick = {(sample.source_id, sample.tick): sample for sample in stored.values()}
        return [by_tick.get((sample.source_id, sample.tick), sample) for sample in samples]

    def _write_one_by_one(
        self, samples: list[Sample], groups: Mapping[str, str] | None
    ) -> list[Sample]:
        stored = []
        for sample in samples:
            try:
                self.write_sample(sample, groups)
            except api_exceptions.InvalidArgument as exc:
                stored.append(self._store_refusal(sample, str(exc.message), groups))
            else:
                stored.append(sample)
        return stored

    def _store_refusal(
        self, sample: Sample, why: str, groups: Mapping[str, str] | None = None
    ) -> Sample:
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
            self.write_sample(refused, groups)
        except api_exceptions.InvalidArgument as exc:  # not even that fits: say so, go on
            logs.error(
                f"{sample.source_id}: the failed sample could not be stored either",
                source=sample.source_id,
                tick=sample.tick.isoformat(),
                detail=redact(str(exc.message))[:500],
            )
        return refused

    # --- reading: a source's days, from both layouts --------------------------------

    def day(self, source_id: str, day: str) -> Day | None:
        """One day of a source (its hour documents and its own day document, if any)."""
        return next(self.days(source_id, since=day, until=day), None)

    def days(
        self,
        source_id: str,
        since: str | None = None,
        until: str | None = None,
        *,
        newest_first: bool = False,
        limit: int | None = None,
        legacy: bool = True,
    ) -> Iterator[Day]:
        """A source's days in date order, each merged from every group-hour document
        holding it (found by `sources` array-contains, whatever group it was in) and its
        own day document (`sources/{id}/days/{date}`: `tally import`, and what tally
        stored before the group layout; left out with `legacy=False`). Two queries; a
        read per document returned."""
        own = (
            self._legacy_days(source_id, since, until, newest_first, limit) if legacy else iter(())
        )
        hours = self._hour_days(source_id, since, until, newest_first)
        merged = heapq.merge(own, hours, key=lambda item: item[0], reverse=newest_first)
        count = 0
        for day, parts in itertools.groupby(merged, key=lambda item: item[0]):
            document: dict[str, Any] | None = None
            hour_parts: list[tuple[dict[str, Any], dict[str, Any]]] = []
            for _, part in parts:
                if isinstance(part, dict):
                    document = part
                else:
                    hour_parts.extend(part)
            samples = merged_samples(document, hour_parts)
            if not samples:
                continue
            yield Day(source_id=source_id, date=day, samples=samples)
            count += 1
            if limit and count >= limit:
                return

    def _legacy_days(
        self,
        source_id: str,
        since: str | None,
        until: str | None,
        newest_first: bool,
        limit: int | None,
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        query: Any = self.client.collection(f"sources/{source_id}/days")
        if since:
            query = query.where(filter=firestore.FieldFilter("date", ">=", since))
        if until:
            query = query.where(filter=firestore.FieldFilter("date", "<=", until))
        direction = firestore.Query.DESCENDING if newest_first else firestore.Query.ASCENDING
        query = query.order_by("date", direction=direction)
        if limit:
            query = query.limit(limit)
        for snapshot in self._stream(query, "query"):
            data = snapshot.to_dict()
            yield data["date"], data

    def _hour_days(
        self, source_id: str, since: str | None, until: str | None, newest_first: bool
    ) -> Iterator[tuple[str, list[tuple[dict[str, Any], dict[str, Any]]]]]:
        """The source's part of each hour document holding it, a day at a time."""
        query: Any = self.client.collection_group("hours").where(
            filter=firestore.FieldFilter("sources", "array_contains", source_id)
        )
        if since:
            query = query.where(filter=firestore.FieldFilter("hour", ">=", f"{since}T00"))
        if until:
            query = query.where(filter=firestore.FieldFilter("hour", "<=", f"{until}T23"))
        direction = firestore.Query.DESCENDING if newest_first else firestore.Query.ASCENDING
        query = query.order_by("hour", direction=direction)
        parts = (
            group_document.fragments(snapshot.to_dict()).get(source_id)
            for snapshot in self._stream(query, "query")
        )
        found = ((part[0], [(part[1], part[2])]) for part in parts if part)
        for day, same_day in itertools.groupby(found, key=lambda item: item[0]):
            yield day, [piece for _, pieces in same_day for piece in pieces]

    def group_days(self, source_ids: list[str], since: str | None = None) -> Iterator[Day]:
        """The days of several sources (at most 30: one group of the config), in date
        order and, within a date, in the order of `source_ids`: each day as `days` merges
        it, but each group-hour document read once for all of them (one query,
        `array-contains-any`; a document of an older grouping that holds sources of two
        groups is read once for each), plus one query per source for its own day
        documents. `tally export --all` reads a group this way."""
        ids = list(source_ids)
        streams: list[Iterator[tuple[str, Any]]] = [
            self._own_days_of(source_id, since) for source_id in ids
        ]
        streams.append(self._group_hour_days(ids, since))
        merged = heapq.merge(*streams, key=lambda item: item[0])
        for day, items in itertools.groupby(merged, key=lambda item: item[0]):
            own: dict[str, dict[str, Any]] = {}
            hour_parts: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
            for _, payload in items:
                if isinstance(payload, tuple):  # (source id, its day document)
                    own[payload[0]] = payload[1]
                else:
                    for source_id, pieces in payload.items():
                        hour_parts.setdefault(source_id, []).extend(pieces)
            for source_id in ids:
                samples = merged_samples(own.get(source_id), hour_parts.get(source_id, []))
                if samples:
                    yield Day(source_id=source_id, date=day, samples=samples)

    def _own_days_of(
        self, source_id: str, since: str | None
    ) -> Iterator[tuple[str, tuple[str, dict[str, Any]]]]:
        for day, data in self._legacy_days(source_id, since, None, False, None):
            yield day, (source_id, data)

    def _group_hour_days(
        self, source_ids: list[str], since: str | None
    ) -> Iterator[tuple[str, dict[str, list[tuple[dict[str, Any], dict[str, Any]]]]]]:
        """What each hour document holding any of the sources has of each, a day at a
        time: day → source id → its (ok, failed) parts, in hour order."""
        query: Any = self.client.collection_group("hours").where(
            filter=firestore.FieldFilter("sources", "array_contains_any", source_ids)
        )
        if since:
            query = query.where(filter=firestore.FieldFilter("hour", ">=", f"{since}T00"))
        query = query.order_by("hour")
        wanted = set(source_ids)

        def parts_of(snapshot: Any) -> tuple[str, dict[str, list[Any]]]:
            data = snapshot.to_dict() or {}
            found = group_document.fragments(data)
            held = {
                source_id: [(part[1], part[2])]
                for source_id, part in found.items()
                if source_id in wanted
            }
            return str(data.get("hour", ""))[:10], held

        documents = (parts_of(snapshot) for snapshot in self._stream(query, "query"))
        for day, same_day in itertools.groupby(documents, key=lambda item: item[0]):
            merged: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
            for _, held in same_day:
                for source_id, pieces in held.items():
                    merged.setdefault(source_id, []).extend(pieces)
            yield day, merged

    def _stream(self, query: Any, kind: str) -> Iterator[Any]:
        """A query's documents, each counted as a read (an empty query as one)."""
        returned = 0
        for snapshot in query.stream(retry=self.retry, timeout=self.timeout):
            returned += 1
            self.counter.add(kind, reads=1)
            yield snapshot
        if returned == 0:
            self.counter.add(kind, reads=1)  # Firestore bills an empty query as one read

    def changed_documents(self, after: datetime, at: datetime) -> dict[str, dict[str, Any]]:
        """Every sample document (group-hour and day documents, of any source) written
        after `after`, as it was at `at`, by path: one query over each collection group,
        one read per document returned (an empty query: one).

        Reading at a fixed time (the renderer's `get_at` of its state) makes the marks
        of consecutive renders meet exactly: what is committed after `at` is found by
        the next render, whatever was being written while this one ran.
        """
        found: dict[str, dict[str, Any]] = {}
        hours = self.client.collection_group("hours").where(
            filter=firestore.FieldFilter("written", ">", after)
        )
        days = self.client.collection_group("days").where(
            filter=firestore.FieldFilter("written", ">", after)
        )
        for query in (hours, days):
            returned = 0
            for snapshot in query.stream(retry=self.retry, timeout=self.timeout, read_time=at):
                returned += 1
                found[snapshot.reference.path] = snapshot.to_dict() or {}
            self.counter.add("changed", reads=max(1, returned))
        return found

    def source_documents(self, source_id: str, since: str) -> dict[str, dict[str, Any]]:
        """Every sample document holding the source's samples of `since` and later, by
        path: its group-hour documents and its own day documents (two queries)."""
        found: dict[str, dict[str, Any]] = {}
        legacy = self.client.collection(f"sources/{source_id}/days").where(
            filter=firestore.FieldFilter("date", ">=", since)
        )
        hours = (
            self.client.collection_group("hours")
            .where(filter=firestore.FieldFilter("sources", "array_contains", source_id))
            .where(filter=firestore.FieldFilter("hour", ">=", f"{since}T00"))
        )
        for query in (legacy, hours):
            for snapshot in self._stream(query, "query"):
                found[snapshot.reference.path] = snapshot.to_dict() or {}
        return found

    def days_in(self, source_id: str, documents: Mapping[str, dict[str, Any] | None]) -> list[Day]:
        """A source's days as these documents (by path; read already) hold them, merged
        as `days` merges them, oldest first."""
        legacy: dict[str, dict[str, Any]] = {}
        hours: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
        own = f"sources/{source_id}/days/"
        for path, data in documents.items():
            if not data:
                continue
            if group_document.is_hour_path(path):
                part = group_document.fragments(data).get(source_id)
                if part:
                    hours.setdefault(part[0], []).append((part[1], part[2]))
            elif path.startswith(own) and "date" in data:
                legacy[data["date"]] = data
        out = []
        for day in sorted(legacy.keys() | hours.keys()):
            samples = merged_samples(legacy.get(day), hours.get(day, []))
            if samples:
                out.append(Day(source_id=source_id, date=day, samples=samples))
        return out

    @staticmethod
    def sources_in(path: str, data: dict[str, Any], after: datetime | None = None) -> list[str]:
        """The sources a sample document holds samples of (written after `after`, when
        given: a group-hour document says when each of its sources was last written)."""
        if group_document.is_hour_path(path):
            touched = data.get("touched") or {}
            return sorted(
                source_id
                for source_id in group_document.fragments(data)
                if after is None or source_id not in touched or touched[source_id] > after
            )
        parts = path.split("/")
        return [parts[1]] if len(parts) == 4 and parts[2] == "days" else []

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
