"""The groups' render documents on the Firestore emulator: no document passes 1 MiB
whatever a group holds (the worst group is built and measured), a usual group is one
document, and a deployment whose render state is in the older per-source documents
renders the same page after the upgrade, moving that state once."""

from __future__ import annotations

import random
import shutil
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tally.blob_parts import PART_BYTES
from tally.config import parse_config
from tally.group_document import GROUP_SIZE
from tally.reading.entry import MAX_ID, MAX_LINK, MAX_TITLE
from tally.render.alerts_view import HISTORY
from tally.render.entry import render_site
from tally.render.group_state import (
    RenderGroups,
    encode,
    group_path,
    read_group,
    write_group,
)
from tally.render.history import HOURLY_DAYS, RECENT_DAYS, agg_path, load_blob, save_blob
from tally.render.state import OVERVIEW_PATH
from tally.sample import short_reason

from tests.core.test_group_document import LIMIT, _size
from tests.render.seed import days_back, seed

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def _document_size(path: str, data: dict[str, Any]) -> int:
    """Firestore's storage size of a document (cloud.google.com/firestore/docs/storage-size):
    its name, its fields (a blob: its bytes + 1), 32 bytes."""
    name = sum(len(part.encode()) + 1 for part in path.split("/")) + 16
    fields = sum(
        len(key.encode()) + 1 + (len(value) + 1 if isinstance(value, bytes) else _size(value))
        for key, value in data.items()
    )
    return name + fields + 32


def _text(rng: random.Random, chars: int) -> str:
    """Random CJK text: three bytes a character, incompressible."""
    return "".join(
        map(chr, (0x4E00 + byte * 64 + rng.getrandbits(6) for byte in rng.randbytes(chars)))
    )


def _worst_source(rng: random.Random, source_id: str) -> dict[str, Any]:
    """The most one source's aggregates can hold: ten years of daily rows and 31 days
    of hourly ones of random values; two days of samples every minute, each failed with
    a distinct reason at its stored bound (random CJK: incompressible); every object's
    md5; 20 incidents and 50 entries with every text at its bound."""
    first = date(2016, 11, 22)
    daily = {
        (first + timedelta(days=n)).isoformat(): [rng.random() * 1e9 for _ in range(4)]
        + [1440, 1440, rng.random() * 1e6, 1440]
        for n in range(3653)
    }
    start = datetime(2026, 10, 22, tzinfo=UTC)
    hourly = {
        (start + timedelta(hours=n)).strftime("%Y-%m-%dT%H"): [rng.random() * 1e9 for _ in range(4)]
        + [60, 60]
        for n in range(HOURLY_DAYS * 24)
    }
    epoch = int(datetime(2026, 11, 20, tzinfo=UTC).timestamp())
    recent = [
        [
            epoch + 60 * n,
            None,
            False,
            short_reason(_text(rng, 140)),
            rng.random() * 1e4,
            503,
            0,
            True,
        ]
        for n in range(RECENT_DAYS * 1440)
    ]
    objects = {
        f"{kind}/{source_id}-{n}.png": f"{rng.getrandbits(128):032x}"
        for kind in ("charts", "s", "data", "badges")
        for n in range(4)
    }
    incidents = [
        {
            "rule": _text(rng, 60),
            "rule_text": _text(rng, 300),
            "summary": _text(rng, 300),
            "detail": _text(rng, 300),
            "opened": "2026-11-22 12:00 CET",
            "resolved": "2026-11-22 13:00 CET",
            "resolved_summary": _text(rng, 300),
            "lasted": "1 h",
            "deliveries": [
                {
                    "channel": _text(rng, 63),
                    "kind": "opened",
                    "status": "failed",
                    "error": _text(rng, 300),
                }
                for _ in range(4)
            ],
        }
        for _ in range(HISTORY)
    ]
    entries = [
        {
            "key": _text(rng, MAX_ID),
            "title": _text(rng, MAX_TITLE),
            "link": "https://e.test/"
            + "".join(rng.choice("abcdefgh0123456789") for _ in range(MAX_LINK - 15)),
            "time": epoch,
            "seen": epoch,
        }
        for _ in range(50)
    ]
    return {
        "through": "2026-11-21",
        "daily": daily,
        "hourly": hourly,
        "recent": recent,
        "drawn": {
            "objects": objects,
            "long_through": "2026-11-21",
            "week": "2026-11-16",
            "incidents": incidents,
            "entries": entries,
        },
    }


def test_the_worst_sources_are_cut_into_documents_none_past_1_mib(store):
    rng = random.Random(20)
    ids = [f"{n:03d}".ljust(63, "x") for n in range(GROUP_SIZE)]
    one = encode({ids[0]: _worst_source(rng, ids[0])})
    alone = sum(len(document["blob"]) for document in one)
    # one source at its worst is past 1 MiB by itself: no group size would fit one
    # document, so a group's blob is cut into documents instead (25 such sources: about
    # 25 times this, measured at 38.4 MB in 39 documents)
    assert alone > LIMIT and len(one) == 2, alone

    sources = {source_id: _worst_source(rng, source_id) for source_id in ids[:3]}
    documents = encode(sources)
    sizes = [
        _document_size(group_path("g99", n), {**data, "updated": NOW})
        for n, data in enumerate(documents)
    ]
    assert len(documents) == 5 and max(sizes) <= PART_BYTES + 200 < LIMIT, sizes
    assert write_group(store, "g99", sources) == len(documents)  # Firestore takes each
    reads = store.counter.reads
    assert read_group(store, "g99") == sources  # whole again, the tuples as arrays
    assert store.counter.reads - reads == len(documents)


