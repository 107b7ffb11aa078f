"""State that holds in any storm: no document tally writes passes Firestore's 1 MiB
limit, and alerting keeps evaluating every tick and opens its incidents.

1. The issue's storm, on the emulator: 10,000 sources × 5 rules × 4 channels; every
   value moves (above and change open), then every upstream fails with a distinct
   300-character reason (down opens; stale, the same outage, does not). The samples are
   given to alerting as the collector would store them.
2. The worst record a source can have, 10,000 times over (63-character ids and channel
   names, every list at its bound, every text 300 CJK characters: incompressible), is
   written through the size guard in a real transaction: every document within budget.
"""

from __future__ import annotations

import random
import zlib
from datetime import timedelta

from google.cloud import firestore as gcf
from tally.alerts import shards
from tally.alerts.engine import run_alerts
from tally.alerts.state import (
    MAX_OPENS,
    AlertState,
    Facts,
    Incident,
    SourceRecord,
    Streak,
)
from tally.config import MAX_SOURCES, parse_config
from tally.sample import Sample
from tally.transactions import transact

from tests.alerts.conftest import START
from tests.support.emulators import PROJECT

FIRESTORE_LIMIT = 1_048_576
CJK = [chr(code) for code in range(0x4E00, 0xA000)]


def _documents() -> dict[str, int]:
    """Every alert-state document as stored, and its size in bytes (blob and fields)."""
    client = gcf.Client(project=PROJECT)
    sizes = {}
    for snapshot in client.collection("alerts").stream():
        data = snapshot.to_dict()
        sizes[snapshot.id] = (
            len(snapshot.id)
            + 1
            + sum(
                len(key) + 1 + (len(value) if isinstance(value, bytes) else 8)
                for key, value in data.items()
            )
            + 32
        )
    return sizes


def test_ten_thousand_sources_failing_with_distinct_reasons_keep_alerting(receiver, store):
    channels = {f"c{n}": receiver.url("json", f"/c{n}") for n in range(4)}
    rules = {
        "above": 1000,
        "below": 1,
        "change": {"percent": 10, "window": "3m"},
        "stale_after": "3m",
    }
    config = parse_config(
        {
            "notify": channels,
            "sources": [
                {
                    "id": f"s{n:05d}",
                    "kind": "http",
                    "url": "http://127.0.0.1:9/health",
                    "every": "1m",
                    "alerts": rules,
                }
                for n in range(MAX_SOURCES)
            ],
        }
    )
    rng = random.Random(17)
    reasons = {s.id: "".join(rng.choices(CJK, k=300)) for s in config.sources}

    def tick(minute: int, value: float | None):  # type: ignore[no-untyped-def]
        at = START + timedelta(minutes=minute)
        samples = [
            Sample(source_id=s.id, tick=at, ok=True, value=value)
            if value is not None
            else Sample(source_id=s.id, tick=at, ok=False, error=reasons[s.id])
            for s in config.sources
        ]
        run = run_alerts(config, store, at, samples, now=at + timedelta(seconds=20))
        sizes = _documents()
        assert len(sizes) == 10 and max(sizes.values()) < FIRESTORE_LIMIT, sizes
        assert run.written is not None
        assert max(run.written.sizes.values()) <= shards.DOCUMENT_BUDGET
        assert sum(run.written.sizes.values()) <= shards.TOTAL_BUDGET
        return run

    tick(0, 100.0)
    tick(3, 1500.0)
    moved = tick(4, 1500.0)  # above and change, on their second sample
    assert len(moved.opened) == 2 * MAX_SOURCES
    tick(5, None)
    outage = tick(6, None)  # down, on its second failed check
    assert len(outage.opened) == MAX_SOURCES
    assert {change.rule for change in outage.opened} == {"down"}
    assert outage.written.level >= 1  # 10,000 incompressible reasons: the guard trimmed
    for minute in (7, 8):  # stale after 3m: the same outage, no second incident
        assert tick(minute, None).opened == []
    state = shards.load(store, MAX_SOURCES)
    open_rules = sorted(rule for _, rule, _ in state.open_incidents())
    assert open_rules == ["above"] * MAX_SOURCES + ["change"] * MAX_SOURCES + ["down"] * MAX_SOURCES
    by_channel: dict[str, list[str]] = {}
    for item in receiver.take():
        by_channel.setdefault(item.path, []).append(item.message.split(" — ")[0])
    assert by_channel == {
        f"/c{n}": [
            "20,000 incidents opened: above 10,000 (s00000, s00001, s00002, s00003, s00004 and "
            "9,995 more); change 10,000 (s00000, s00001, s00002, s00003, s00004 and 9,995 more)",
            "10,000 incidents opened: down 10,000 (s00000, s00001, s00002, s00003, s00004 and "
            "9,995 more)",
        ]
        for n in range(4)
    }


