"""A small Cloud Monitoring MetricService in the test process (there is no emulator).

It speaks the real gRPC protocol, so the real `MetricServiceClient` talks to it over
`MetricServiceGrpcTransport(channel=grpc.insecure_channel(...))`. Like the real
service it writes the points it can and refuses a point that is not newer than its
series' last one, with the real answer: INVALID_ARGUMENT, the refused series named,
and a CreateTimeSeriesSummary in the error details.
"""

from __future__ import annotations

import threading
from concurrent import futures

import grpc
from google.cloud.monitoring_v3.types import CreateTimeSeriesRequest, CreateTimeSeriesSummary
from google.protobuf import any_pb2, empty_pb2
from google.rpc import code_pb2, status_pb2
from grpc_status import rpc_status

SERVICE = "google.monitoring.v3.MetricService"


class FakeMetricService:
    def __init__(self) -> None:
        self.requests: list[CreateTimeSeriesRequest] = []
        self.rejected = 0
        self.fail_with: tuple[grpc.StatusCode, str] | None = None  # the next call fails
        self._last: dict[tuple, object] = {}
        self._lock = threading.Lock()
        handler = grpc.method_handlers_generic_handler(
            SERVICE,
            {
                "CreateTimeSeries": grpc.unary_unary_rpc_method_handler(
                    self._create,
                    request_deserializer=CreateTimeSeriesRequest.deserialize,
                    response_serializer=empty_pb2.Empty.SerializeToString,
                ),
            },
        )
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        self.server.add_generic_rpc_handlers((handler,))
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.endpoint = f"127.0.0.1:{self.port}"
        self.server.start()

    def _create(self, request: CreateTimeSeriesRequest, context: grpc.ServicerContext):
        with self._lock:
            self.requests.append(request)
            if self.fail_with is not None:
                (code, message), self.fail_with = self.fail_with, None
                context.abort(code, message)
            refused = []
            for index, series in enumerate(request.time_series):
                key = (series.metric.type, tuple(sorted(series.metric.labels.items())))
                end = series.points[0].interval.end_time
                last = self._last.get(key)
                if last is not None and end <= last:
                    refused.append(index)
                    continue
                self._last[key] = end
            if refused:
                self.rejected += len(refused)
                context.abort_with_status(_partial_failure(request, refused))
        return empty_pb2.Empty()

    def points(self) -> list[tuple[str, dict[str, str], float]]:
        """(metric type, labels, value) of every series received."""
        rows = []
        for request in self.requests:
            for series in request.time_series:
                point = series.points[0]
                which = point.value._pb.WhichOneof("value")
                rows.append(
                    (series.metric.type, dict(series.metric.labels), getattr(point.value, which))
                )
        return rows

    def stop(self) -> None:
        self.server.stop(grace=None)


def _partial_failure(request: CreateTimeSeriesRequest, refused: list[int]) -> grpc.Status:
    """What Cloud Monitoring answers when some points are not newer than their series'
    last one: INVALID_ARGUMENT naming the refused series, the other points written,
    and a CreateTimeSeriesSummary in the status details (one Error per status code)."""
    names = ", ".join(
        f"timeSeries[{index}] ({request.time_series[index].metric.type})" for index in refused
    )
    summary = CreateTimeSeriesSummary.pb()(
        total_point_count=len(request.time_series),
        success_point_count=len(request.time_series) - len(refused),
        errors=[
            CreateTimeSeriesSummary.Error.pb()(
                status=status_pb2.Status(code=code_pb2.INVALID_ARGUMENT),
                point_count=len(refused),
            )
        ],
    )
    detail = any_pb2.Any()
    detail.Pack(summary)
    status = status_pb2.Status(
        code=code_pb2.INVALID_ARGUMENT,
        message=f"One or more TimeSeries could not be written: {names}: write for resource="
        f"global failed with: Points must be written in order. One or more of the points "
        f"specified had an older start time than the most recent point.",
        details=[detail],
    )
    return rpc_status.to_status(status)
