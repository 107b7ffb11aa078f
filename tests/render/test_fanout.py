"""A render past one instance, on the Firestore emulator, fake-gcs-server and the Pub/Sub
emulator: the scheduled render hands its sources to shards (messages on the render's own
topic, pulled back here and delivered as the platform might: duplicated, out of order,
one never), index.html is published only once every shard is in, the site is the one a
single run draws, and a lost shard's sources are drawn by a later run."""

from __future__ import annotations

import dataclasses
import re
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from cloudevents.http import CloudEvent
from tally import runtime
from tally.render.entry import render_site
from tally.render.fanned import sweep_after
from tally.render.publish import FolderSink
from tally.render.state import OVERVIEW_PATH

from tests.core.conftest import pubsub_event
from tests.render.seed import seed

NOW = datetime(2026, 11, 22, 12, 2, tzinfo=UTC)
SOURCES = 51  # groups of 25: g00, g01 and g02 (one source): three shards of 25
REFERENCE = "demo-tally-ref"  # a second emulator project: the run that does not fan out

CONFIG_YAML = "title: fanned\nrender_every: 5m\nsources:\n" + "".join(
    f"  - {{id: s{n:02d}, kind: json, url: 'https://example.test/', query: n, every: 1h}}\n"
    if n % 5
    else f"  - {{id: s{n:02d}, kind: http, url: 'https://example.test/', every: 1h}}\n"
    for n in range(SOURCES)
)


def _value(n: int):  # type: ignore[no-untyped-def]
    return lambda tick: None if tick.hour == 7 else 100.0 + n + tick.hour * (n % 7)


def _seed(store) -> None:  # type: ignore[no-untyped-def]
    days = [NOW.date() - timedelta(days=1), NOW.date()]
    for n in range(SOURCES):
        seed(store, f"s{n:02d}", days, 60, _value(n))


@pytest.fixture
def fanned(store, bucket, shard_topic, pubsub_emulator, monkeypatch):  # type: ignore[no-untyped-def]
    """The render function's dependencies as a deployed instance builds them from its
    environment (the render topic, a shard size of 25), on a clock the test sets."""
    monkeypatch.setenv("TALLY_CONFIG_YAML", CONFIG_YAML)
    monkeypatch.delenv("TALLY_CONFIG", raising=False)
    monkeypatch.setenv("TALLY_RENDER_TOPIC", shard_topic.path)
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", pubsub_emulator.host)
    monkeypatch.setenv("TALLY_RENDER_SHARD_SIZE", "25")
    built = runtime.from_environment()
    assert built.render_topic is not None and built.render_shard_size == 25
    _seed(built.store)
    clock = {"now": NOW}
    return dataclasses.replace(built, clock=lambda: clock["now"]), clock


def _objects(fake_gcs, bucket) -> dict[str, bytes]:  # type: ignore[no-untyped-def]
    found = {}
    for name in fake_gcs.names(bucket):
        with urllib.request.urlopen(fake_gcs.object_url(bucket, name)) as response:
            found[name] = response.read()
    return found


def _links(index: bytes) -> set[str]:
    """Every object index.html points at (its relative href and src values)."""
    targets = re.findall(r'(?:href|src)="([^"#?:]+)"', index.decode())
    return {target for target in targets if not target.startswith("/")}


def _shard_of(event: CloudEvent) -> int:
    return int(event.data["message"]["attributes"]["shard"].split(":")[1].split("/")[0])


