"""The collect function, called as Cloud Functions calls it, on the Firestore emulator."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import main
import pytest
from google.api_core.exceptions import RetryError, ServiceUnavailable
from google.cloud import firestore as gcf
from tally.store import Store

from tests.core.conftest import pubsub_event, recent_tick
from tests.support.emulators import PROJECT


def counter(upstream, source_id: str, **when: str) -> dict:
    """A json source on the upstream's click counter (1234), due every minute by default."""
    return {
        "id": source_id,
        "kind": "json",
        "url": f"{upstream.url}/counter",
        "query": "data.count",
        **(when or {"every": "1m"}),
    }


def _hour_doc(source_id: str, tick: datetime) -> dict:
    """The group-hour document holding the source's sample of the tick."""
    client = gcf.Client(project=PROJECT)
    query = (
        client.collection_group("hours")
        .where(filter=gcf.FieldFilter("sources", "array_contains", source_id))
        .where(filter=gcf.FieldFilter("hour", "==", f"{tick:%Y-%m-%dT%H}"))
    )
    [snapshot] = list(query.stream())
    return snapshot.to_dict() or {}


def _all_samples(source_id: str) -> list:
    return list(Store(gcf.Client(project=PROJECT)).samples(source_id))


@pytest.fixture
def mixed_config(upstream, write_config):
    """Good sources of every kind beside sources that fail in every way."""
    good = [
        counter(upstream, "clicks"),
        {
            "id": "card",
            "name": "ブラック・ロータス",
            "kind": "html",
            "url": f"{upstream.url}/shop",
            "selector": ".price",
            "every": "1m",
        },
        {
            "id": "echo",
            "kind": "http",
            "url": f"{upstream.url}/health",
            "expect_body": "pong",
            "every": "1m",
        },
        {
            "id": "stars",
            "kind": "github",
            "repo": "tally-dev/tally",
            "metric": "stars",
            "api_url": f"{upstream.url}/github",
            "every": "1m",
        },
    ]
    bad = [
        {"id": "timeout", "url": f"{upstream.url}/slow?seconds=3", "timeout": "1s"},
        {"id": "refused", "url": "http://127.0.0.1:9/x"},
        {"id": "dns", "url": "http://no-such-host.invalid/x"},
        {"id": "missing", "url": f"{upstream.url}/status/404"},
        {"id": "broken", "url": f"{upstream.url}/status/500"},
        {"id": "garbled", "url": f"{upstream.url}/malformed"},
        {"id": "nothing", "url": f"{upstream.url}/counter", "query": "data.nope"},
        {"id": "words", "url": f"{upstream.url}/text"},
        {"id": "huge", "url": f"{upstream.url}/big"},
    ]
    bad = [{"kind": "json", "query": "data.count", "every": "1m", **item} for item in bad]
    bad.append(
        {
            "id": "noselect",
            "kind": "html",
            "url": f"{upstream.url}/shop",
            "selector": ".gone",
            "every": "1m",
        }
    )
    write_config({"sources": good + bad})
    return {"good": [item["id"] for item in good], "bad": [item["id"] for item in bad]}


def test_failing_sources_never_hold_back_the_others(firestore, mixed_config):
    tick = recent_tick()
    main.collect(pubsub_event(tick))  # must not raise
    expected_values = {"clicks": 1234, "card": 1980000, "stars": 1523}
    for source_id in mixed_config["good"]:
        [sample] = _all_samples(source_id)
        assert sample.ok and sample.tick == tick
        if source_id in expected_values:
            assert sample.value == expected_values[source_id]
    reasons = {}
    for source_id in mixed_config["bad"]:
        [sample] = _all_samples(source_id)
        assert not sample.ok and sample.value is None
        reasons[source_id] = sample.error
    assert reasons == {
        "timeout": "timed out after 1s",
        "refused": "connection refused by 127.0.0.1",
        "dns": "host not found: no-such-host.invalid",
        "missing": "HTTP 404 Not Found",
        "broken": "HTTP 500 Internal Server Error",
        "garbled": "response is not JSON: Expecting property name enclosed in double quotes:"
        " line 1 column 23 (char 22)",
        "nothing": "JMESPath 'data.nope' matched nothing",
        "words": "JMESPath 'data.count': no number in 'sold out'",
        "huge": "response body over the 5 MiB cap",
        "noselect": "CSS selector '.gone' matched nothing",
    }


