"""Fixtures of the core tests: a local upstream, a MetricService, configs, CloudEvents."""

from __future__ import annotations

import base64
import io
import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from cloudevents.http import CloudEvent
from tally import logs

from tests.support.hostile import Hostile
from tests.support.monitoring import FakeMetricService
from tests.support.upstream import Upstream


@pytest.fixture(scope="session")
def upstream() -> Iterator[Upstream]:
    server = Upstream()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def hostile() -> Iterator[Hostile]:
    """Loopback servers that drip, stall, loop and redirect where they should not."""
    server = Hostile()
    yield server
    server.stop()


@pytest.fixture
def metric_service(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeMetricService]:
    service = FakeMetricService()
    monkeypatch.setenv("TALLY_MONITORING_ENDPOINT", service.endpoint)
    yield service
    service.stop()


@pytest.fixture
def log_lines() -> Iterator[Callable[[], list[dict]]]:
    """Every structured log line written during the test, parsed."""
    buffer = io.StringIO()
    logs.set_stream(buffer)
    logs.set_min_severity("DEBUG")
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    logs.set_stream(None)


@pytest.fixture
def write_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[dict], Path]:
    """Write a tally.yaml and point TALLY_CONFIG at it."""

    def write(data: dict) -> Path:
        path = tmp_path / "tally.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        monkeypatch.setenv("TALLY_CONFIG", str(path))
        monkeypatch.delenv("TALLY_CONFIG_YAML", raising=False)
        return path

    return write


def pubsub_event(
    publish_time: datetime,
    data: object = b"",
    *,
    attributes: dict[str, str] | None = None,
    message_id: str | None = None,
) -> CloudEvent:
    """The CloudEvent the functions framework hands to a Pub/Sub-triggered function."""
    payload = data if isinstance(data, bytes) else json.dumps(data).encode()
    stamp = publish_time.astimezone(UTC).isoformat().replace("+00:00", "Z")
    message_id = message_id or str(uuid.uuid4().int)[:16]
    message = {
        "data": base64.b64encode(payload).decode(),
        "messageId": message_id,
        "publishTime": stamp,
    }
    if attributes:
        message["attributes"] = attributes
    return CloudEvent(
        {
            "type": "google.cloud.pubsub.topic.v1.messagePublished",
            "source": "//pubsub.googleapis.com/projects/demo-tally/topics/tally-collect",
            "id": message_id,
            "time": stamp,
        },
        {"message": message, "subscription": "projects/demo-tally/subscriptions/tally-collect"},
    )


def recent_tick(minutes_ago: int = 1) -> datetime:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    return now - timedelta(minutes=minutes_ago)
