"""The alert state in Firestore: shard documents, all read and written in the one
transaction of a tick, none ever past Firestore's 1 MiB limit.

    alerts/state        shard 0: its share of the sources and the head (the outbox, the
                        last incidents, undeliverable messages, silences, the shard count)
    alerts/state-1 …    shards 1 … N-1: their share of the sources

A source lives in shard crc32(id) mod N, with N = ⌈sources / 1,000⌉: up to 1,000
sources the whole state is one document, so alerting costs 1 read a tick and 1 write
when something changed; beyond, 2N reads and up to N writes (one per shard that
changed; the state is read once to judge and once more in the short transaction that
commits: transactions.transact_rehearsed). Each document is a zlib-compressed JSON
blob (and the tick it was evaluated at, outside the blob, so a tick that moved only the
clock writes nothing).

The size guard. Every field the state keeps is bounded (state.py), but a storm can
still fill a shard: 1,000 sources failing with distinct 300-character reasons, each
with open incidents. Before writing, each shard's compressed size is measured; past
DOCUMENT_BUDGET (or all shards together past TOTAL_BUDGET: a commit carries them all,
and the Firestore emulator takes 4 MiB a request where Firestore takes 10 MiB), the
least important data goes first, in levels (`trim`): the
list of recent incidents and undeliverable messages, then the texts kept in the state
(reasons, summaries: their incident documents keep them whole) and the change series'
resolution, then the texts altogether, and last the incident documents still owed.
What is left is what deciding needs: ticks, values, streaks and open incidents. If a
document still does not fit, the shards are split in two until it does; the whole
fits by the bound on sources (config: 10,000, tests/alerts/test_storm.py).
"""

from __future__ import annotations

import json
import math
import zlib
from dataclasses import dataclass, field
from typing import Any

from tally import logs
from tally.alerts.state import (
    AlertState,
    Head,
    clip,
    from_first_version,
    head_from,
    pack,
    record_from,
)

STATE_PATH = "alerts/state"
VERSION = 2
SOURCES_PER_SHARD = 1000
DOCUMENT_BUDGET = 900_000  # bytes of one shard's blob (a document holds 1,048,576)
# of all shards' blobs: with the incident documents of the same commit (documents.py) they
# stay under the 4 MiB a request the emulator (the strictest) takes
TOTAL_BUDGET = 3_300_000
MAX_SHARDS = 256
TRIM_LEVELS = 4
# A shard with more sources than twice this is first sized from this many of its records:
# encoding and compressing a worst-case state of 10,000 sources takes tens of seconds a
# pass, inside the tick's transaction (which Firestore closes after 60 s idle).
ESTIMATE_SAMPLE = 50
ESTIMATE_MARGIN = 1.25  # a level is skipped on an estimate only when this far over


def shard_path(index: int) -> str:
    return STATE_PATH if index == 0 else f"{STATE_PATH}-{index}"


def shards_for(sources: int) -> int:
    return max(1, math.ceil(sources / SOURCES_PER_SHARD))


def shard_of(source_id: str, shards: int) -> int:
    return zlib.crc32(source_id.encode("utf-8")) % shards


@dataclass
class Stored:
    """What a tick read: the state, and each shard's text as stored (an unchanged shard
    is not written again)."""

    state: AlertState
    texts: dict[int, str | None] = field(default_factory=dict)  # None: must be written
    existing: int = 0  # shard documents that exist (those beyond the new count go)
    partial: bool = False  # only the shards in `texts` were read (and may be written)


@dataclass
class Written:
    """What a write did, for the tests and the benchmark."""

    shards: int
    sizes: dict[int, int]  # bytes of each shard's blob, written or not
    level: int  # the guard's trim level (0: nothing trimmed)
    paths: list[str]  # documents written


def _decode(document: dict[str, Any] | None) -> tuple[dict[str, Any] | None, str | None]:
    if not document or document.get("v") != VERSION or "blob" not in document:
        return None, None
    text = zlib.decompress(document["blob"]).decode("utf-8")
    return {**json.loads(text), "evaluated": document.get("evaluated")}, text


