"""History import: rows of `time,value[,ok]` into the store, at one write per day document.

Firestore bills per document write, so a row is never a write: the rows are grouped by
(source, UTC day) and each day document gets one merge write carrying all of its new
sample keys, built by the same `Store.day_write` as a collected sample (same
`samples.{HHMM}` / `failures.{HHMM}` entries, `expire_at`, `last_tick`, `written`). A
million per-minute rows are ~700 day documents: ~700 writes, and ~700 reads, because
each day document is read first so that rows already stored identically are skipped:
importing the same file twice writes nothing the second time. Unlike a redelivered
tick, a row says what its minute was: a failed row replaces a stored ok sample (its
`samples.{HHMM}` is deleted in the same write).

Rows may come in any order; a time is floored to its minute (the tick, as collected
samples are). Two rows on the same minute are one sample: an identical repeat is
skipped, a conflicting one is rejected with both line numbers. Rows are held in
compact arrays (~21 bytes each), so a million rows need ~20 MB, not a gigabyte of
Python objects.
"""

from __future__ import annotations

import csv
import io
import math
import sys
from array import array
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from tally.events import parse_time
from tally.sample import Sample
from tally.store import Store, effective_samples, key_of, sample_fields

TRUE = {"true", "1", "yes", "y", "ok", "t", "up"}
FALSE = {"false", "0", "no", "n", "failed", "fail", "f", "down"}
IMPORTED_FAILURE = "failed (imported)"
MAX_EPOCH_SECONDS = 1e11  # past this an epoch is milliseconds (year 5138 in seconds)
WRITERS = 4  # day documents in flight: encoding is CPU-bound, the round trip is not


class RowError(ValueError):
    """One row that cannot be imported; the message says what is wrong with it."""


@dataclass
class Problem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class Result:
    """What an import did. `rows` counts data rows (the header and blank lines excluded)."""

    rows: int = 0
    imported: int = 0
    replaced: int = 0  # of `imported`: a stored sample with a different value was overwritten
    skipped: int = 0  # already stored identically, or an identical repeat in the file
    rejected: int = 0
    days: int = 0  # day documents the rows fall on
    days_written: int = 0
    expired_rows: int = 0  # older than the retention: stored, and removed by the TTL policy
    problems: list[Problem] = field(default_factory=list)

    def summary(self) -> str:
        text = (
            f"{self.imported} imported, {self.skipped} skipped, {self.rejected} rejected"
            f" ({self.rows} rows; {self.days_written} of {self.days} day documents written)"
        )
        if self.replaced:
            text += f"; {self.replaced} replaced a different stored value"
        return text


# --- parsing -------------------------------------------------------------------------


def parse_when(text: str) -> datetime:
    """ISO-8601 (naive is UTC) or epoch seconds, as a UTC datetime."""
    text = text.strip()
    if not text:
        raise RowError("time is empty")
    try:
        number = float(text)
    except ValueError:
        number = None
    if number is not None:
        if not math.isfinite(number):
            raise RowError(f"time {text!r} is not a time")
        if abs(number) >= MAX_EPOCH_SECONDS:
            raise RowError(f"epoch time {text} looks like milliseconds; give seconds")
        return datetime.fromtimestamp(number, tz=UTC)
    try:
        return parse_time(text)
    except ValueError:
        raise RowError(
            f"time {text[:40]!r} is neither ISO-8601 (2026-11-22T09:30:00Z) nor epoch seconds"
        ) from None