def test_a_usual_group_is_one_document():
    """25 sources every 5 minutes, values with two decimals, a year of history, a few
    failures: one document, one read."""
    rng = random.Random(5)
    first = date(2025, 11, 22)
    start = datetime(2026, 10, 22, tzinfo=UTC)
    epoch = int(datetime(2026, 11, 20, tzinfo=UTC).timestamp())

    def value() -> float:
        return round(rng.uniform(100, 200), 2)

    sources = {}
    for n in range(GROUP_SIZE):
        source_id = f"source-{n:02d}"
        sources[source_id] = {
            "through": "2026-11-21",
            "daily": {
                (first + timedelta(days=d)).isoformat(): [value() for _ in range(4)]
                + [286, 288, round(rng.uniform(1e4, 1e5), 1), 288]
                for d in range(365)
            },
            "hourly": {
                (start + timedelta(hours=h)).strftime("%Y-%m-%dT%H"): [value() for _ in range(3)]
                + [rng.uniform(100, 200), 12, 12]
                for h in range(HOURLY_DAYS * 24)
            },
            "recent": [
                [
                    epoch + 300 * r,
                    value(),
                    True,
                    None,
                    round(rng.uniform(50, 500), 1),
                    200,
                    1,
                    False,
                ]
                if r % 100
                else [epoch + 300 * r, None, False, "HTTP 503", 812.0, 503, 0, False]
                for r in range(RECENT_DAYS * 288)
            ],
            "drawn": {
                "objects": {
                    f"charts/{source_id}-{k}.png": f"{rng.getrandbits(128):032x}" for k in range(10)
                },
                "long_through": "2026-11-21",
                "week": "2026-11-16",
                "incidents": [],
            },
        }
    documents = encode(sources)
    print(f"a usual group: {len(documents[0]['blob']):,} bytes compressed")
    assert len(documents) == 1


def test_a_blob_written_half_way_is_not_read_as_whole(store, log_lines):
    big = {"a": {"drawn": {"noise": random.Random(1).randbytes(PART_BYTES).hex()}}}
    write_group(store, "g01", big)
    write_group(store, "g01", {"a": {"through": "2026-11-21"}})  # one part: 0 is newer
    assert read_group(store, "g01") == {"a": {"through": "2026-11-21"}}
    write_group(store, "g02", big)
    store.delete(group_path("g02", 1))  # a part lost: the group is folded again
    assert read_group(store, "g02") == {}
    assert "incomplete" in log_lines()[-1]["message"]


def _config(ids: list[str]):
    return parse_config(
        {
            "title": "upgrade",
            "render_every": "5m",
            "sources": [
                {"id": i, "kind": "json", "url": "https://e.test/", "query": "n", "every": "1h"}
                for i in ids
            ],
        }
    )


def _to_the_older_layout(store, ids: list[str]) -> None:
    """What the render before group documents left: each source's aggregates in its own
    render document, overview entries that name no group, no group render document."""
    groups = RenderGroups(store, {})
    overview = load_blob(store, OVERVIEW_PATH)
    for source_id in ids:
        entry = overview["sources"][source_id]
        save_blob(store, agg_path(source_id), groups.get(source_id, entry).as_data())
        del entry["rgroup"]
    save_blob(store, OVERVIEW_PATH, overview)
    store.delete(group_path("g00"))


def test_a_deployment_of_the_older_layout_renders_the_same_page_after_the_upgrade(store, tmp_path):
    ids = ["a", "b", "c"]
    config = _config(ids)
    for n, source_id in enumerate(ids):
        seed(store, source_id, days_back(NOW.date() - timedelta(days=1), 3), 60, lambda t, n=n: n)
    before = tmp_path / "before"
    render_site(config, store, before, now=NOW)
    state = {path: store.get(path) for path in (OVERVIEW_PATH, group_path("g00"))}
    # a day the aggregates hold whose samples expired (retention_days): only the
    # render state knows it, so the upgrade must keep it, not fold the samples again
    groups = read_group(store, "g00")
    for source_id in ids:
        groups[source_id]["daily"]["2024-01-01"] = [1.0, 2.0, 0.5, 1.5, 24, 24, 0.0, 0]
    write_group(store, "g00", groups)
    state[group_path("g00")] = store.get(group_path("g00"))

    upgraded, staying = tmp_path / "upgraded", tmp_path / "staying"
    shutil.copytree(before, upgraded)
    shutil.copytree(before, staying)
    later = NOW + timedelta(days=1, hours=1)  # a day closes: every source is drawn
    kept = render_site(config, store, staying, now=later)

    for path, data in state.items():
        store.set(path, data)
    _to_the_older_layout(store, ids)
    moved = render_site(config, store, upgraded, now=later)

    files = sorted(p.relative_to(staying) for p in staying.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(upgraded) for p in upgraded.rglob("*") if p.is_file())
    for name in files:
        assert (upgraded / name).read_bytes() == (staying / name).read_bytes(), name
    assert '"date":"2024-01-01"' in (upgraded / "data/a.json").read_text().replace(" ", "")
    # once: each own render document read (3) and deleted (3), the group's written
    assert moved.reads == kept.reads + 3
    assert moved.writes == kept.writes + 3
    assert all(store.get(agg_path(source_id)) is None for source_id in ids)
    assert sorted(read_group(store, "g00")) == ids
    again = render_site(config, store, upgraded, now=later + timedelta(minutes=5))
    assert again.reads == 4  # nothing changed: nothing of the older layout is read again
