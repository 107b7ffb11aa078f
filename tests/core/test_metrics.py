"""Cloud Monitoring's answers, as the real service gives them (tests/support/monitoring.py):
a redelivered tick's points are refused and logged, anything else is an error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
from tally.metrics import MetricWriter
from tally.sample import Sample

TICK = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)


def _samples(*ids: str, tick: datetime = TICK) -> list[Sample]:
    return [Sample(source_id, tick, ok=True, value=1.0) for source_id in ids]


def _metric_lines(lines):
    return [line for line in lines if "metric" in line["message"]]


def test_a_redelivered_tick_is_refused_by_monitoring_and_logged_not_an_error(
    metric_service, log_lines
):
    writer = MetricWriter("demo-tally")
    writer.write(TICK, _samples("a", "b"), {})
    writer.write(TICK, _samples("a", "b"), {})  # the same tick again
    assert metric_service.rejected == 3  # a, b and the heartbeat
    [line] = _metric_lines(log_lines())
    assert line["severity"] == "INFO"
    assert (line["refused"], line["written"]) == (3, 0)


def test_the_new_points_of_a_partly_refused_call_are_written(metric_service, log_lines):
    writer = MetricWriter("demo-tally")
    writer.write(TICK, _samples("a"), {})
    writer.write(TICK, _samples("a", "new"), {})  # a and the heartbeat again, new is new
    [line] = _metric_lines(log_lines())
    assert (line["severity"], line["refused"], line["written"]) == ("INFO", 2, 1)
    assert ("custom.googleapis.com/tally/value", {"source": "new"}, 1.0) in metric_service.points()
    writer.write(TICK + timedelta(minutes=1), _samples("a", "new"), {})
    assert len(_metric_lines(log_lines())) == 1  # the next tick is accepted whole


def test_an_invalid_request_is_an_error_whatever_its_message_says(metric_service, log_lines):
    metric_service.fail_with = (
        grpc.StatusCode.INVALID_ARGUMENT,
        "Points must be written in order. (but no summary: the request itself was refused)",
    )
    MetricWriter("demo-tally").write(TICK, _samples("a"), {})
    [line] = _metric_lines(log_lines())
    assert line["severity"] == "ERROR" and line["message"] == "writing metrics failed"


def test_a_refused_permission_is_an_error(metric_service, log_lines):
    metric_service.fail_with = (grpc.StatusCode.PERMISSION_DENIED, "monitoring.timeSeries.create")
    MetricWriter("demo-tally").write(TICK, _samples("a"), {})
    [line] = _metric_lines(log_lines())
    assert line["severity"] == "ERROR" and "monitoring.timeSeries.create" in line["detail"]
