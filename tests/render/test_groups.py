"""The render over group-hour documents, on the emulator: a group's documents are read
once a run however many of its sources are drawn, and the day that closes is folded
from the documents the overview lists (no query per source), with the same result."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from tally.config import parse_config
from tally.group_document import assign
from tally.render.entry import render_site
from tally.render.plan import card_every
from tally.sample import Sample

IDS = ["a", "b", "c"]
DAY = datetime(2026, 11, 20, tzinfo=UTC)


def _config():
    return parse_config(
        {
            "render_every": "5m",
            "sources": [
                {
                    "id": i,
                    "kind": "json",
                    "url": "https://example.test/",
                    "query": "n",
                    "every": "1h",
                }
                for i in IDS
            ],
        }
    )


def _tick(store, at: datetime) -> None:
    """One collect tick of every source, stored as the collector stores it."""
    samples = [Sample(i, at, ok=True, value=at.hour * 10.0 + n) for n, i in enumerate(IDS)]
    store.write_samples(samples, assign(IDS))


def _closes(folder, source_id: str) -> dict[str, float]:
    data = json.loads((folder / f"data/{source_id}.json").read_text())
    return {row["date"]: row["close"] for row in data["daily"]}


def test_the_closing_day_is_read_once_for_the_whole_group(store, tmp_path):
    config = _config()
    for hour in (10, 11, 12):
        _tick(store, DAY + timedelta(hours=hour))
    render_site(config, store, tmp_path, now=DAY + timedelta(hours=12, minutes=30))

    _tick(store, DAY + timedelta(hours=13))
    steady = render_site(config, store, tmp_path, now=DAY + timedelta(hours=13, minutes=5))
    # the overview, the alert state, the change queries (the 13:00 document; no day
    # document: one read), the group's render document (the three sources' aggregates),
    # and the group's three earlier documents of today, each read once for the three
    assert steady.reads == 1 + 1 + (1 + 1) + 1 + 3
    assert json.loads((tmp_path / "status.json").read_text())["sources"][2]["value"] == 132.0

    _tick(store, DAY + timedelta(hours=23))
    closing = render_site(config, store, tmp_path, now=DAY + timedelta(days=1, hours=1))
    # as above, with the 23:00 document changed: the day's other four documents are
    # read once for the group and folded for each source (a query per source would
    # read them three times)
    assert closing.reads == 1 + 1 + (1 + 1) + 1 + 4
    # and it writes the overview and the group's render document: one, not one a source
    assert closing.writes == 1 + 1
    for n, source_id in enumerate(IDS):
        assert _closes(tmp_path, source_id) == {DAY.date().isoformat(): 230.0 + n}


def test_between_whole_cards_a_card_follows_its_newest_sample_without_a_read(store, tmp_path):
    config = _config()
    for hour in (10, 11, 12):
        _tick(store, DAY + timedelta(hours=hour))
    first = DAY + timedelta(hours=12, minutes=30)
    render_site(config, store, tmp_path, now=first)

    at = first + timedelta(minutes=2)
    store.write_samples(
        [Sample("b", at, ok=True, value=999.0), Sample("c", at, ok=False, error="HTTP 503")],
        assign(IDS),
    )
    quick = render_site(config, store, tmp_path, now=at + timedelta(minutes=1))
    # the whole cards are 3 minutes old (card_every: 5): the overview, the alert state,
    # the change queries (one group-hour document; no day document) and nothing else
    assert quick.reads == 1 + 1 + (1 + 1) and quick.redrawn == []
    cards = {s["id"]: s for s in json.loads((tmp_path / "status.json").read_text())["sources"]}
    assert cards["b"]["value"] == 999.0 and cards["b"]["status"] == "ok"
    assert cards["c"]["last_error"] == "HTTP 503" and cards["c"]["status"] == "down"
    assert cards["c"]["value"] == 122.0  # its last ok value stays shown
    assert cards["a"]["value"] == 120.0

    whole = render_site(config, store, tmp_path, now=first + timedelta(minutes=5))
    # b and c are drawn whole (a had no news: its group's document changed, not its
    # samples): their group's render document and today's three documents, each read
    # once for both
    assert whole.reads == 1 + 1 + (1 + 1) + 1 + 3 and whole.redrawn == []
    after = {s["id"]: s for s in json.loads((tmp_path / "status.json").read_text())["sources"]}
    assert after["b"]["value"] == 999.0 and after["c"]["last_error"] == "HTTP 503"


def test_whole_cards_of_60_sources_read_one_render_document_per_group(store, tmp_path):
    ids = [f"s{n:02d}" for n in range(60)]  # three groups: 25, 25 and 10 sources
    config = parse_config(
        {
            "render_every": "5m",
            "sources": [
                {"id": i, "kind": "json", "url": "https://e.test/", "query": "n", "every": "1h"}
                for i in ids
            ],
        }
    )
    groups = assign(ids)

    def tick(at: datetime) -> None:
        store.write_samples(
            [Sample(i, at, ok=True, value=at.hour + n) for n, i in enumerate(ids)], groups
        )

    for hour in (10, 11, 12):
        tick(DAY + timedelta(hours=hour))
    first = DAY + timedelta(hours=12, minutes=30)
    render_site(config, store, tmp_path, now=first)

    tick(DAY + timedelta(hours=13))
    at = first + card_every(config) + timedelta(minutes=30)  # every whole card is due
    whole = render_site(config, store, tmp_path, now=at)
    # the overview, the alert state, the change queries (the three groups' 13:00
    # documents; no day document: one read), the three groups' render documents (60
    # sources' aggregates) and their three earlier documents of today each: counted in
    # documents, not in sources
    assert whole.reads == 1 + 1 + (3 + 1) + 3 + 3 * 3
    assert whole.writes == 1  # the overview; nothing folded, nothing else drawn
    values = {
        s["id"]: s["value"] for s in json.loads((tmp_path / "status.json").read_text())["sources"]
    }
    assert values == {i: 13.0 + n for n, i in enumerate(ids)}


def test_whole_cards_come_round_so_a_render_reads_about_50_render_documents():
    def every(count: int) -> timedelta:
        return card_every(
            parse_config(
                {
                    "sources": [
                        {
                            "id": f"s{n}",
                            "kind": "json",
                            "url": "https://e.test/",
                            "query": "n",
                            "every": "5m",
                        }
                        for n in range(count)
                    ]
                }
            )
        )

    assert every(1) == every(50) == timedelta(minutes=5)  # render_every
    assert every(51) == timedelta(minutes=10)
    assert every(500) == timedelta(minutes=50)
