"""The alert state's documents follow the number of sources: past 1,000 a second shard
appears, back under it goes away, and no incident notices either move."""

from __future__ import annotations

from datetime import timedelta

from google.cloud import firestore as gcf
from tally.alerts import shards
from tally.alerts.engine import run_alerts
from tally.config import parse_config
from tally.sample import Sample

from tests.alerts.conftest import IMMEDIATE, START
from tests.support.emulators import PROJECT


def _config(count: int, hook: str):  # type: ignore[no-untyped-def]
    return parse_config(
        {
            "notify": {"hook": hook},
            "alerts": IMMEDIATE,
            "sources": [
                {
                    "id": f"s{n:04d}",
                    "kind": "http",
                    "url": "http://127.0.0.1:9/x",
                    "every": "1m",
                    "alerts": {"above": 100},
                }
                for n in range(count)
            ],
        }
    )


def _tick(config, store, minute: int, hot: float):  # type: ignore[no-untyped-def]
    at = START + timedelta(minutes=minute)
    samples = [
        Sample(source_id=s.id, tick=at, ok=True, value=hot if s.id == "s0007" else 50.0)
        for s in config.sources
    ]
    return run_alerts(config, store, at, samples, now=at + timedelta(seconds=20))


def _documents() -> list[str]:
    return sorted(doc.id for doc in gcf.Client(project=PROJECT).collection("alerts").stream())


def test_the_state_splits_past_a_thousand_sources_and_joins_again(receiver, store):
    thousand, more = _config(1000, receiver.url()), _config(1001, receiver.url())
    _tick(thousand, store, 0, hot=150)
    [fired] = receiver.take()
    assert fired.type == "failure"
    assert _documents() == ["state"]
    grown = _tick(more, store, 1, hot=150)
    assert grown.opened == [] and grown.resolved == []
    assert _documents() == ["state", "state-1"]
    assert grown.written is not None and grown.written.shards == 2
    state = shards.load(store, 1001)
    assert len(state.sources) == 1001
    fired_id = "s0007/20261125T0800Z-above"
    assert [incident.id for _, _, incident in state.open_incidents()] == [fired_id]
    shrunk = _tick(thousand, store, 2, hot=150)
    assert shrunk.opened == [] and shrunk.resolved == []
    assert _documents() == ["state"]
    assert receiver.take() == []
    resolved = _tick(thousand, store, 3, hot=50)
    assert [change.id for change in resolved.resolved] == [fired_id]
    [message] = receiver.take()
    assert message.type == "success"
