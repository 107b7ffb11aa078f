"""A tick may run twice (at-least-once delivery, two instances at once) and the upstream
may blink in between: a failure never replaces a stored success of the same tick, in
either order, and it still costs one write per sample and no read."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import main
import pytest
from tally import runtime
from tally.cli import main as cli
from tally.importer import Importer, Result, rows_from_samples
from tally.render.entry import render_site
from tally.sample import Sample

from tests.core.conftest import pubsub_event, recent_tick
from tests.support.hostile import Page

OK = Page(b'{"count": 42}', "application/json")
DOWN = Page(b"upstream blinked", "text/plain", 503)


@pytest.fixture
def flaky(hostile, write_config, firestore, metric_service):
    """A json source on a page the test turns up or down; returns its config path."""
    hostile.pages["/flaky"] = OK
    return write_config(
        {
            "sources": [
                {
                    "id": "flaky",
                    "kind": "json",
                    "url": f"{hostile.url}/flaky",
                    "query": "count",
                    "every": "1m",
                }
            ]
        }
    )


@pytest.mark.parametrize(
    "order", [(OK, DOWN), (DOWN, OK)], ids=["ok-then-failed", "failed-then-ok"]
)
def test_the_ok_sample_of_a_tick_wins_whatever_the_order(
    hostile, flaky, metric_service, tmp_path, capsys, order
):
    tick = recent_tick()
    event = pubsub_event(tick, message_id="7")
    for page in order:  # the same message delivered twice, the upstream blinking between
        hostile.pages["/flaky"] = page
        main.collect(event)

    # export
    assert cli(["export", "flaky", "--config", str(flaky), "--format", "json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert (row["ok"], row["value"], row["error"]) == (True, 42, None)
    # the summary the page and `tally collect` read
    summary = runtime.store().summary("flaky")
    assert summary.last.ok and summary.last.value == 42 and summary.failure_streak == 0
    # the page
    config = runtime.config()
    render_site(config, runtime.store(), tmp_path, now=datetime.now(UTC))
    status = json.loads((tmp_path / "status.json").read_text(encoding="utf-8"))
    [card] = status["sources"]
    assert (card["value"], card["last_error"]) == (42, None)
    recent = json.loads((tmp_path / "data" / "flaky.json").read_text(encoding="utf-8"))["recent"]
    assert [(r["value"], r["ok"]) for r in recent] == [(42, True)]
    # the metrics: the failure never sent a value point, so 42 is the tick's only one
    values = [
        value
        for metric, labels, value in metric_service.points()
        if metric.endswith("/value") and labels == {"source": "flaky"}
    ]
    assert values == [42]


def test_still_one_write_per_sample_and_no_read(store):
    tick = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
    store.write_samples([Sample("a", tick, ok=True, value=1.0)])
    store.write_samples([Sample("a", tick, ok=False, error="HTTP 503 Service Unavailable")])
    assert (store.counter.writes, store.counter.reads) == (2, 0)
    [sample] = store.samples("a")
    assert sample.ok and sample.value == 1.0


def test_an_imported_failure_does_replace_a_stored_value(store):
    """`tally import` says what a minute was: there a failed row does replace."""
    tick = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
    store.write_samples([Sample("a", tick, ok=True, value=1.0)])
    result = Result()
    Importer(store, "a").write_rows(rows_from_samples([(tick, None, False)]), result)
    assert result.replaced == 1
    [sample] = store.samples("a")
    assert not sample.ok and sample.value is None
