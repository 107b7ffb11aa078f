"""Which Cloud Monitoring points a source writes, and how often (`metrics`,
`metrics_every`): the choice per source and its default, errors that name the source and
the field, and the points a tick really sends to a MetricService (tests/support)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tally.collector import collect_tick
from tally.config import ConfigError, parse_config
from tally.metrics import MetricWriter, wanted_metrics

HOUR = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def _config(*sources, **top):
    return parse_config({"sources": list(sources), **top})


def _check(source_id, **extra):
    return {"id": source_id, "kind": "http", "url": "https://example.test/", **extra}


def _value(source_id, **extra):
    return {"id": source_id, "kind": "json", "url": "https://example.test/", "query": "a", **extra}


def test_each_choice_names_the_metrics_written():
    config = _config(
        _check("all", every="1m"),
        _check("value", every="1m", metrics="value"),
        _check("none", every="1m", metrics="none"),
        _value("json", every="1m", metrics="all"),
    )
    assert wanted_metrics(config, config.sources, HOUR) == {
        "all": ("value", "up", "latency_ms"),
        "value": ("value",),
        "none": (),
        "json": ("value",),  # all a json source has
    }


def test_the_config_default_applies_where_a_source_does_not_say():
    config = _config(
        _check("quiet", every="5m"), _check("loud", every="5m", metrics="all"), metrics="none"
    )
    assert wanted_metrics(config, config.sources, HOUR) == {
        "quiet": (),
        "loud": ("value", "up", "latency_ms"),
    }


def test_metrics_every_writes_the_first_due_tick_of_each_window():
    config = _config(
        _check("minute", every="1m", metrics_every="5m"),
        _check("cron", schedule="2,3,9 * * * *", metrics_every="5m"),
        _check("slow", every="10m", metrics_every="5m"),
        _check("plain", every="1m"),
    )
    written: dict[str, list[int]] = {source.id: [] for source in config.sources}
    for minute in range(12):
        tick = HOUR + timedelta(minutes=minute)
        due = [
            s
            for s in config.sources
            if s.id in ("minute", "plain")
            or (s.id == "cron" and minute in (2, 3, 9))
            or (s.id == "slow" and minute % 10 == 0)
        ]
        for source_id, names in wanted_metrics(config, due, tick).items():
            if names:
                written[source_id].append(minute)
    assert written["minute"] == [0, 5, 10]
    assert written["cron"] == [2, 9]  # 3 shares the window of 2
    assert written["slow"] == [0, 10]
    assert written["plain"] == list(range(12))  # the default: every tick


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("metrics", "some", "'none', 'value' or 'all'"),
        ("metrics_every", "7m", "must divide an hour"),
        ("metrics_every", "30s", "must be from 1m to 1d"),
    ],
)
def test_a_bad_choice_names_the_source_and_the_field(field, value, words):
    with pytest.raises(ConfigError) as caught:
        _config(_check("pulse", every="1m", **{field: value}))
    [problem] = caught.value.problems
    assert "pulse" in problem and field in problem and words in problem, problem


def test_a_bad_default_names_the_field():
    with pytest.raises(ConfigError) as caught:
        _config(_check("pulse", every="1m"), metrics_every="45m")
    [problem] = caught.value.problems
    assert "field 'metrics_every'" in problem and "must divide an hour" in problem, problem


def test_a_tick_sends_only_the_chosen_points(firestore, store, upstream, metric_service):
    config = _config(
        {"id": "all", "kind": "http", "url": f"{upstream.url}/health", "every": "1m"},
        {
            "id": "value",
            "kind": "http",
            "url": f"{upstream.url}/health",
            "every": "1m",
            "metrics": "value",
        },
        {
            "id": "none",
            "kind": "http",
            "url": f"{upstream.url}/health",
            "every": "1m",
            "metrics": "none",
        },
        {
            "id": "sparse",
            "kind": "http",
            "url": f"{upstream.url}/health",
            "every": "1m",
            "metrics_every": "5m",
        },
    )
    writer = MetricWriter("demo-tally")
    for minute in (0, 1):
        collect_tick(config, HOUR + timedelta(minutes=minute), store, writer, alerting=False)
    points = sorted(
        (metric.rsplit("/", 1)[1], labels.get("source"), int(value))
        for metric, labels, value in metric_service.points()
        if labels.get("source")
    )
    sent = {(metric, source) for metric, source, _ in points}
    assert sent == {
        ("value", "all"),
        ("up", "all"),
        ("latency_ms", "all"),
        ("value", "value"),
        ("value", "sparse"),
        ("up", "sparse"),
        ("latency_ms", "sparse"),
    }
    per_series = {key: sum(1 for p in points if p[:2] == key) for key in sent}
    assert per_series[("up", "all")] == 2 and per_series[("up", "sparse")] == 1
    assert len(list(store.samples("none"))) == 2  # its samples are stored all the same
