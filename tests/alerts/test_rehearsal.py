"""Past 1,000 sources alerting judges outside the transaction and commits in a short one
(transactions.transact_rehearsed): nothing read may have changed in between, and an
update made meanwhile is never lost."""

from __future__ import annotations

from google.cloud import firestore as gcf
from tally.transactions import REHEARSALS, Transaction, transact_rehearsed

from tests.support.emulators import PROJECT

PATH = "rehearsal/counter"


def _outside() -> gcf.DocumentReference:
    """The document as another instance sees it: its own client, no transaction."""
    return gcf.Client(project=PROJECT).document(PATH)


def test_a_rehearsal_nobody_overtook_is_committed_as_computed(store):
    _outside().set({"n": 5})
    runs = []

    def add_one(txn: Transaction) -> int:
        runs.append(type(txn).__name__)
        n = (txn.get(PATH) or {"n": 0})["n"] + 1
        txn.set(PATH, {"n": n})
        return n

    reads_before = store.counter.reads
    assert transact_rehearsed(store, add_one) == 6
    assert _outside().get().to_dict() == {"n": 6}
    assert runs == ["Rehearsal"]  # computed once, outside the transaction
    assert store.counter.reads - reads_before == 2  # the rehearsal's read and the check's


def test_a_write_during_the_rehearsal_is_not_lost(store):
    _outside().set({"n": 5})
    runs = []

    def add_one(txn: Transaction) -> int:
        n = (txn.get(PATH) or {"n": 0})["n"] + 1
        if not runs:  # another instance writes while the first rehearsal computes
            _outside().set({"n": 10})
        runs.append(type(txn).__name__)
        txn.set(PATH, {"n": n})
        return n

    assert transact_rehearsed(store, add_one) == 11
    assert _outside().get().to_dict() == {"n": 11}  # not 6: the first result was dropped
    assert runs == ["Rehearsal", "Rehearsal"]


def test_a_document_that_keeps_changing_is_worked_on_inside_the_transaction(store):
    _outside().set({"n": 0})
    runs = []

    def add_one(txn: Transaction) -> int:
        n = (txn.get(PATH) or {"n": 0})["n"] + 1
        runs.append(type(txn).__name__)
        if len(runs) <= REHEARSALS:  # overtaken at every rehearsal
            _outside().set({"n": 100 * len(runs)})
        txn.set(PATH, {"n": n})
        return n

    assert transact_rehearsed(store, add_one) == 100 * REHEARSALS + 1
    assert _outside().get().to_dict() == {"n": 100 * REHEARSALS + 1}
    assert runs == ["Rehearsal"] * REHEARSALS + ["Transaction"]
