"""A small Cloud Monitoring MetricService in the test process (there is no emulator).

It speaks the real gRPC protocol, so the real `MetricServiceClient` talks to it over
`MetricServiceGrpcTransport(channel=grpc.insecure_channel(...))`. Like the real
service it refuses a point that is not newer than its series' last point.
"""

from __future__ import annotations

import threading
from concurrent import futures

import grpc
from google.cloud.monitoring_v3.types import CreateTimeSeriesRequest
from google.protobuf import empty_pb2

SERVICE = "google.monitoring.v3.MetricService"


class FakeMetricService:
    def __init__(self) -> None:
        self.requests: list[CreateTimeSeriesRequest] = []
        self.rejected = 0
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
            refused = 0
            for series in request.time_series:
                key = (series.metric.type, tuple(sorted(series.metric.labels.items())))
                end = series.points[0].interval.end_time
                last = self._last.get(key)
                if last is not None and end <= last:
                    refused += 1
                    continue
                self._last[key] = end
            if refused:
                self.rejected += refused
                context.abort(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"One or more TimeSeries could not be written: Points must be written "
                    f"in order. One or more of the points specified had an older start "
                    f"time than the most recent point. ({refused} series)",
                )
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