def test_a_fanned_out_render_publishes_index_html_last_and_the_same_site(
    fanned, fake_gcs, bucket, shard_topic, firestore_emulator, tmp_path
):
    dependencies, _ = fanned
    coordinating = runtime.render_event(dependencies, pubsub_event(NOW, b"render"))
    assert coordinating is not None
    assert (coordinating.shards, coordinating.published, coordinating.redrawn) == (3, False, [])
    shards = sorted(shard_topic.pull(), key=_shard_of)
    assert [_shard_of(event) for event in shards] == [0, 1, 2]
    assert "index.html" not in fake_gcs.names(bucket)
    # The scheduler's message delivered again: the same shards again, nothing drawn.
    again = runtime.render_event(dependencies, pubsub_event(NOW, b"render"))
    assert again is not None and (again.shards, again.published) == (0, False)
    repeated = sorted(shard_topic.pull(), key=_shard_of)
    assert [event.data["message"]["data"] for event in repeated] == [
        event.data["message"]["data"] for event in shards
    ]

    # The platform's way: out of order, one twice, nothing published until the last.
    for event in (shards[2], shards[0], shards[0]):
        result = runtime.render_event(dependencies, event)
        assert result is not None and not result.published
        assert not {"index.html", "status.json"} & set(fake_gcs.names(bucket))
    last = runtime.render_event(dependencies, shards[1])
    assert last is not None and last.published
    site = _objects(fake_gcs, bucket)
    assert "index.html" in site
    missing = _links(site["index.html"]) - set(site)
    assert not missing, missing
    assert {f"s/s{n:02d}.html" for n in range(SOURCES)} <= _links(site["index.html"])

    # A shard, or the scheduler's message, delivered once more after the run is
    # complete changes nothing.
    assert runtime.render_event(dependencies, repeated[2]) is None
    late = runtime.render_event(dependencies, pubsub_event(NOW, b"render"))  # nothing due: one run
    assert late is not None and (late.shards, late.redrawn, late.uploaded) == (0, [], [])
    assert shard_topic.pull() == []
    assert _objects(fake_gcs, bucket) == site

    # The same sources drawn by one run that does not fan out: the same objects, byte
    # for byte.
    firestore_emulator.clear(REFERENCE)
    from google.cloud import firestore
    from tally.store import Store

    reference = Store(firestore.Client(project=REFERENCE), timeout=20)
    _seed(reference)
    alone = render_site(dependencies.config, reference, sink=FolderSink(tmp_path), now=NOW)
    assert alone.shards == 0 and alone.published
    drawn = {
        str(path.relative_to(tmp_path)): path.read_bytes()
        for path in tmp_path.rglob("*")
        if path.is_file()
    }
    assert sorted(drawn) == sorted(site)
    assert [name for name in sorted(site) if site[name] != drawn[name]] == []
    fanned_state = dependencies.store.get(OVERVIEW_PATH)
    assert fanned_state is not None and reference.get(OVERVIEW_PATH) is not None


def test_a_lost_shard_leaves_its_sources_to_a_later_render(fanned, fake_gcs, bucket, shard_topic):
    dependencies, clock = fanned
    runtime.render_event(dependencies, pubsub_event(NOW, b"render"))
    shards = sorted(shard_topic.pull(), key=_shard_of)
    lost = shards[1].data["message"]["attributes"]
    lost_ids = sorted(f"s{n:02d}" for n in range(25, 50))
    for event in (shards[0], shards[2]):  # shard 1 never comes
        runtime.render_event(dependencies, event)
    before = _objects(fake_gcs, bucket)
    assert "index.html" not in before
    assert not {f"s/{source_id}.html" for source_id in lost_ids} & set(before)
    assert {f"s/s{n:02d}.html" for n in (*range(25), 50)} <= set(before)

    # The next scheduled render finds the fan-out open: it leaves the page to it.
    clock["now"] = NOW + timedelta(minutes=5)
    waiting = runtime.render_event(dependencies, pubsub_event(clock["now"], b"render"))
    assert waiting is not None and (waiting.published, waiting.shards) == (False, 0)
    assert _objects(fake_gcs, bucket) == before

    # Once no shard of it can arrive any more, a render takes in the two that came and
    # draws the lost one's sources itself (25: no more than a shard, so no fan-out).
    later = NOW + sweep_after(dependencies.config) + timedelta(minutes=1)
    clock["now"] = later
    assert lost["tick"].startswith(NOW.strftime("%Y-%m-%dT%H:%M"))
    assert runtime.render_event(dependencies, shards[1]) is None  # stale: dropped
    result = runtime.render_event(dependencies, pubsub_event(later, b"render"))
    assert result is not None and result.published and result.shards == 0
    assert sorted(result.redrawn) == lost_ids
    site = _objects(fake_gcs, bucket)
    assert not _links(site["index.html"]) - set(site)
    assert {f"s/s{n:02d}.html" for n in range(SOURCES)} <= set(site)
    overview = dependencies.store.get(OVERVIEW_PATH)
    assert overview is not None
