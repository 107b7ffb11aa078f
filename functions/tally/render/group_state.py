"""The render documents of a group: the aggregates of every source of one group, together.

    groups/{group}/render/aggregates     the group's sources' aggregates (history.py),
                                         one zlib-compressed JSON blob:
        v, parts, gen, blob              {source id: its aggregates}, and how many
                                         documents the blob takes
    groups/{group}/render/aggregates-{n} the rest of the blob (n = 1, 2, …), only when it
                                         is longer than blob_parts.PART_BYTES

The grouping is the samples' (group_document.assign: the config's sorted ids in chunks
of 25), so a render that draws the whole cards of a group's sources reads one document
for all of them, and the render that closes a day writes one per group, not one per
source.

No document can pass Firestore's 1 MiB: a blob longer than blob_parts.PART_BYTES is cut into
parts, each its own document, written first, the first part last (it says how many
there are and names the blob by its hash, so a blob written half-way is never read as
whole). A group of 25 sources at 5-minute schedules with a year of history is about
120 kB (one document); the worst a group can hold (every sample of two days at 1-minute
schedules failed with a distinct 300-character reason, years of daily rows, 63-character
ids) takes a few parts: tests/render/test_group_state.py builds it.

A source's overview entry names the group its aggregates are in (`rgroup`): a source
that changed group (ids added or removed before it) is moved at its next drawing, and a
source drawn before this layout (an entry with no `rgroup`) has its own render
document (`sources/{id}/render/aggregates`) read once, moved into its group's, and
deleted once the group's is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tally import blob_parts, group_document, logs
from tally.render.history import AGG_VERSION, Aggregates, agg_path, load_blob
from tally.store import Store

NAME = "aggregates"


def group_path(group: str, part: int = 0) -> str:
    """The path of a group's render document (`part` > 0: the rest of its blob)."""
    return f"{group_document.GROUPS}/{group}/render/{NAME}" + (f"-{part}" if part else "")


def encode(sources: Mapping[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The documents that store these sources' aggregates, the first one first."""
    gen, chunks = blob_parts.cut(dict(sources))
    first = {"v": AGG_VERSION, "parts": len(chunks), "gen": gen, "blob": chunks[0]}
    return [first] + [{"v": AGG_VERSION, "gen": gen, "blob": chunk} for chunk in chunks[1:]]


def read_group(store: Store, group: str) -> dict[str, dict[str, Any]]:
    """A group's stored aggregates by source id: one read, one per further part."""
    first = store.get(group_path(group))
    if not first or first.get("v") != AGG_VERSION or "blob" not in first:
        return {}
    parts = int(first.get("parts", 1))
    rest = store.get_many([group_path(group, n) for n in range(1, parts)]) if parts > 1 else []
    sources = blob_parts.joined(str(first.get("gen")), [first, *rest])
    if sources is None:
        logs.error(
            f"render: the render document of group {group!r} is incomplete (a part is "
            "missing or of another write); its sources are folded again",
            group=group,
        )
        return {}
    return dict(sources)


def write_group(store: Store, group: str, sources: Mapping[str, dict[str, Any]]) -> int:
    """Write a group's aggregates (the first document last); how many documents."""
    documents = encode(sources)
    for n, data in reversed(list(enumerate(documents))):
        store.set(group_path(group, n), {**data, "updated": datetime.now(UTC)})
    return len(documents)


@dataclass
class RenderGroups:
    """The render documents one run reads and writes: each group's read at most once,
    written once at the end (`flush`), only when one of its sources changed."""

    store: Store
    groups: Mapping[str, str]  # source id -> its group (group_document.assign)
    loaded: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    dirty: set[str] = field(default_factory=set)
    legacy: set[str] = field(default_factory=set)  # own render documents to delete

    def group(self, source_id: str) -> str:
        return group_document.group_of(self.groups, source_id)

    def _group(self, group: str) -> dict[str, dict[str, Any]]:
        if group not in self.loaded:
            self.loaded[group] = read_group(self.store, group)
        return self.loaded[group]

    def get(self, source_id: str, entry: Mapping[str, Any]) -> Aggregates:
        """A source's aggregates, wherever its overview entry says they are: its
        group's render document (read once a run for the whole group), or, for a
        source drawn before this layout, its own render document (read once)."""
        where = entry.get("rgroup") or self.groups.get(source_id)
        data = self._group(where).get(source_id) if where else None
        if data is None and "rgroup" not in entry and "cfg" in entry:
            data = load_blob(self.store, agg_path(source_id))
        return Aggregates.from_data(data)

    def put(self, source_id: str, agg: Aggregates, entry: dict[str, Any]) -> None:
        """Keep a source's aggregates in its group's document (moved there from where
        the entry says they were); written by `flush`."""
        group = self.group(source_id)
        self.drop(source_id, entry)
        self._group(group)[source_id] = agg.as_data()
        self.dirty.add(group)
        entry["rgroup"] = group

    def drop(self, source_id: str, entry: dict[str, Any]) -> None:
        """Forget a source's aggregates where its entry says they are (a source drawn
        before this layout: its own render document, deleted by `flush`)."""
        where = entry.get("rgroup")
        if where and source_id in self._group(where):
            del self.loaded[where][source_id]
            self.dirty.add(where)
        if "rgroup" not in entry and "cfg" in entry:
            self.legacy.add(source_id)
        entry.pop("rgroup", None)

    def flush(self) -> None:
        """Write every group that changed, then delete the own render documents whose
        content now lives in a group's (after: a run that fails between leaves them to
        be read again)."""
        for group in sorted(self.dirty):
            write_group(self.store, group, self.loaded[group])
        self.dirty.clear()
        for source_id in sorted(self.legacy):
            self.store.delete(agg_path(source_id))
        self.legacy.clear()
