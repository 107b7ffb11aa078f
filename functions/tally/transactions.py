"""Firestore transactions (how alerting decides exactly once) and the incidents query:
document access beside `Store`'s, through its client and counted in its counter."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from google.api_core import exceptions as api_exceptions
from google.cloud import firestore

if TYPE_CHECKING:
    from tally.store import Store


class Transaction:
    """A Firestore transaction's reads and writes, counted like the Store's own."""

    def __init__(self, store: Store, transaction: Any):
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

    def set(self, path: str, data: dict[str, Any], *, merge: bool = False) -> None:
        self.transaction.set(self.store.client.document(path), data, merge=merge)
        self.writes += 1


def transact(store: Store, work: Any, attempts: int = 10) -> Any:
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


def incidents(store: Store, source_id: str, limit: int = 20) -> list[dict[str, Any]]:
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