def _worst_state(count: int, rng: random.Random) -> AlertState:
    """Every field of every source at its bound, and nothing compressible."""
    pool = "".join(rng.choices(CJK, k=1_000_000))  # random: zlib finds nothing to repeat

    def text(length: int) -> str:
        start = rng.randrange(len(pool) - length)
        return pool[start : start + length]

    def slug(length: int) -> str:
        return "".join(rng.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=length))

    channels = [slug(63) for _ in range(4)]
    base = int(START.timestamp())
    state = AlertState(evaluated=base)
    for n in range(count):
        source_id = slug(55) + f"{n:08d}"
        record = SourceRecord(
            facts=Facts(
                first_seen=base,
                last_tick=base + 600,
                last_ok_tick=base + 300,
                last_ok_value=rng.random() * 1e300,
                last_error=text(300),
                last_error_tick=base + 600,
                series=[[base + 60 * k, rng.random() * 1e12] for k in range(26)],
            ),
            seq=123_456,
        )
        for rule in ("down", "stale", "above", "below", "change"):
            incident = None
            if rule != "stale":
                incident = Incident(
                    id=f"{source_id}/20261125T0800Z-{rule}-2",
                    rule_text=f"{rule} {text(75)}",
                    since=base,
                    value=rng.random() * 1e300,
                    summary=text(300),
                    notified=base,
                    reminders=99,
                    told=list(channels),
                    flapping=base,
                    quiet=True,
                    changed=base,
                    acked=base,
                    digest="digest-123456",
                )
            record.rules[rule] = Streak(
                holds=True,
                since=base,
                samples=999_999,
                counted=base,
                text=f"{rng.getrandbits(32):08x}",
                opens=[base + k for k in range(MAX_OPENS)],
                incident=incident,
            )
        held = {"rule": "above", "told": list(channels), "since": base, "at": base}
        record.owed = [
            {**held, "incident": f"{source_id}/x", "rule_text": text(80), "now": text(120)}
            for _ in range(5)
        ]
        record.unwritten = [
            {
                "id": f"{source_id}/x",
                "open": {"opened": base, "opened_summary": text(300)},
                "resolved": {"resolved": base, "resolved_summary": text(300)},
                "deliveries": {},
            }
            for _ in range(4)
        ]
        state.sources[source_id] = record
    return state


def test_the_worst_record_ten_thousand_times_over_fits_through_the_guard(store):
    state = _worst_state(MAX_SOURCES, random.Random(5))
    wanted = shards.shards_for(MAX_SOURCES)

    def write(txn):  # type: ignore[no-untyped-def]
        stored = shards.read(txn.get_many, wanted)
        return shards.write(txn, stored, state, wanted)

    written = transact(store, write)
    assert written.level == shards.TRIM_LEVELS  # nothing less would do
    assert max(written.sizes.values()) <= shards.DOCUMENT_BUDGET
    assert sum(written.sizes.values()) <= shards.TOTAL_BUDGET
    sizes = _documents()
    assert len(sizes) == wanted and max(sizes.values()) < FIRESTORE_LIMIT
    again = shards.load(store, MAX_SOURCES)
    assert len(again.sources) == MAX_SOURCES
    assert len(again.open_incidents()) == 4 * MAX_SOURCES  # decisions survive the trim


def test_the_sampled_estimate_sizes_a_shard_as_the_whole_compresses():
    """The guard skips a trim level on an estimate only: the estimate must track the
    measured size, for incompressible storm text and for the trimmed, regular state."""
    state = _worst_state(1000, random.Random(7))

    def measured() -> int:
        return len(zlib.compress(shards.encode(state, 1)[0].encode("utf-8"), 6))

    for level in (0, shards.TRIM_LEVELS):
        if level:
            shards.trim(state, level)
        estimated = shards.estimate(state, 1)
        assert estimated is not None
        assert abs(estimated[0] - measured()) <= 0.1 * measured()


def test_a_small_shard_is_measured_not_estimated():
    assert shards.estimate(_worst_state(4 * shards.ESTIMATE_SAMPLE, random.Random(3)), 1) is None
