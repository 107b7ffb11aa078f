"""One oversized sample never stops a tick (issue 10, item 5), on the Firestore emulator:
reasons are stored at most 300 characters long, and a sample Firestore refuses (its day
document past the 1 MiB limit) is recorded as a failure that says why while the tick's
other samples are stored as usual.

Samples cannot fill a group-hour document (tests/core/test_group_document.py builds
the worst case), so the refused write is provoked here by a filler: what matters is
that a group Firestore refuses costs neither the tick nor the other groups."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from tally.collector import collect_tick
from tally.config import parse_config
from tally.sample import Sample, short_reason

TICK = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
DAY, KEY = "2026-11-22", "0930"
LIMIT = 1_048_576  # Firestore's maximum document size


def _config(upstream):
    return parse_config(
        {
            "sources": [
                {  # a check whose failure reason is long: its expected body is
                    "id": "full",
                    "kind": "http",
                    "url": f"{upstream.url}/health",
                    "expect_body": "p" * 2000,
                    "every": "1m",
                },
                {
                    "id": "clicks",
                    "kind": "json",
                    "url": f"{upstream.url}/counter",
                    "query": "data.count",
                    "every": "1m",
                },
            ]
        }
    )


GROUPS = {"full": "g00", "clicks": "g01"}


def _fill(store, source_id: str, room: int) -> None:
    """Fill the hour document of the source's group (one failure with an uncapped
    reason) until only about `room` bytes are left under the 1 MiB limit."""
    from google.api_core.exceptions import InvalidArgument

    def write(length: int) -> bool:
        filler = Sample(source_id, TICK.replace(minute=0), ok=False, error="e")
        path, data = store.hour_write(GROUPS[source_id], [filler])
        data["failures"][source_id]["00"]["error"] = "e" * length
        try:
            store.client.document(path).set(data)
        except InvalidArgument:
            return False
        return True

    low, high = LIMIT - 4096, LIMIT  # the largest filler the document still takes
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if write(middle) else (low, middle - 1)
    assert write(low - room)


def test_a_long_reason_is_stored_cut_to_300_characters(store, upstream):
    collect_tick(_config(upstream), TICK, store)
    [sample] = store.samples("full")
    assert not sample.ok and len(sample.error) == 300  # the README's promise
    assert sample.error.startswith("body does not contain 'ppp") and sample.error.endswith("…")


@pytest.mark.parametrize(("room", "recorded"), [(260, True), (40, False)])
def test_a_group_firestore_refuses_costs_neither_the_tick_nor_the_others(
    store, log_lines, room, recorded
):
    _fill(store, "full", room)
    tick = [
        Sample("full", TICK, ok=False, error=short_reason("body is " + "p" * 2000), status=200),
        Sample("clicks", TICK, ok=True, value=1234),
    ]
    result = store.write_samples(tick, GROUPS)  # must not raise

    [clicks] = store.samples("clicks")
    assert clicks.ok and clicks.value == 1234 and clicks.tick == TICK
    why = "not stored: Firestore refused the sample: "
    full = {sample.source_id: sample for sample in result}["full"]
    assert not full.ok and full.error.startswith(why)  # what the tick reports (and alerts read)
    stored = {sample.tick: sample for sample in store.samples("full") if sample.tick == TICK}
    if recorded:  # the short record fits where the sample did not
        assert stored[TICK].error == full.error
    else:  # not even that fits: it is logged, and the tick goes on
        assert TICK not in stored
        assert any("could not be stored either" in line["message"] for line in log_lines())
    assert any("Firestore refused the sample" in line["message"] for line in log_lines())
