"""Cloud Monitoring: the tick's values as custom metrics, in one call per 200 series.

    custom.googleapis.com/tally/value        every source's value   (label: source)
    custom.googleapis.com/tally/up           checks: 1 up, 0 down    (label: source)
    custom.googleapis.com/tally/latency_ms   checks: response time   (label: source)
    custom.googleapis.com/tally/ticks        sources collected, on every tick, even 0:
                                             its absence is the "pipeline dead" alert
    custom.googleapis.com/tally/renders      objects a render wrote, after every render
                                             that published the page, even 0: its
                                             absence is the "no page" alert

Which of its kind's metrics a source writes, and at most how often, is the config's
(`metrics: none | value | all`, `metrics_every`): Cloud Monitoring bills the bytes of
every point beyond 150 MiB a month, and a point is 8 bytes: the defaults (all, at every
tick) keep 500 sources every 5 minutes under 99 MiB, and `metrics_every: 5m` keeps them
there at any schedule (docs/deploy.md). A tick writes a source's points when it is the source's
first due tick of its `metrics_every` window (windows aligned to UTC midnight): decided
from the schedule alone, so a redelivered tick decides the same.

Monitoring rejects a point older than the newest one of its series, so a redelivered
tick's points are refused; that is expected and logged, never an error of the tick.
Metrics are best effort: the samples are already in Firestore when they are written,
and failing the tick here would refetch every source for nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from tally import logs
from tally.sample import Sample
from tally.schedule import is_due
from tally.secrets import redact

if TYPE_CHECKING:
    from tally.config import Config, SourceBase

PREFIX = "custom.googleapis.com/tally/"
MAX_SERIES_PER_CALL = 200


def enabled() -> bool:
    """On in the cloud; off under the emulators unless a MetricService is provided."""
    setting = os.environ.get("TALLY_METRICS", "").lower()
    if setting in ("on", "off"):
        return setting == "on"
    if os.environ.get("TALLY_MONITORING_ENDPOINT"):
        return True
    return not os.environ.get("FIRESTORE_EMULATOR_HOST")


def _client() -> Any:
    from google.cloud import monitoring_v3

    endpoint = os.environ.get("TALLY_MONITORING_ENDPOINT")
    if endpoint:  # a local MetricService (tests, local stack): plain gRPC, no credentials
        import grpc
        from google.cloud.monitoring_v3.services.metric_service.transports import (
            MetricServiceGrpcTransport,
        )

        channel = grpc.insecure_channel(endpoint)
        return monitoring_v3.MetricServiceClient(
            transport=MetricServiceGrpcTransport(channel=channel)
        )
    return monitoring_v3.MetricServiceClient()


# How each metric a kind writes (`Kind.metrics`) reads a sample; None writes no point.
POINTS: dict[str, Callable[[Sample], float | int | None]] = {
    "value": lambda sample: None if sample.value is None else float(sample.value),
    "up": lambda sample: int(sample.up or 0),
    "latency_ms": lambda sample: None if sample.latency_ms is None else float(sample.latency_ms),
}
DEFAULT_METRICS = ("value",)  # a source whose kind is not given


def first_in_window(config: Config, source: SourceBase, tick: datetime) -> bool:
    """Is `tick` the source's first due tick in its `metrics_every` window? Looked up
    in the schedule minute by minute back to the window's start (one step for a source
    due every minute; none when the source's own period is at least the window)."""
    window = int(config.metrics_every_of(source).total_seconds() // 60)
    if source.every is not None and source.every.total_seconds() // 60 >= window:
        return True  # two of its ticks never share a window
    tick = tick.replace(second=0, microsecond=0)
    into = int(tick.timestamp() // 60) % window  # minutes since the window began
    earlier = (tick - timedelta(minutes=back) for back in range(1, into + 1))
    return not any(is_due(source, minute, config.tz) for minute in earlier)


def wanted_metrics(
    config: Config, sources: Iterable[SourceBase], tick: datetime
) -> dict[str, tuple[str, ...]]:
    """Each source's metrics to write at this tick: its choice (`metrics`), and none
    when an earlier tick of the same `metrics_every` window wrote them."""
    wanted = {}
    for source in sources:
        names = config.metrics_of(source)
        wanted[source.id] = names if names and first_in_window(config, source, tick) else ()
    return wanted


def series_for(
    tick: datetime,
    samples: Iterable[Sample],
    wanted: Mapping[str, Sequence[str]],
) -> list[tuple[str, str | None, float | int]]:
    """(metric, source label, value) triples for a tick, heartbeat included; `wanted`
    gives the metrics each source writes at this tick (`wanted_metrics`)."""
    rows: list[tuple[str, str | None, float | int]] = []
    count = 0
    for sample in samples:
        count += 1
        for metric in wanted.get(sample.source_id, DEFAULT_METRICS):
            point = POINTS[metric](sample)
            if point is not None:
                rows.append((metric, sample.source_id, point))
    rows.append(("ticks", None, count))
    return rows


class MetricWriter:
    """Writes a tick's points; lazily imports the client so the CLI pays only when used."""

    def __init__(self, project: str, client: Any | None = None):
        self.project = project
        self._client = client
        self.calls = 0

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = _client()
        return self._client

    def _time_series(
        self, tick: datetime, metric: str, source: str | None, value: float | int
    ) -> Any:
        from google.cloud import monitoring_v3

        series = monitoring_v3.TimeSeries()
        series.metric.type = PREFIX + metric
        if source is not None:
            series.metric.labels["source"] = source
        series.resource.type = "global"
        series.resource.labels["project_id"] = self.project
        point = monitoring_v3.Point()
        point.interval.end_time = tick
        if isinstance(value, int):
            point.value.int64_value = value
        else:
            point.value.double_value = value
        series.points = [point]
        return series

    def write(
        self, tick: datetime, samples: list[Sample], wanted: Mapping[str, Sequence[str]]
    ) -> None:
        rows = series_for(tick, samples, wanted)
        self._send(tick, [self._time_series(tick, *row) for row in rows])

    def heartbeat(self, tick: datetime, metric: str, value: int) -> None:
        """One point of a heartbeat with no source label (`renders`): the watchdog
        alerts on its absence, so it is written only once the work is done."""
        self._send(tick, [self._time_series(tick, metric, None, value)])

    def _send(self, tick: datetime, series: list[Any]) -> None:
        for start in range(0, len(series), MAX_SERIES_PER_CALL):
            batch = series[start : start + MAX_SERIES_PER_CALL]
            try:
                self.calls += 1
                self.client.create_time_series(
                    name=f"projects/{self.project}", time_series=batch, timeout=20
                )
            except Exception as exc:  # noqa: BLE001 - best effort by design, see module doc
                refused = _refused_as_not_newer(exc)
                if refused is not None:
                    logs.info(
                        "metric points already written for this tick (redelivery)",
                        tick=tick.isoformat(),
                        refused=refused.total_point_count - refused.success_point_count,
                        written=refused.success_point_count,
                    )
                else:
                    logs.error(
                        "writing metrics failed",
                        tick=tick.isoformat(),
                        detail=redact(str(exc))[:500],  # redacted before it is cut
                    )


def _refused_as_not_newer(exc: Exception) -> Any | None:
    """The CreateTimeSeriesSummary of a partial write whose refused points were all
    refused as invalid, or None.

    Monitoring answers a point that is not newer than its series' last one (a
    redelivered tick) with INVALID_ARGUMENT, writes the request's other points, and
    says how many of each failed in a CreateTimeSeriesSummary in the status details,
    one error per status code. A request that is wrong as a whole, or any other status
    (permissions, quota, unavailable), carries no such summary and is a real error.
    """
    from google.api_core import exceptions
    from google.cloud.monitoring_v3.types import CreateTimeSeriesSummary
    from google.rpc import code_pb2

    if not isinstance(exc, exceptions.InvalidArgument):
        return None
    summary_type = CreateTimeSeriesSummary.pb()
    for detail in exc.details or []:
        if hasattr(detail, "Is") and detail.Is(summary_type.DESCRIPTOR):
            summary = summary_type()
            detail.Unpack(summary)
            if summary.errors and all(
                error.status.code == code_pb2.INVALID_ARGUMENT for error in summary.errors
            ):
                return summary
    return None
