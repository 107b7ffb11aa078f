"""The render's state: what a render reads, a source's own state document, removed
sources, imports that race a render, and a run that stops at its budget."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from tally.config import parse_config
from tally.importer import Importer
from tally.render.budget import Budget
from tally.render.entry import render_site
from tally.render.group_state import read_group
from tally.render.history import agg_path, load_blob
from tally.render.publish import FolderSink
from tally.render.state import OVERVIEW_PATH
from tally.sample import Sample

from tests.render.seed import days_back, seed

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
TODAY = NOW.date()
IDS = ["a", "b", "c", "d", "e", "f"]


def _config(ids=IDS, **extra):
    return parse_config(
        {
            "title": "state test",
            "render_every": "5m",
            "sources": [
                {
                    "id": source_id,
                    "kind": "json",
                    "url": "https://example.test/",
                    "query": "n",
                    "every": "1h",
                }
                for source_id in ids
            ],
            **extra,
        }
    )


def _values(folder) -> dict[str, float | None]:
    status = json.loads((folder / "status.json").read_text())
    return {s["id"]: s["value"] for s in status["sources"]}


def _hour(tick: datetime) -> float:
    return float(tick.hour)


def _seed_all(store, ids=IDS, days=3):
    for n, source_id in enumerate(ids):
        seed(store, source_id, days_back(TODAY - timedelta(days=1), days), 60, lambda t, n=n: n)


def test_a_render_reads_the_overview_the_changed_documents_and_each_drawn_source(store, tmp_path):
    config = _config()
    _seed_all(store)
    render_site(config, store, tmp_path, now=NOW)

    nothing = render_site(config, store, tmp_path, now=NOW + timedelta(minutes=5))
    # the overview, the alert state, and the two change queries (each billed one read)
    assert nothing.reads == 4

    for source_id in ("b", "e"):
        store.write_sample(Sample(source_id, NOW + timedelta(minutes=6), ok=True, value=77.0))
    two = render_site(config, store, tmp_path, now=NOW + timedelta(minutes=10))
    # the overview and the alert state; the changed documents (b's and e's group-hour
    # documents; no day document: one read); the render document of their group (the
    # config's six sources are one group: one read for both)
    assert two.reads == 2 + (2 + 1) + 1
    assert _values(tmp_path) == {"a": 0, "b": 77, "c": 2, "d": 3, "e": 77, "f": 5}

    store.write_sample(Sample("c", NOW + timedelta(minutes=11), ok=True, value=78.0))
    one = render_site(config, store, tmp_path, now=NOW + timedelta(minutes=15))
    assert one.reads == 2 + (1 + 1) + 1
    assert _values(tmp_path)["c"] == 78


def test_each_source_keeps_its_objects_in_its_own_state_document(store, tmp_path):
    ids = ["alpha", "beta"]
    _seed_all(store, ids=ids)
    render_site(_config(ids=ids), store, tmp_path, now=NOW)

    overview = load_blob(store, OVERVIEW_PATH)
    assert sorted(overview["objects"]) == [
        "favicon.svg",
        "incidents.json",
        "index.html",
        "status.json",
        "style.css",
    ]
    files = [path.relative_to(tmp_path) for path in tmp_path.rglob("*") if path.is_file()]
    for source_id in ids:
        drawn = read_group(store, "g00")[source_id]["drawn"]["objects"]
        own = [p for p in files if p.stem == source_id or p.stem.startswith(f"{source_id}-")]
        assert sorted(drawn) == sorted(p.as_posix() for p in own)
        assert f"s/{source_id}.html" in drawn and f"charts/{source_id}-1y.png" in drawn


def test_a_source_removed_from_the_config_leaves_the_bucket_and_the_state(store, bucket, fake_gcs):
    _seed_all(store, ids=["keep", "gone"])
    render_site(_config(ids=["keep", "gone"]), store, now=NOW)
    gone_objects = sorted(read_group(store, "g00")["gone"]["drawn"]["objects"])
    assert gone_objects and set(gone_objects) <= set(fake_gcs.names(bucket))

    result = render_site(_config(ids=["keep"]), store, now=NOW + timedelta(minutes=5))

    assert result.removed == ["gone"] and sorted(result.deleted) == gone_objects
    names = fake_gcs.names(bucket)
    assert not [name for name in names if "gone" in name]
    assert "s/keep.html" in names and "charts/keep-1y.png" in names
    assert "gone" not in load_blob(store, OVERVIEW_PATH)["sources"]
    assert "gone" not in read_group(store, "g00")  # its aggregates leave its group's
    assert store.get(agg_path("gone")) is None  # and there is no render document of its own
    assert len(list(store.days("gone"))) == 3  # its history stays in Firestore
    with urllib.request.urlopen(fake_gcs.object_url(bucket, "status.json")) as response:
        assert [s["id"] for s in json.load(response)["sources"]] == ["keep"]

    # added again, it is folded from its whole history and drawn again
    again = render_site(_config(ids=["keep", "gone"]), store, now=NOW + timedelta(minutes=10))
    assert "gone" in again.redrawn and "charts/gone-1y.png" in fake_gcs.names(bucket)
    assert len(read_group(store, "g00")["gone"]["daily"]) == 3


class OrderedSink(FolderSink):
    """A site folder that remembers the order of its writes and deletes."""

    def __init__(self, root):
        super().__init__(root)
        self.operations: list[tuple[str, str]] = []

    def write(self, name, data):
        self.operations.append(("write", name))
        super().write(name, data)

    def delete(self, name):
        self.operations.append(("delete", name))
        super().delete(name)


def test_a_removed_sources_objects_go_only_after_the_page_stopped_linking_them(store, tmp_path):
    _seed_all(store, ids=["keep", "gone"])
    render_site(_config(ids=["keep", "gone"]), store, tmp_path, now=NOW)
    sink = OrderedSink(tmp_path)

    render_site(_config(ids=["keep"]), store, sink=sink, now=NOW + timedelta(minutes=5))

    deleted = [i for i, (op, _) in enumerate(sink.operations) if op == "delete"]
    index = sink.operations.index(("write", "index.html"))
    assert deleted and index < min(deleted)
    assert "s/gone.html" not in (tmp_path / "index.html").read_text()


class ImportWhileRendering(FolderSink):
    """A site folder whose first upload lets `tally import` run: an import landing
    between a render's read of its state and its save of it."""

    def __init__(self, root, run_import):
        super().__init__(root)
        self.run_import = run_import

    def write(self, name, data):
        if self.run_import is not None:
            run_import, self.run_import = self.run_import, None
            run_import()
        super().write(name, data)


