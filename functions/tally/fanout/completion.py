"""A fanned-out run's document: which shards are in, what each left for the end, and the
runs a lost shard left open.

    fanout/{kind}-{YYYYMMDDTHHMM}         one per fanned-out tick (or render)
        kind, tick, count                 the run and how many shards it has
        done.{index}                      {parts, gen, blob, at}: the shard is in, with
                                          its payload (`blob`; when the shards' payloads
                                          would pass INLINE_BYTES together, `parts`
                                          documents `fanout/{run}/shards/{index}-{part}`)
                                          and when its mark was written (server time)
        sweep_at                          while the run is open: when a shard still
                                          missing can no longer arrive (its message is
                                          dropped as stale), so the run is finished
                                          without it; removed when the run is closed
        expire_at                         the TTL policy's field

A shard marks itself in with its payload (alerting's input: the samples it collected,
their entries; its parts, when they are documents of their own, written first) in a
merge write of its own field (no transaction: the shards of a tick never wait on each
other), then reads the document. The write is
before the read, so the last shard to mark itself in sees every shard in. Two shards
finishing together may both see every shard in; only the one whose mark is the latest
(its server time, then its index) runs the end, so they do not both run alerting and
collide on its state (on the emulator, one such collision held the tick's alerts back
2.2 s). A shard that wrote the latest mark always sees every other mark (written
before its own), so some shard always does. A redelivered shard writes its mark again,
the latest now, and runs the end again: what runs at the end stays idempotent.
Cost per shard: one write (its mark, the payload in it: a tick's samples compress to
a few kB a shard; past INLINE_BYTES for all the shards together, a write per payload
part more, and a read per part at the end) and one read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from google.cloud import firestore

from tally import blob_parts, logs
from tally.store import Store

RUNS = "fanout"
# A shard's payload rides in its mark when every shard's together stay this small (the
# run's document holds them all, under Firestore's 1 MiB); else it is documents of its own.
INLINE_BYTES = 500_000
# A run's documents expire two days after its tick: past any sweep (the stale-event
# window is at most a day, config.py) with a day left to look at a run that went wrong.
KEPT = timedelta(days=2)


@dataclass(frozen=True)
class Run:
    kind: str
    tick: datetime
    count: int  # shards
    payloads: list[Any]  # of the shards that are in, in index order
    missing: list[int]  # shards that never came in (a sweep)


def run_path(kind: str, tick: datetime) -> str:
    return f"{RUNS}/{kind}-{tick.strftime('%Y%m%dT%H%M')}"


def part_path(kind: str, tick: datetime, index: int, part: int) -> str:
    return f"{run_path(kind, tick)}/shards/{index}-{part}"


def open_run(store: Store, kind: str, tick: datetime, count: int, sweep_after: timedelta) -> bool:
    """Create the run's document before its shards are published; False when it exists
    (a redelivered tick: the run keeps its marks, and stays closed if it was)."""
    return store.create(
        run_path(kind, tick),
        {
            "kind": kind,
            "tick": tick,
            "count": count,
            "sweep_at": tick + sweep_after,
            "expire_at": tick + KEPT,
        },
    )


def finish(
    store: Store, kind: str, tick: datetime, index: int, count: int, payload: Any
) -> Run | None:
    """Mark shard `index` in with its payload; the whole run when every shard is in (the
    caller then does the run's last step, idempotently), else None."""
    mark_in(store, kind, tick, index, count, payload)
    document = store.get(run_path(kind, tick)) or {}
    if not ends_run(document, index, count):
        return None
    return _read_run(store, kind, tick, document)


def mark_in(store: Store, kind: str, tick: datetime, index: int, count: int, payload: Any) -> None:
    """Shard `index`'s mark, with its payload and the server's time of the write."""
    gen, chunks = blob_parts.cut(payload)
    expire = tick + KEPT
    mark: dict[str, Any] = {"parts": 0, "gen": gen, "blob": chunks[0]}
    if len(chunks) > 1 or len(chunks[0]) * count > INLINE_BYTES:
        for part, chunk in enumerate(chunks):
            data = {"gen": gen, "blob": chunk, "expire_at": expire}
            store.set(part_path(kind, tick, index, part), data)
        mark = {"parts": len(chunks), "gen": gen}
    mark["at"] = firestore.SERVER_TIMESTAMP
    data = {"kind": kind, "tick": tick, "count": count, "expire_at": expire}
    store.set(run_path(kind, tick), {**data, "done": {str(index): mark}}, merge=True)


def ends_run(document: dict[str, Any], index: int, count: int) -> bool:
    """Whether shard `index`, having read the run's document after its mark, runs the
    end: every shard is in, and its mark is the latest (by server time, then index; a
    mark without a time, written before marks had one, counts as the earliest)."""
    done: dict[str, Any] = document.get("done") or {}
    if any(str(n) not in done for n in range(count)):
        return False

    def order(key: str) -> tuple[float, int]:
        at = done[key].get("at") if isinstance(done[key], dict) else None
        return (at.timestamp() if isinstance(at, datetime) else float("-inf"), int(key))

    latest = max((key for key in done if key.isdigit() and int(key) < count), key=order)
    return latest == str(index)


def close(store: Store, kind: str, tick: datetime) -> None:
    """The run's last step is done: no sweep for it."""
    store.set(run_path(kind, tick), {"sweep_at": firestore.DELETE_FIELD}, merge=True)


def overdue(store: Store, kind: str, now: datetime, limit: int = 10) -> list[Run]:
    """Runs of this kind still open past their sweep time: a shard was lost (its message
    dropped as stale after failing for as long as Pub/Sub retried it). One query (a read
    when it finds none)."""
    runs = []
    for document in store.documents_where(RUNS, "sweep_at", "<=", now, limit=limit):
        if document.get("kind") == kind and isinstance(document.get("tick"), datetime):
            runs.append(_read_run(store, kind, document["tick"], document))
    return [run for run in runs if run is not None]


def _read_run(store: Store, kind: str, tick: datetime, document: dict[str, Any]) -> Run | None:
    """The payloads of the shards marked in (one read per part, in one round trip)."""
    count = int(document.get("count") or 0)
    done: dict[str, Any] = document.get("done") or {}
    present = sorted(int(key) for key in done if key.isdigit() and int(key) < count)
    paths = {
        index: [part_path(kind, tick, index, n) for n in range(int(done[str(index)]["parts"]))]
        for index in present
    }
    wanted = [path for index in present for path in paths[index]]
    read = store.get_many(wanted) if wanted else []
    payloads, at = [], 0
    for index in present:
        mark = done[str(index)]
        parts = read[at : at + len(paths[index])] if paths[index] else [mark]
        at += len(paths[index])
        value = blob_parts.joined(str(mark["gen"]), parts)
        if value is None:
            # rewritten while we read (a redelivered shard): that shard finishes the run
            logs.info(f"fan-out: shard {index} of {run_path(kind, tick)} is being rewritten")
            return None
        payloads.append(value)
    missing = [n for n in range(count) if n not in present]
    return Run(kind, tick, count, payloads, missing)