def parse_value(text: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise RowError(f"value {text[:40]!r} is not a number") from None
    if not math.isfinite(value):
        raise RowError(f"value {text!r} is not a finite number")
    return value


def parse_ok(text: str | None) -> bool:
    if text is None or not text.strip():
        return True
    word = text.strip().lower()
    if word in TRUE:
        return True
    if word in FALSE:
        return False
    raise RowError(f"ok {text[:20]!r} is not true/false (or 1/0, yes/no)")


@dataclass
class Columns:
    """Where time, value and ok are: by header name when there is one, else 0, 1, 2."""

    time: int = 0
    value: int = 1
    ok: int | None = 2
    has_header: bool = False

    @classmethod
    def from_first_row(cls, row: list[str]) -> Columns:
        names = [cell.strip().lower() for cell in row]
        if "time" not in names:
            return cls()
        if "value" not in names:
            raise RowError("the header has 'time' but no 'value' column")
        return cls(
            time=names.index("time"),
            value=names.index("value"),
            ok=names.index("ok") if "ok" in names else None,
            has_header=True,
        )


def read_rows(lines: Iterable[str]) -> Iterator[tuple[int, list[str] | RowError]]:
    """(line number, cells) per non-blank row; a CSV syntax error becomes that row's error."""
    reader = csv.reader(lines, strict=True)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield reader.line_num, RowError(f"not valid CSV: {exc}")
            continue
        if row and any(cell.strip() for cell in row):
            yield reader.line_num, row


# --- the in-memory table -------------------------------------------------------------


class Rows:
    """Parsed rows as parallel arrays: minute since the epoch, value, ok flag, line."""

    def __init__(self) -> None:
        self.minute = array("q")
        self.value = array("d")  # NaN stands for "no value"
        self.ok = array("b")
        self.line = array("l")

    def __len__(self) -> int:
        return len(self.minute)

    def add(self, line: int, when: datetime, value: float | None, ok: bool) -> None:
        self.minute.append(int(when.timestamp() // 60))
        self.value.append(math.nan if value is None else value)
        self.ok.append(1 if ok else 0)
        self.line.append(line)

    def sorted_indices(self) -> list[int]:
        minute, line = self.minute, self.line
        return sorted(range(len(minute)), key=lambda i: (minute[i], line[i]))


def parse_csv(lines: Iterable[str], result: Result, progress: Callable[[int], None]) -> Rows:
    """Every valid row into a Rows table; every invalid one into result.problems."""
    rows = Rows()
    columns: Columns | None = None
    for line, cells in read_rows(lines):
        progress(line)
        try:
            if isinstance(cells, RowError):
                raise cells
            if columns is None:
                columns = Columns.from_first_row(cells)
                if columns.has_header:
                    continue
            result.rows += 1
            if not columns.has_header and not 2 <= len(cells) <= 3:
                raise RowError(f"expected time,value[,ok] but found {len(cells)} fields")
            if len(cells) <= max(columns.time, columns.value):
                raise RowError(f"has {len(cells)} fields; the header names more")
            when = parse_when(cells[columns.time])
            value = parse_value(cells[columns.value])
            ok_text = (
                cells[columns.ok] if columns.ok is not None and columns.ok < len(cells) else None
            )
            ok = parse_ok(ok_text)
            if value is None and ok:
                raise RowError("value is empty (a failed sample is marked with ok=false)")
            rows.add(line, when, value, ok)
        except RowError as exc:
            if isinstance(cells, RowError):
                result.rows += 1
            result.rejected += 1
            result.problems.append(Problem(line, str(exc)))
    return rows


# --- writing ---------------------------------------------------------------------------


def stored_fields(kind: str, value: float | None, ok: bool) -> dict[str, Any]:
    """A row as the collector would have stored it, through the same `sample_fields`."""
    is_check = kind == "http"
    sample = Sample(
        source_id="",
        tick=datetime.fromtimestamp(0, tz=UTC),
        ok=ok,
        value=value,
        error=None if ok else IMPORTED_FAILURE,
        latency_ms=value if is_check else None,
        up=(1 if ok else 0) if is_check else None,
    )
    return sample_fields(sample)


def _same(stored: Any, wanted: dict[str, Any]) -> bool:
    """The row says what is stored: same ok and value (to the 15 digits `tally export`
    writes). A collected sample's richer fields (its error, its HTTP status) are kept."""
    if not isinstance(stored, dict) or bool(stored.get("ok")) != wanted["ok"]:
        return False
    have, want = stored.get("value"), wanted["value"]
    if have is None or want is None:
        return have is None and want is None
    return math.isclose(have, want, rel_tol=1e-13, abs_tol=0.0)


@dataclass
class DayBatch:
    day: str
    samples: dict[str, dict[str, Any]]


class Importer:
    """Imports rows of one source into a Store."""

    def __init__(self, store: Store, source_id: str, kind: str, *, writers: int = WRITERS):
        self.store = store
        self.source_id = source_id
        self.kind = kind
        self.writers = writers

    def import_lines(
        self, lines: Iterable[str], *, total_bytes: int | None = None, show_progress: bool = False
    ) -> Result:
        result = Result()
        bar = _progress_bar(total_bytes, "reading", "B", show_progress)
        last = [0]

        def advance(_line: int) -> None:
            if bar is not None and hasattr(lines, "tell_bytes"):
                position = lines.tell_bytes()  # type: ignore[attr-defined]
                bar.update(position - last[0])
                last[0] = position

        rows = parse_csv(lines, result, advance)
        if bar is not None:
            bar.close()
        self.write_rows(rows, result, show_progress=show_progress)
        result.problems.sort(key=lambda problem: problem.line)
        return result

    def write_rows(self, rows: Rows, result: Result, *, show_progress: bool = False) -> None:
        days = list(self._days(rows, result))
        result.days = len(days)
        cutoff = datetime.now(UTC) - self.store.retention
        bar = _progress_bar(len(days), "writing", " days", show_progress)
        # Nothing to tell the renderer: every day write carries its commit time
        # (`written`), so the next render finds these days, past ones included, and
        # folds them again, even if this import fails half-way.
        with ThreadPoolExecutor(max_workers=self.writers, thread_name_prefix="import") as pool:
            for imported, replaced, skipped, wrote in pool.map(self._write_day, days):
                result.imported += imported
                result.replaced += replaced
                result.skipped += skipped
                result.days_written += int(wrote)
                if bar is not None:
                    bar.update(1)
        if bar is not None:
            bar.close()
        for batch in days:
            if _day_start(batch.day) + timedelta(days=1) < cutoff:
                result.expired_rows += len(batch.samples)

    def _days(self, rows: Rows, result: Result) -> Iterator[DayBatch]:
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
            wanted = stored_fields(self.kind, value, ok)
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

    def _write_day(self, batch: DayBatch) -> tuple[int, int, int, bool]:
        """(imported, replaced, skipped, written) for one day: one read, at most one write."""

        path = self.store.day_path(self.source_id, batch.day)
        document = self.store.get(path)
        existing = effective_samples(document or {})
        new: dict[str, dict[str, Any]] = {}
        replaced = 0
        for key, wanted in batch.samples.items():
            stored = existing.get(key)
            if _same(stored, wanted):
                continue
            new[key] = wanted
            replaced += stored is not None
        skipped = len(batch.samples) - len(new)
        if not new:
            return 0, 0, skipped, False
        if document is None:
            path, data = self.store.day_write(self.source_id, batch.day, new)
            if self._create(path, data):
                return len(new), replaced, skipped, True
        # a row says what its minute was: a failed row replaces a stored ok sample too
        path, data = self.store.day_write(self.source_id, batch.day, new, replace=True)
        self.store.set(path, data, merge=True)
        return len(new), replaced, skipped, True

    def _create(self, path: str, data: dict[str, Any]) -> bool:
        """Write a day document that did not exist: a create, not a merge, because a
        merge sends one field-mask path per sample field (~10,000 for a full day), which
        costs both the client and the emulator several times more. Still one write.
        False when the document appeared meanwhile (a live tick): then merge as usual."""
        from google.api_core.exceptions import AlreadyExists, Conflict

        try:
            self.store.client.document(path).create(
                data, retry=self.store.retry, timeout=self.store.timeout
            )
        except (AlreadyExists, Conflict):
            return False
        self.store.counter.add("set", writes=1)
        return True


def _day_start(day: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), time(), tzinfo=UTC)


def _progress_bar(total: int | None, what: str, unit: str, show: bool) -> Any:
    if not show:
        return None
    from tqdm import tqdm

    return tqdm(
        total=total,
        desc=what,
        unit=unit,
        unit_scale=unit == "B",
        file=sys.stderr,
        leave=False,
        dynamic_ncols=True,
    )


class CountingLines:
    """Text lines of a binary file, remembering how many bytes were consumed (progress)."""

    def __init__(self, raw: io.BufferedReader):
        self._raw = raw
        self._bytes = 0

    def __iter__(self) -> CountingLines:
        return self

    def __next__(self) -> str:
        line = self._raw.readline()
        if not line:
            raise StopIteration
        self._bytes += len(line)
        return line.decode("utf-8-sig" if self._bytes == len(line) else "utf-8", "replace")

    def tell_bytes(self) -> int:
        return self._bytes


def rows_from_samples(samples: Iterable[tuple[datetime, float | None, bool]]) -> Rows:
    """A Rows table from (time, value, ok) triples: the demo history's way in."""
    rows = Rows()
    for number, (when, value, ok) in enumerate(samples, start=1):
        rows.add(number, when, value, ok)
    return rows