def _closes(folder, source_id="a") -> dict[str, float]:
    data = json.loads((folder / f"data/{source_id}.json").read_text())
    return {row["date"]: row["close"] for row in data["daily"]}


def test_an_import_that_lands_while_a_render_runs_reaches_the_charts(store, tmp_path):
    config = _config(ids=["a"])
    hole = TODAY - timedelta(days=5)
    seed(store, "a", [d for d in days_back(TODAY - timedelta(days=1), 10) if d != hole], 60, _hour)
    store.write_sample(Sample("a", NOW - timedelta(minutes=30), ok=True, value=1.0))
    render_site(config, store, tmp_path, now=NOW)
    assert hole.isoformat() not in _closes(tmp_path)

    imported = []

    def import_the_hole():
        Importer(store, "a").import_lines([f"{hole.isoformat()}T10:00:00Z,66"])
        imported.append(hole)

    store.write_sample(Sample("a", NOW + timedelta(minutes=2), ok=True, value=2.0))
    during = render_site(
        config,
        store,
        sink=ImportWhileRendering(tmp_path, import_the_hole),
        now=NOW + timedelta(minutes=5),
    )
    assert imported == [hole] and during.uploaded  # the import landed during that render
    after = render_site(config, store, tmp_path, now=NOW + timedelta(minutes=10))

    assert _closes(tmp_path)[hole.isoformat()] == 66.0
    assert 66.0 in after.charts["charts/a-1y.png"].lines[0].y  # the year chart has it too