def test_one_event_delivered_100_times_stores_one_sample_per_source(
    firestore, upstream, write_config
):
    write_config(
        {
            "sources": [
                counter(upstream, "clicks"),
                {
                    "id": "down",
                    "kind": "json",
                    "url": f"{upstream.url}/status/500",
                    "query": "a",
                    "every": "1m",
                },
                counter(upstream, "hourly", schedule="0 0 1 1 *"),  # not due now
            ]
        }
    )
    tick = recent_tick()
    event = pubsub_event(tick, message_id="4242")
    for _ in range(100):
        main.collect(event)
    assert [s.tick for s in _all_samples("clicks")] == [tick]
    assert [s.tick for s in _all_samples("down")] == [tick]
    assert _all_samples("hourly") == []
    store = Store(gcf.Client(project=PROJECT))
    clicks, down = store.summary("clicks"), store.summary("down")
    assert clicks.last.value == 1234 and clicks.last_ok.tick == tick
    assert clicks.failure_streak == 0 and clicks.last_error is None
    assert down.failure_streak == 1 and down.last_error.error == "HTTP 500 Internal Server Error"
    assert down.last_ok is None
    doc = _hour_doc("clicks", tick)
    fields = {"sources", "group", "date", "hour", "expire_at", "written", "touched"}
    fields |= {"samples", "failures"}
    assert set(doc) == fields  # nothing unread
    assert doc["sources"] == ["clicks", "down"]  # one document holds the tick of both
    assert list(doc["samples"]) == ["clicks"] and list(doc["failures"]) == ["down"]


def test_summary_follows_ticks_whatever_their_delivery_order(firestore, upstream, write_config):
    write_config({"sources": [counter(upstream, "clicks")]})
    ticks = [recent_tick(3), recent_tick(2), recent_tick(1)]
    for index, tick in enumerate([ticks[2], ticks[0], ticks[1], ticks[0]]):
        upstream.counter = 1000 + index
        main.collect(pubsub_event(tick))
    summary = Store(gcf.Client(project=PROJECT)).summary("clicks")
    assert summary.last.tick == ticks[2] and summary.last.value == 1000
    assert [s.tick for s in _all_samples("clicks")] == ticks
    upstream.counter = 1234


def test_a_stale_event_is_acknowledged_and_dropped(firestore, upstream, write_config, log_lines):
    write_config(
        {
            "stale_event_after": "30m",
            "sources": [counter(upstream, "clicks")],
        }
    )
    main.collect(pubsub_event(recent_tick(31)))
    assert _all_samples("clicks") == []
    [line] = [line for line in log_lines() if "stale event" in line["message"]]
    assert line["severity"] == "WARNING" and line["age_seconds"] >= 31 * 60
    main.collect(pubsub_event(recent_tick(29)))
    assert len(_all_samples("clicks")) == 1


@pytest.mark.parametrize(
    "event_data",
    [
        None,
        "not a dict",
        {"no": "message"},
        {"message": "text"},
        {"message": {"data": "", "publishTime": "yesterday-ish"}},
    ],
)
def test_a_malformed_message_is_logged_and_acknowledged(
    firestore, write_config, log_lines, event_data
):
    from cloudevents.http import CloudEvent

    write_config({"sources": []})
    event = CloudEvent(
        {
            "type": "google.cloud.pubsub.topic.v1.messagePublished",
            "source": "//pubsub.googleapis.com/x",
            "id": "1",
        },
        event_data,
    )
    main.collect(event)  # no exception: the platform must not retry it
    assert any("malformed event" in line["message"] for line in log_lines())


def test_firestore_unreachable_raises_so_the_platform_retries(upstream, write_config, monkeypatch):
    write_config({"sources": [counter(upstream, "clicks")]})
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", "127.0.0.1:9")
    monkeypatch.setenv("TALLY_STORE_TIMEOUT", "3")
    with pytest.raises(RetryError) as caught:  # the store's retry gave up: the event fails
        main.collect(pubsub_event(recent_tick()))
    assert isinstance(caught.value.cause, ServiceUnavailable)  # what it retried: no server


def test_a_token_reaches_the_upstream_and_nowhere_else(
    firestore, upstream, write_config, log_lines, monkeypatch, capsys
):
    secret = "ghp_S3cr3tT0kenValue1234567890"
    monkeypatch.setenv("TALLY_TEST_GITHUB_TOKEN", secret)
    monkeypatch.setenv("TALLY_TEST_API_KEY", "key-" + secret[::-1])
    url_key = "urlkey-" + secret[3:]
    monkeypatch.setenv("TALLY_TEST_URL_KEY", url_key)
    monkeypatch.setenv("TALLY_TEST_HOST", "secret-host-" + secret[5:].lower() + ".invalid")
    write_config(
        {
            "sources": [
                {
                    "id": "stars",
                    "kind": "github",
                    "repo": "tally-dev/tally",
                    "metric": "stars",
                    "token": "${env:TALLY_TEST_GITHUB_TOKEN}",
                    "api_url": f"{upstream.url}/github",
                    "every": "1m",
                },
                {
                    "id": "private",
                    "kind": "json",
                    "url": f"{upstream.url}/status/401",
                    "query": "a",
                    "every": "1m",
                    "headers": {"X-Api-Key": "${env:TALLY_TEST_API_KEY}"},
                },
                {
                    "id": "keyed",
                    "kind": "json",
                    "url": f"{upstream.url}/counter?key=${{env:TALLY_TEST_URL_KEY}}",
                    "query": "data.count",
                    "every": "1m",
                },
                {
                    "id": "hidden",
                    "kind": "json",
                    "url": "http://${env:TALLY_TEST_HOST}/x?key=${env:TALLY_TEST_URL_KEY}",
                    "query": "a",
                    "every": "1m",
                },
            ]
        }
    )
    upstream.requests.clear()
    main.collect(pubsub_event(recent_tick()))
    [headers] = upstream.headers_for("/github/repos/tally-dev/tally")
    assert headers["Authorization"] == f"Bearer {secret}"
    assert upstream.headers_for("/status/401")[0]["X-Api-Key"] == "key-" + secret[::-1]
    assert len(upstream.headers_for(f"/counter?key={url_key}")) == 1
    [keyed] = _all_samples("keyed")
    assert keyed.ok and keyed.value == 1234
    [hidden] = _all_samples("hidden")
    assert hidden.error == "host not found: ***"  # the host came from a secret too
    ids = ("stars", "private", "keyed", "hidden")
    stored = json.dumps([_hour_doc(i, recent_tick()) for i in ids], default=str)
    logged = json.dumps(log_lines()) + capsys.readouterr().err
    for text in (stored, logged):
        assert secret not in text and secret[::-1] not in text
        assert url_key not in text and os.environ["TALLY_TEST_HOST"] not in text
    assert "stars" in logged  # the logs did talk about the source


