"""New entries, told exactly once: what a list source read is folded into its seen set,
and each entry not seen before becomes a message in the alerts' outbox (claimed before
it is sent, its delivery recorded, a burst one digest: `delivery.py`).

    sources/{id}/entries/state     one document per source that lists entries
        seen        keys of the entries seen (16 hex characters each), oldest first:
                    the entries of the last list read, and before them the newest of
                    those that left it, SEEN_LIMIT in all
        latest      the newest entries tally saw appear (LATEST of them, newest first):
                    key, title, link, time, seen (the tick): the page, entries.json and
                    the Atom feed show these
        seeded      the tick of the first read
        told        per entry of `latest`: channel → how its message went (delivery.py)

Cost. The alert state already holds, per source, a mark of the keys its list held at
the newest read (`Facts.entries_mark`), and is read and written every tick anyway. A
tick whose list is the same set as before compares the marks and stops: no read and no
write beyond what the tick does without entries. A list that changed costs one read of
the entries document (all such sources in one round trip, in the evaluating
transaction) and, when something is new, one write of it; recording the deliveries adds
one write a source (a merge, no read) to the transaction that records them anyway.

Exactly once. The mark, the seen set and the outbox are read and written in the one
transaction that judges the tick, so a duplicate or concurrent run of the tick finds
the entries seen and nothing to queue; a late (older) tick finds its entries seen too
(and never moves the mark back). The first read of a source seeds the seen set and
tells nothing: a feed's hundred old posts are not news.

Bounded. The seen set keeps SEEN_LIMIT keys, never dropping one of the list just read
(a list holds at most `reading.entries.MAX_ENTRIES` = 500), so an entry that leaves the
list and comes back is not new again while fewer than 500 newer entries have come
after it left. The document stays under 200 KB at worst: 1,000 keys of 16 characters
(17 KB) and 50 entries of a title (≤ 300 characters) and a link (≤ 2,048) each.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from tally.alerts import messages, silences
from tally.alerts.judge import Judgement, Note
from tally.alerts.state import Facts
from tally.config import Config, SourceBase
from tally.sample import Sample

SEEN_LIMIT = 1000
LATEST = 50
KIND = "entry"  # the message kind of a new entry
GROUP = "entries"  # its group in a digest


def entries_path(source_id: str) -> str:
    return f"sources/{source_id}/entries/state"


def key_of(entry: dict[str, Any]) -> str:
    """An entry's identity (`id:…`, `link:…`, `title:…`: reading/entries.py) as kept:
    16 hex characters of its SHA-256."""
    return hashlib.sha256(str(entry["key"]).encode("utf-8")).hexdigest()[:16]


def mark_of(entries: tuple[dict[str, Any], ...] | list[dict[str, Any]]) -> str:
    """A mark of the set of entries a list holds: the same set, the same mark."""
    keys = sorted({key_of(entry) for entry in entries})
    return hashlib.sha256(",".join(keys).encode("ascii")).hexdigest()[:16]


def incident_of(source_id: str, key: str) -> str:
    """The outbox's name for one entry of a source (its messages' ids derive from it)."""
    return f"{source_id}/entry-{key}"


def entry_key_of(incident: str) -> str | None:
    """The entry key of an outbox message's `incident`, None if it is no entry's."""
    name = incident.partition("/")[2]
    return name[len("entry-") :] if name.startswith("entry-") else None


def kept(entry: dict[str, Any], key: str, tick: int) -> dict[str, Any]:
    return {
        "key": key,
        "title": entry.get("title") or "",
        "link": entry.get("link"),
        "time": entry.get("time"),
        "seen": tick,
    }


def fold(
    document: dict[str, Any] | None, entries: list[dict[str, Any]], tick: int
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """(the new entries, oldest first; the document to write, or None when nothing
    changed). A first read (no document) seeds it and returns no new entry."""
    listed: dict[str, dict[str, Any]] = {}
    for entry in entries:
        listed.setdefault(key_of(entry), entry)
    if document is None or "seen" not in document:  # (deliveries recorded, never read)
        latest = [kept(entry, key, tick) for key, entry in list(listed.items())[:LATEST]]
        seen = list(reversed(listed))[-SEEN_LIMIT:]
        told = (document or {}).get("told") or {}
        return [], {"seen": seen, "latest": latest, "seeded": tick, "told": told}
    seen_before = set(document.get("seen", []))
    new_keys = [key for key in reversed(listed) if key not in seen_before]  # oldest first
    if not new_keys:
        return [], None
    current = set(listed)
    seen = [key for key in document.get("seen", []) if key not in current]
    seen += [key for key in reversed(listed)]  # the list's own keys last: never dropped
    latest = [kept(listed[key], key, tick) for key in reversed(new_keys)]
    latest = _newest_first(latest + list(document.get("latest", [])))[:LATEST]
    told = document.get("told") or {}
    on_page = {item["key"] for item in latest}
    new = [{**listed[key], "_key": key} for key in new_keys]
    written = {
        "seen": seen[-SEEN_LIMIT:],
        "latest": latest,
        "seeded": document.get("seeded", tick),
        "told": {key: value for key, value in told.items() if key in on_page},
    }
    return new, written


def _newest_first(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """By the tick tally saw them (stable: a list's own order within a tick)."""
    unique: dict[str, dict[str, Any]] = {}
    for item in items:
        unique.setdefault(item["key"], item)
    return sorted(unique.values(), key=lambda item: -int(item.get("seen", 0)))


@dataclass
class Changed:
    """A source whose list is not the one the state's mark remembers."""

    source: SourceBase
    sample: Sample
    mark: str


@dataclass
class EntryRun:
    """What the entries did at one tick (for `tally collect`, the tests, the benchmark)."""

    read: list[str] = field(default_factory=list)  # sources whose document was read
    written: list[str] = field(default_factory=list)
    new: dict[str, int] = field(default_factory=dict)  # source → new entries told
    seeded: list[str] = field(default_factory=list)


def changed_lists(
    config: Config, facts_of: dict[str, Facts], samples: list[Sample]
) -> list[Changed]:
    """The sources whose list, read at this tick, is not the set the mark remembers."""
    known = {source.id: source for source in config.sources}
    changed = []
    for sample in samples:
        source = known.get(sample.source_id)
        if source is None or not sample.ok or sample.entries is None:
            continue
        mark = mark_of(sample.entries)
        facts = facts_of.get(source.id)
        if facts is not None and facts.entries_mark == mark:
            continue
        changed.append(Changed(source, sample, mark))
    return changed


def apply(
    work: Judgement,
    changed: list[Changed],
    documents: list[dict[str, Any] | None],
    txn: Any,
) -> EntryRun:
    """Fold each changed list into its document, queue a note per new entry and channel
    (none while the source is silenced: the entries are seen all the same), write the
    documents that changed and move the marks."""
    run = EntryRun(read=[item.source.id for item in changed])
    for item, document in zip(changed, documents, strict=True):
        source, tick = item.source, int(item.sample.tick.timestamp())
        facts = work.state.sources[source.id].facts
        new, written = fold(document, list(item.sample.entries or ()), tick)
        if written is not None:
            txn.set(entries_path(source.id), written)
            run.written.append(source.id)
            facts.entries_seq += 1
        if document is None or "seen" not in document:
            run.seeded.append(source.id)
        if facts.entries_tick is None or tick >= facts.entries_tick:
            facts.entries_mark, facts.entries_tick = item.mark, tick
        if not new:
            continue
        run.new[source.id] = len(new)
        channels = source.announced_to(work.config.notify)
        if not channels or work.quiet.of(source, source.id) is not None:
            continue
        for entry in new:
            text = partial(messages.new_entry, work.config, source, entry, tick)
            incident = incident_of(source.id, entry["_key"])
            work.notes += [
                Note(channel, source.id, incident, entry.get("title") or "", KIND, GROUP, text)
                for channel in channels
            ]
    return run


# --- the command line: `tally entries` ------------------------------------------------


def latest(store: Any, source_id: str) -> list[dict[str, Any]] | None:
    """The latest entries tally saw (one read); None before the first read."""
    document = store.get(entries_path(source_id))
    return None if document is None else list(document.get("latest", []))


def tell_again(store: Any, source_id: str, count: int) -> list[dict[str, Any]]:
    """Forget the `count` newest entries of a source, so that the next tick that reads
    its list finds them new and tells them (through the outbox, exactly once, as any new
    entry): how to see a source's messages arrive without waiting for a new entry. One
    transaction: the entries document and the source's mark in the alert state."""

    def work(state: Any, txn: Any) -> list[dict[str, Any]]:
        document = txn.get(entries_path(source_id))
        if document is None:
            return []
        forgotten = list(document.get("latest", []))[:count]
        keys = {item["key"] for item in forgotten}
        document["seen"] = [key for key in document.get("seen", []) if key not in keys]
        document["latest"] = [item for item in document["latest"] if item["key"] not in keys]
        txn.set(entries_path(source_id), document)
        record = state.sources.get(source_id)
        if record is not None:
            record.facts.entries_mark = None  # the next read compares with the document
        return forgotten

    return silences.change(store, work, source_id)
