"""`tally local`'s tick line: the values the collect function stored, read back, written
as the page writes them (tally.formatting: one number formatter)."""

from __future__ import annotations

from datetime import UTC, datetime

from tally.config import parse_config
from tally.group_document import assign
from tally.local.reporter import Reporter
from tally.sample import Sample

TICK = datetime(2026, 11, 22, 20, 34, tzinfo=UTC)


def config():  # type: ignore[no-untyped-def]
    def source(source_id: str, kind: str, unit: str, **more: object) -> dict[str, object]:
        return {"id": source_id, "kind": kind, "unit": unit, "every": "1m", **more}

    url = "http://127.0.0.1:9/x"
    return parse_config(
        {
            "sources": [
                source("clicks", "json", "clicks", url=url, query="count"),
                source("price", "html", "JPY", url=url, selector=".price"),
                source("echo", "http", "ms", url=url),
                source("ratio", "json", "", url=url, query="r"),
                source("late", "json", "", url=url, query="n"),
            ]
        }
    )


def test_the_tick_line_shows_each_stored_value_as_the_page_does(store):
    store.write_samples(
        [
            Sample("clicks", TICK, ok=True, value=187_631_144.0),
            Sample("price", TICK, ok=False, error="selector '.price' matched nothing"),
            Sample("echo", TICK, ok=True, value=85.3, latency_ms=85.3, up=1),
            Sample("ratio", TICK, ok=True, value=0.123456),
        ],
        assign(source.id for source in config().sources),  # as the collector groups them
    )
    lines: list[str] = []
    reporter = Reporter(config(), store, lines.append)
    reporter.report_previous()
    assert lines == []  # nothing published yet
    reporter.published(TICK)
    reporter.report_previous()
    assert lines == [
        "tick 2026-11-22 20:34Z  clicks 187,631,144 clicks · price FAILED (selector '.price' "
        "matched nothing) · echo 85.3 ms · ratio 0.1235 · late …"
    ]
