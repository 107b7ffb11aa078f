"""The render's own state: one overview document, plus one document per group of sources.

    render/state                       the overview: per source what its card needs,
                                       when it was last drawn and which group's render
                                       document holds its aggregates (`rgroup`); the
                                       md5 of the site-wide objects; the change mark;
                                       where a run cut short by its budget stopped
    groups/{group}/render/aggregates   per group (group_state.py): its sources'
                                       aggregates and the md5 of each object drawn
                                       from them

The overview is what every render needs of every source, so it is one read: a source
with nothing new costs no read at all. It holds no object list: a source's objects
are in its group's render document, which is read only when one of the group's
sources is drawn, and dropped with its objects when the source leaves the config.

The change mark is the server time the overview was read at. Every sample write carries
its commit time (`written`), so the next render asks Firestore once for the group-hour
documents and once for the day documents written after the mark
(Store.changed_documents) and finds exactly the sources with new samples, whenever and
by whom they were written: a retried collect, a late tick, or `tally import` of past
days, even one that failed half-way. A source's entry lists the documents that hold its
live days (`live`, the days after its last folded one), so a render reads each of
them by path, once however many of the group's sources it draws.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from tally.render.history import load_blob_at, save_blob
from tally.store import Day, Store

OVERVIEW_PATH = "render/state"
# The emulator keeps server timestamps to the millisecond and read times to the
# microsecond: a millisecond of overlap between consecutive marks loses nothing.
MARK_OVERLAP = timedelta(milliseconds=1)


@dataclass
class Overview:
    objects: dict[str, str] = field(default_factory=dict)  # site-wide objects: name -> md5
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> its entry
    mark: str | None = None  # ISO time: day documents written after it are new
    cursor: str | None = None  # the source the next run starts with
    # a fanned-out run still drawing (fanned.py): its tick, the time it draws as, and
    # its shards' sources; set by the run that fans out, cleared by the one completing
    fanout: dict[str, Any] | None = None
    read_at: datetime | None = None  # when this was read: the next mark (not stored)

    @classmethod
    def load(cls, store: Store) -> Overview:
        data, read_at = load_blob_at(store, OVERVIEW_PATH)
        overview = cls(**data) if data else cls()
        overview.read_at = read_at
        return overview

    def save(self, store: Store) -> None:
        data = {key: value for key, value in self.__dict__.items() if key != "read_at"}
        save_blob(store, OVERVIEW_PATH, data)

    def changed(self, store: Store) -> Changes | None:
        """The sample documents written since the last render; None on a first render
        (no mark: every source is read as new)."""
        if self.mark is None or self.read_at is None:
            return None
        after = datetime.fromisoformat(self.mark) - MARK_OVERLAP
        return Changes(store, store.changed_documents(after, self.read_at), after)

    def advance(self) -> None:
        """The next render looks for what was written after this one read the overview."""
        if self.read_at is not None:
            self.mark = self.read_at.isoformat()


@dataclass
class Changes:
    """The sample documents (group-hour and day documents) written since the last
    render, by path, and what each source has in them."""

    store: Store
    documents: dict[str, dict[str, Any]]
    after: datetime  # the mark: what was written after it is new
    # source id -> its documents written after the mark (a group-hour document that
    # changed for one of its sources is not news for the others)
    paths: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for path, data in self.documents.items():
            for source_id in self.store.sources_in(path, data, self.after):
                self.paths.setdefault(source_id, []).append(path)

    def days(self, source_id: str) -> list[Day]:
        """The source's days as the changed documents hold them (part of a day only)."""
        paths = self.paths.get(source_id, [])
        return self.store.days_in(source_id, {path: self.documents[path] for path in paths})


def date_of(path: str) -> str:
    """The UTC date of a sample document, from its id ('…/hours/2026-11-22T09',
    '…/days/2026-11-22')."""
    return path.rsplit("/", 1)[-1][:10]


def note_changes(entry: dict[str, Any], days: list[Day], paths: Sequence[str] = ()) -> None:
    """Record in a source's overview entry that these documents changed: it has new
    samples (`pending` until it is drawn), the documents its live days are in (`live`,
    once a render has listed them), and days it had already folded must be folded
    again (`refold_from`, only ever moved earlier until a render does it)."""
    if not days:
        return
    entry["pending"] = True
    if "live" in entry:
        through = entry.get("through") or ""
        entry["live"] = sorted(
            set(entry["live"]) | {path for path in paths if date_of(path) > through}
        )
    through = entry.get("through")
    past = [day.date for day in days if through and day.date <= through]
    if past:
        earliest = min(past)
        if entry.get("refold_from") is None or earliest < entry["refold_from"]:
            entry["refold_from"] = earliest


def refold_day(entry: dict[str, Any]) -> date | None:
    value = entry.get("refold_from")
    return date.fromisoformat(value) if value else None
