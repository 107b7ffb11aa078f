"""The store's writes for `tally import`: a day document created whole, or merged into.

An imported day is written to the source's own day document (`sources/{id}/days/{date}`,
the layout tally stored every sample in before group-hour documents), which readers
merge with the group-hour documents and which decides the minutes it holds.
A collected sample is one merge on its field paths (Store.write_sample). An imported
day carries up to 1,440 samples, and a merge sends one field-mask path per sample
field (~10,000 for a full day), which costs both the client and the emulator several
times more than the same data as a create. So a day document that does not exist is
created (one write, refused if it appeared meanwhile), and one that exists is merged
into, with `replace` (a row says what its minute was: a failed row replaces a stored
ok sample). Both build their data with Store.day_write, so an imported sample is
stored exactly as a collected one (`expire_at` and `written` included):
`written` is also how the next render finds the days imported, past ones included.

This is Store's own business in a module of its own (the import's whole-day writes
are not the collector's): it touches the Firestore client as Store does, and counts
every write on Store's counter.
"""

from __future__ import annotations

from typing import Any

from tally.day_document import merged_samples
from tally.store import Store


def read_day(
    store: Store, source_id: str, day: str
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """The source's own day document as stored (None when there is none yet) and what
    the day holds in both layouts (collected samples are in group-hour documents), as
    a day document's `samples`: one read, plus one query (a read per hour document)."""
    document = store.get(store.day_path(source_id, day))
    found = next(store.days(source_id, since=day, until=day, legacy=False), None)
    held = merged_samples(document, [(found.samples, {})] if found else [])
    return document, {"samples": held}


def create_day(store: Store, source_id: str, day: str, samples: dict[str, dict[str, Any]]) -> bool:
    """Create the day document with these samples: one write. False, and nothing
    written, when it exists already (a live tick wrote it meanwhile)."""
    from google.api_core.exceptions import AlreadyExists, Conflict

    path, data = store.day_write(source_id, day, samples)
    try:
        store.client.document(path).create(data, retry=store.retry, timeout=store.timeout)
    except (AlreadyExists, Conflict):
        return False
    store.counter.add("set", writes=1)
    return True


def merge_day(store: Store, source_id: str, day: str, samples: dict[str, dict[str, Any]]) -> None:
    """Merge these samples into an existing day document, each replacing what its
    minute held (ok or failed): one write."""
    path, data = store.day_write(source_id, day, samples, replace=True)
    store.set(path, data, merge=True)