def read(get_many: Any, wanted: int) -> Stored:
    """The whole state, in as few round trips as the shard count allows: the `wanted`
    shards at once, and any more the head says exist (after the sources shrank)."""
    documents = get_many([shard_path(index) for index in range(wanted)])
    first = documents[0]
    if first and first.get("v") == 1 and "blob" in first:
        raw = json.loads(zlib.decompress(first["blob"]))
        return Stored(from_first_version(raw), {0: None}, existing=1)
    head_raw, _ = _decode(first)
    stored_count = (head_raw or {}).get("head", {}).get("shards", 1)
    if stored_count > wanted:
        documents += get_many([shard_path(index) for index in range(wanted, stored_count)])
    state = AlertState(head=head_from((head_raw or {}).get("head", {})))
    stored = Stored(state)
    for index, document in enumerate(documents):
        raw, text = _decode(document)
        if document is not None:
            stored.existing = index + 1
        stored.texts[index] = text
        _merge(state, raw)
    return stored


def read_head(get_many: Any) -> Stored:
    """The first shard only (the head and its own sources): what recording a delivery or
    a silence needs, 1 read whatever the number of sources. `read_more` adds shards."""
    [document] = get_many([STATE_PATH])
    if document and document.get("v") == 1 and "blob" in document:
        raw = json.loads(zlib.decompress(document["blob"]))
        return Stored(from_first_version(raw), {0: None}, existing=1, partial=True)
    raw, text = _decode(document)
    state = AlertState(head=head_from((raw or {}).get("head", {})))
    stored = Stored(state, {0: text}, existing=1 if document else 0, partial=True)
    _merge(state, raw)
    return stored


def read_more(get_many: Any, stored: Stored, indices: list[int]) -> None:
    """Add these shards to a partial read (before anything is written)."""
    wanted = [index for index in indices if index not in stored.texts]
    for index, document in zip(wanted, get_many([shard_path(i) for i in wanted]), strict=True):
        raw, text = _decode(document)
        stored.texts[index] = text
        _merge(stored.state, raw)


def _merge(state: AlertState, raw: dict[str, Any] | None) -> None:
    if raw is None:
        return
    if raw.get("evaluated") is not None:
        state.evaluated = max(state.evaluated or raw["evaluated"], raw["evaluated"])
    for source_id, data in raw.get("sources", {}).items():
        state.sources[source_id] = record_from(data)


def load(store: Any, sources: int = 0) -> AlertState:
    """The state outside a transaction (the page, `tally alerts`), counted as reads."""
    return read(store.get_many, shards_for(sources)).state


# --- writing ------------------------------------------------------------------------------


def encode(state: AlertState, shards: int) -> dict[int, str]:
    """Each shard's JSON text: its sources, and the head in shard 0."""
    parts: list[dict[str, Any]] = [{"sources": {}} for _ in range(shards)]
    for source_id, record in state.sources.items():
        parts[shard_of(source_id, shards)]["sources"][source_id] = pack(record)
    state.head.shards = shards
    parts[0]["head"] = pack(state.head)
    return {
        index: json.dumps(part, separators=(",", ":"), ensure_ascii=False)
        for index, part in enumerate(parts)
    }


def write(txn: Any, stored: Stored, state: AlertState, wanted: int | None = None) -> Written:
    """Write every shard whose text changed, within the budgets; delete shards beyond
    the count. Trims (and, failing that, splits) until everything fits. After a partial
    read, only the shards read are written, in the layout they were read in."""
    shards = state.head.shards if stored.partial or wanted is None else wanted
    level = 0
    while True:
        if level < TRIM_LEVELS and _clearly_over(state, shards, stored):
            level += 1
            trim(state, level)
            continue
        texts = encode(state, shards)
        if stored.partial:
            texts = {index: text for index, text in texts.items() if index in stored.texts}
        blobs = {index: zlib.compress(text.encode("utf-8"), 6) for index, text in texts.items()}
        sizes = {index: len(blob) for index, blob in blobs.items()}
        if max(sizes.values()) <= DOCUMENT_BUDGET and sum(sizes.values()) <= TOTAL_BUDGET:
            break
        if level < TRIM_LEVELS:
            # far over: skip a level (each trim measured costs an encoding of everything)
            over = max(sum(sizes.values()) / TOTAL_BUDGET, max(sizes.values()) / DOCUMENT_BUDGET)
            for _ in range(2 if over > 3 and level + 2 <= TRIM_LEVELS else 1):
                level += 1
                trim(state, level)
            continue
        if (
            max(sizes.values()) > DOCUMENT_BUDGET
            and shards * 2 <= MAX_SHARDS
            and not stored.partial
        ):
            shards *= 2
            continue
        raise RuntimeError(
            f"the alert state does not fit in Firestore even trimmed: {sum(sizes.values()):,} "
            f"bytes in {shards} documents"
        )
    if level:
        logs.warning(
            f"alert state over its budget: trimmed to level {level} "
            f"({sum(sizes.values()):,} bytes in {shards} documents)",
            shards=shards,
            level=level,
        )
    paths = []
    for index, text in texts.items():
        if stored.texts.get(index) == text:
            continue
        txn.set(
            shard_path(index), {"v": VERSION, "evaluated": state.evaluated, "blob": blobs[index]}
        )
        paths.append(shard_path(index))
    for index in range(shards, 0 if stored.partial else stored.existing):
        txn.delete(shard_path(index))
        paths.append(shard_path(index))
    return Written(shards, sizes, level, paths)


