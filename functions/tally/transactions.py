"""Firestore transactions (how alerting decides exactly once) and the incidents query:
document access beside `Store`'s, through its client and counted in its counter.

`Store` uses `read_many` from here, so this module knows the store only by the four
attributes it reads (`DocumentAccess`): an import of `tally.store` would be a circle.
"""

from __future__ import annotations

import copy
from typing import Any, Protocol

from google.api_core import exceptions as api_exceptions
from google.cloud import firestore


class DocumentAccess(Protocol):
    """What a transaction needs of the `Store`: its client, retry, timeout and counter."""

    client: Any
    retry: Any
    timeout: float
    counter: Any


class Transaction:
    """A Firestore transaction's reads and writes, counted like the Store's own."""

    def __init__(self, store: DocumentAccess, transaction: Any):
        self.store = store
        self.transaction = transaction
        self.reads = 0
        self.writes = 0

    def get(self, path: str) -> dict[str, Any] | None:
        snapshot = self.store.client.document(path).get(
            transaction=self.transaction, retry=self.store.retry, timeout=self.store.timeout
        )
        self.reads += 1
        return snapshot.to_dict() if snapshot.exists else None

    def get_many(self, paths: list[str]) -> list[dict[str, Any] | None]:
        """Several documents in one round trip, in the order of `paths`."""
        found = read_many(
            self.store.client,
            paths,
            self.store.retry,
            self.store.timeout,
            None,
            "",
            self.transaction,
        )
        self.reads += len(paths)
        return found

    def set(self, path: str, data: dict[str, Any], *, merge: bool = False) -> None:
        self.transaction.set(self.store.client.document(path), data, merge=merge)
        self.writes += 1

    def delete(self, path: str) -> None:
        """Delete a document in the transaction (billed as a write)."""
        self.transaction.delete(self.store.client.document(path))
        self.writes += 1


def read_many(
    client: Any,
    paths: list[str],
    retry: Any,
    timeout: float,
    counter: Any,
    kind: str,
    transaction: Any = None,
) -> list[dict[str, Any] | None]:
    """Documents by path in one BatchGetDocuments call, returned in the order asked."""
    if not paths:
        return []
    references = [client.document(path) for path in paths]
    snapshots = {
        snapshot.reference.path: snapshot
        for snapshot in client.get_all(
            references, transaction=transaction, retry=retry, timeout=timeout
        )
    }
    if counter is not None:
        counter.add(kind, reads=len(paths))
    found: list[dict[str, Any] | None] = []
    for path in paths:
        snapshot = snapshots.get(path)
        found.append(snapshot.to_dict() if snapshot is not None and snapshot.exists else None)
    return found


def transact(store: DocumentAccess, work: Any, attempts: int = 10) -> Any:
    """Run `work(Transaction)` in a Firestore transaction and return what it returns.

    Firestore retries the whole function when another transaction changed what it read
    (two instances delivering the same tick), so `work` must compute everything from
    what it reads. Reads of every attempt are billed, writes once.
    """
    outcome: dict[str, Any] = {}

    @firestore.transactional
    def attempt(transaction: Any) -> Any:
        txn = Transaction(store, transaction)
        outcome["txn"] = txn
        try:
            return work(txn)
        finally:
            store.counter.add("transaction", reads=txn.reads)

    try:
        result = attempt(store.client.transaction(max_attempts=attempts))
    except ValueError as exc:  # the client's way of saying "contended every time"
        if "Failed to commit transaction" not in str(exc):
            raise
        raise api_exceptions.Aborted(str(exc)) from exc
    store.counter.add("transaction", writes=outcome["txn"].writes)
    return result


class Rehearsal(Transaction):
    """A dry run of a transaction's work: reads outside any transaction, writes held
    back, so that a long computation (judging 10,000 sources) holds no transaction open.
    `transact_rehearsed` then commits the held writes in a short transaction if every
    document read is still as it was."""

    def __init__(self, store: DocumentAccess):
        super().__init__(store, None)
        self.seen: dict[str, dict[str, Any] | None] = {}
        self.torn = False  # a document read twice changed in between
        self.held: list[tuple[str, dict[str, Any] | None, bool]] = []

    def _saw(self, path: str, found: dict[str, Any] | None) -> None:
        if path in self.seen and self.seen[path] != found:
            self.torn = True
        self.seen.setdefault(path, found)

    def get(self, path: str) -> dict[str, Any] | None:
        return self.get_many([path])[0]

    def get_many(self, paths: list[str]) -> list[dict[str, Any] | None]:
        found = super().get_many(paths)  # no transaction: plain reads, counted alike
        for path, item in zip(paths, found, strict=True):
            self._saw(path, item)
        return found

    def set(self, path: str, data: dict[str, Any], *, merge: bool = False) -> None:
        # copied now, as a transaction's set encodes the data when it is called
        self.held.append((path, copy.deepcopy(data), merge))

    def delete(self, path: str) -> None:
        self.held.append((path, None, False))

    def still_true(self, txn: Transaction) -> bool:
        """Reads, in `txn`, every document the rehearsal read: all as they were?"""
        if self.torn:
            return False
        paths = list(self.seen)
        return txn.get_many(paths) == [self.seen[path] for path in paths]

    def replay(self, txn: Transaction) -> None:
        for path, data, merge in self.held:
            if data is None:
                txn.delete(path)
            else:
                txn.set(path, data, merge=merge)


REHEARSALS = 3  # rehearsals overtaken by another writer before working inside a transaction


def transact_rehearsed(store: DocumentAccess, work: Any) -> Any:
    """`transact(store, work)`, with `work` computed outside the transaction.

    Firestore closes a transaction that stays idle too long (60 s), and the work of a
    large alert state can take that long on a small instance. So `work` runs first on a
    `Rehearsal`; a short transaction then reads the same documents again and, if none
    changed, commits what the rehearsal would have written (`work` computes everything
    from what it reads, so the result is the one the transaction would have reached).
    If another writer got in between, it is rehearsed again; after REHEARSALS such
    tries the work runs inside the transaction. Costs each document read once more.
    """
    stale = object()
    for _ in range(REHEARSALS):
        rehearsal = Rehearsal(store)
        result = work(rehearsal)
        store.counter.add("transaction", reads=rehearsal.reads)

        def commit(txn: Transaction, rehearsal: Rehearsal = rehearsal, result: Any = result) -> Any:
            if not rehearsal.still_true(txn):
                return stale
            rehearsal.replay(txn)
            return result

        outcome = transact(store, commit)
        if outcome is not stale:
            return outcome
    return transact(store, work)


def incidents(store: DocumentAccess, source_id: str, limit: int = 20) -> list[dict[str, Any]]:
    """A source's newest incidents, newest first (a single-field index: no setup)."""
    query = (
        store.client.collection(f"sources/{source_id}/incidents")
        .order_by("opened", direction=firestore.Query.DESCENDING)
        .limit(limit)
    )
    found = []
    for snapshot in query.stream(retry=store.retry, timeout=store.timeout):
        found.append({"id": f"{source_id}/{snapshot.id}", **(snapshot.to_dict() or {})})
    store.counter.add("query", reads=max(1, len(found)))  # an empty query bills one read
    return found
