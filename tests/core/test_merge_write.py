"""The group write built by hand is the very write the client library builds for
`set(data, merge=True)`: same fields, mask and transforms (the library is the oracle)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from google.cloud import firestore
from google.cloud.firestore_v1 import _helpers
from tally.merge_write import merge_write
from tally.sample import Sample
from tally.store import Store

DOCUMENT = "projects/p/databases/(default)/documents/groups/g000/hours/2026-01-01T00"


def library_write(data: dict) -> object:  # type: ignore[type-arg]
    return _helpers.pbs_for_set_with_merge(DOCUMENT, data, merge=True)[0]._pb


def an_hour_write() -> dict:  # type: ignore[type-arg]
    store = Store.__new__(Store)
    store.retention = timedelta(days=400)
    tick = datetime(2026, 1, 1, 0, 5, tzinfo=UTC)
    samples = [
        Sample("api-counter", tick, ok=True, value=41.5, latency_ms=12.0, status=200),
        Sample("shop.price", tick, ok=True, value=None, up=1.0, degraded=False),
        Sample("status`page", tick, ok=False, error="HTTP 503", status=503),
        Sample("plain_id", tick, ok=True, value=7, latency_ms=3.25),
    ]
    return store.hour_write("g000", samples)[1]


def test_a_group_hour_write_is_the_one_the_library_builds():
    data = an_hour_write()
    mine = merge_write(DOCUMENT, data)
    assert mine == library_write(data)
    assert "samples.`api-counter`.`05`.value" in mine.update_mask.field_paths
    assert len(mine.update_transforms) == 6  # sources, written, 4 × touched


def test_values_a_sample_never_holds_go_through_the_library_encoder():
    data = {
        "at": datetime(2026, 1, 1, 12, 30, 15, 123000, tzinfo=UTC),
        "raw": b"\x00\x01",
        "list": [1, "two", None, {"three": 3.0}],
        "nested": {"empty": {}, "deep": {"er": True}},
        "stamp": firestore.SERVER_TIMESTAMP,
        "ids": firestore.ArrayUnion(["a", "b"]),
    }
    assert merge_write(DOCUMENT, data) == library_write(data)


@pytest.mark.parametrize(
    "sentinel",
    [firestore.DELETE_FIELD, firestore.Increment(1), firestore.ArrayRemove(["a"])],
    ids=["delete", "increment", "array remove"],
)
def test_a_transform_it_does_not_build_is_refused_by_its_path(sentinel):
    with pytest.raises(TypeError, match=r"^samples\.x: merge_write does not build"):
        merge_write(DOCUMENT, {"samples": {"x": sentinel}})