def test_an_import_that_fails_half_way_still_reaches_the_charts(store, tmp_path):
    from tally.store import Store

    config = _config(ids=["a"])
    first, second = TODAY - timedelta(days=8), TODAY - timedelta(days=4)
    seed(store, "a", days_back(TODAY - timedelta(days=1), 10), 60, _hour)
    render_site(config, store, tmp_path, now=NOW)

    class FailsOnSecondWrite(Store):
        def set(self, path, data, *, merge=False):
            if path.endswith(second.isoformat()):
                raise ConnectionError("the import's connection dropped (injected)")
            super().set(path, data, merge=merge)

    failing = FailsOnSecondWrite(store.client, timeout=20)
    rows = [f"{day.isoformat()}T23:30:00Z,{value}" for day, value in ((first, 55), (second, 66))]
    with pytest.raises(ConnectionError):
        Importer(failing, "a", writers=1).import_lines(rows)

    render_site(config, store, tmp_path, now=NOW + timedelta(minutes=5))
    assert _closes(tmp_path)[first.isoformat()] == 55.0  # the day it did write is drawn
    assert _closes(tmp_path)[second.isoformat()] == 23.0  # the one it did not is unchanged


class Clock:
    """Time that passes only while objects are uploaded: a second an object."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class SlowFolder(FolderSink):
    def __init__(self, root, clock):
        super().__init__(root)
        self.clock = clock

    def write(self, name, data):
        self.clock.now += 1.0
        super().write(name, data)


def test_a_render_out_of_time_continues_where_it_stopped_and_writes_the_overview_every_run(
    store, tmp_path
):
    config = _config()
    _seed_all(store, days=3)
    render_site(config, store, tmp_path, now=NOW)
    for n, source_id in enumerate(IDS):  # every source has news, and then the day closes
        tick = NOW + timedelta(hours=6, minutes=n)
        store.write_sample(Sample(source_id, tick, ok=True, value=100.0 + n))

    closing = NOW + timedelta(days=1, hours=1)
    runs = []
    drawn: list[str] = []
    while True:
        clock = Clock()
        result = render_site(
            config,
            store,
            sink=SlowFolder(tmp_path, clock),
            now=closing + timedelta(minutes=5 * len(runs)),
            budget=Budget(8.0, clock),
        )
        runs.append(result)
        assert result.uploaded[-1] == "index.html"  # the overview, every run
        drawn += result.redrawn
        if not result.pending:
            break
        assert len(runs) < len(IDS), "no progress"

    assert len(runs) >= 3  # the budget split the day-closing render
    assert sorted(drawn) == IDS and len(drawn) == len(set(drawn))  # each source once
    for earlier, later in pairwise(runs):
        assert later.redrawn[0] == earlier.pending[0]  # the next run starts where it stopped
        assert set(later.pending) < set(earlier.pending)
    assert _values(tmp_path) == {source_id: 100.0 + n for n, source_id in enumerate(IDS)}
    for source_id in IDS:
        assert _closes(tmp_path, source_id)[TODAY.isoformat()] == 100.0 + IDS.index(source_id)

    quiet = render_site(config, store, tmp_path, now=closing + timedelta(minutes=5 * len(runs)))
    assert quiet.redrawn == [] and quiet.reads == 4


class OnePageBudget(Budget):
    """A budget that lets a run start its source, then runs out after the first page
    of a long fold."""

    def __init__(self):
        super().__init__(None)
        self.asked = 0

    def exhausted(self) -> bool:
        self.asked += 1
        return self.asked > 1


def test_an_import_into_days_a_cut_fold_already_covered_reaches_the_charts(store, tmp_path):
    config = _config(ids=["a"])
    history = days_back(TODAY - timedelta(days=1), 130)  # more than one fold page (60)
    seed(store, "a", history, 60, _hour)
    cut = render_site(config, store, tmp_path, now=NOW, budget=OnePageBudget())
    assert cut.pending == ["a"]  # the fold stopped after its first page, saved
    early = history[10] if history[10] < history[-1] else history[-11]
    Importer(store, "a").import_lines([f"{early.isoformat()}T23:30:00Z,66"])

    render_site(config, store, tmp_path, now=NOW + timedelta(minutes=5))

    assert _closes(tmp_path)[early.isoformat()] == 66.0