def test_metrics_one_call_per_tick_with_heartbeat(
    firestore, upstream, write_config, metric_service, log_lines
):
    write_config(
        {
            "sources": [
                counter(upstream, "clicks"),
                {"id": "echo", "kind": "http", "url": f"{upstream.url}/health", "every": "1m"},
                {
                    "id": "down",
                    "kind": "json",
                    "url": "http://127.0.0.1:9/",
                    "query": "a",
                    "every": "1m",
                },
                counter(upstream, "nightly", schedule="0 0 1 1 *"),
            ]
        }
    )
    tick = recent_tick()
    main.collect(pubsub_event(tick))
    assert len(metric_service.requests) == 1
    points = {
        (metric.rsplit("/", 1)[1], labels.get("source")): value
        for metric, labels, value in metric_service.points()
    }
    assert points[("value", "clicks")] == 1234
    assert points[("up", "echo")] == 1 and ("latency_ms", "echo") in points
    assert ("value", "down") not in points  # a failed sample has no value to chart
    assert points[("ticks", None)] == 3
    request = metric_service.requests[0]
    assert request.name == "projects/demo-tally"
    assert {s.resource.type for s in request.time_series} == {"global"}
    assert request.time_series[0].points[0].interval.end_time.timestamp() == tick.timestamp()

    # Redelivery: Monitoring refuses the repeated points; that is logged, not an error.
    main.collect(pubsub_event(tick))
    assert metric_service.rejected > 0
    assert any("already written" in line["message"] for line in log_lines())


def test_the_heartbeat_is_written_even_when_nothing_is_due(
    firestore, upstream, write_config, metric_service
):
    write_config({"sources": [counter(upstream, "yearly", schedule="0 0 1 1 *")]})
    main.collect(pubsub_event(recent_tick()))
    assert metric_service.points() == [("custom.googleapis.com/tally/ticks", {}, 0)]


def test_more_than_200_series_are_split_into_calls(
    firestore, upstream, write_config, metric_service
):
    write_config(
        {
            "sources": [
                {"id": f"check-{n}", "kind": "http", "url": f"{upstream.url}/health", "every": "1m"}
                for n in range(70)
            ]
        }
    )  # 70 checks x 3 series + heartbeat = 211 series
    main.collect(pubsub_event(recent_tick()))
    sizes = [len(request.time_series) for request in metric_service.requests]
    assert sizes == [200, 11]


def test_collect_logs_are_structured_for_cloud_logging(
    firestore, upstream, write_config, log_lines
):
    write_config(
        {
            "sources": [
                counter(upstream, "clicks"),
                {
                    "id": "down",
                    "kind": "json",
                    "url": "http://127.0.0.1:9/",
                    "query": "a",
                    "every": "1m",
                },
            ]
        }
    )
    main.collect(pubsub_event(recent_tick()))
    lines = log_lines()
    by_source = {line.get("source"): line for line in lines if line.get("source")}
    assert by_source["clicks"]["severity"] == "INFO" and by_source["clicks"]["value"] == 1234
    assert by_source["down"]["severity"] == "WARNING"
    assert "connection refused" in by_source["down"]["message"]
    assert any(line.get("collected") == 2 and line.get("failed") == 1 for line in lines)


def test_the_tick_attribute_names_the_tick(firestore, upstream, write_config):
    """The local stack's fast clock and manual replays name the tick explicitly."""
    write_config({"sources": [counter(upstream, "clicks")]})
    chosen = recent_tick(5)  # published now, named five minutes ago, written with an offset
    named = chosen.astimezone(ZoneInfo("Asia/Tokyo")).isoformat(timespec="milliseconds")
    assert named.endswith("+09:00")
    main.collect(pubsub_event(datetime.now(UTC), attributes={"tick": named}))
    assert [s.tick for s in _all_samples("clicks")] == [chosen]