def estimate(state: AlertState, shards: int) -> dict[int, int] | None:
    """Each shard's compressed size, extrapolated from ESTIMATE_SAMPLE of its records,
    or None when a shard is too small for a sample to save anything. zlib looks back
    32 kB, so a sample of dozens of records compresses as the whole shard does."""
    members: list[list[str]] = [[] for _ in range(shards)]
    for source_id in state.sources:
        members[shard_of(source_id, shards)].append(source_id)
    if min(len(ids) for ids in members) <= 4 * ESTIMATE_SAMPLE:
        return None
    sizes = {}
    for index, ids in enumerate(members):
        sample = {source_id: pack(state.sources[source_id]) for source_id in ids[:ESTIMATE_SAMPLE]}
        text = json.dumps(sample, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        sizes[index] = len(zlib.compress(text, 6)) * len(ids) // ESTIMATE_SAMPLE
    return sizes


def _clearly_over(state: AlertState, shards: int, stored: Stored) -> bool:
    """The estimate says the budgets are far exceeded: trim without measuring."""
    sizes = estimate(state, shards)
    if sizes is None:
        return False
    if stored.partial:
        sizes = {index: size for index, size in sizes.items() if index in stored.texts}
    return (
        max(sizes.values()) > ESTIMATE_MARGIN * DOCUMENT_BUDGET
        or sum(sizes.values()) > ESTIMATE_MARGIN * TOTAL_BUDGET
    )


def trim(state: AlertState, level: int) -> None:
    """Drop the least important data, more at each level (see the module's docstring).

    1  the recent incidents and undeliverable messages shortened; texts kept in the
       state (reasons, summaries, held ends) cut to 120 characters
    2  texts cut to 40; change series to 8 points (the oldest kept); flap history to 2
    3  texts gone (their incident documents keep them); rules' texts of open incidents
       cut to 40 characters; series to 2 points; no recent list
    4  the last resort: no flap history, series, incident documents owed (their
       incidents stay open or resolved in the state; logged), values and rule texts of
       open incidents (messages name the rule instead), two held ends per source at most
    """
    text_limit = {1: 120, 2: 40}.get(level, 0)
    head: Head = state.head
    head.recent = head.recent[-{1: 10, 2: 3}[level] :] if level < 3 else []
    head.failures = head.failures[-{1: 5, 2: 2}.get(level, 1) :]
    for entry in head.recent:
        entry["summary"] = clip(entry.get("summary"), text_limit) or ""
        entry["resolved_summary"] = clip(entry.get("resolved_summary"), text_limit)
    dropped = 0
    for record in state.sources.values():
        facts = record.facts
        facts.last_error = clip(facts.last_error, text_limit) if text_limit else None
        if level >= 2 and len(facts.series) > 8:
            facts.series = facts.series[:1] + facts.series[-7:]
        if level >= 3:
            facts.series = facts.series[-2:]
        if level >= 4:
            facts.series = []
        for streak in record.rules.values():
            if level >= 2:
                streak.opens = streak.opens[-2:] if level < 4 else []
            incident = streak.incident
            if incident is not None:
                incident.summary = clip(incident.summary, text_limit) or ""
                if level >= 3:
                    incident.rule_text = clip(incident.rule_text, 40) or ""
                if level >= 4:  # messages then name the rule ("above"), not its text
                    incident.rule_text, incident.value, incident.digest = "", None, None
        for item in record.owed:
            item["now"] = clip(item.get("now"), text_limit) or ""
            if level >= 4:
                item["rule_text"] = ""
        if level >= 4:
            dropped += len(record.unwritten)
            record.unwritten = []
            record.owed = record.owed[-2:]
        for item in record.unwritten:
            for part in ("open", "resolved"):
                for key in ("opened_summary", "resolved_summary"):
                    if key in item.get(part, {}):
                        item[part][key] = clip(item[part][key], text_limit) or ""
    if dropped:
        logs.error(f"alert state over its budget: {dropped} incident documents not written")
