"""Publishing shard messages: the Pub/Sub REST API, as small as that is.

google-cloud-pubsub is not among tally's dependencies (its gRPC client would double the
collect function's cold start for one call a tick); `topics/{t}:publish` is one JSON
POST. Deployed, it goes to pubsub.googleapis.com with the instance's default
credentials (google-auth); with PUBSUB_EMULATOR_HOST set (`tally local`, the tests) to
the emulator, without credentials, as every Google client library does.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from typing import Any, Protocol

import requests

API = "https://pubsub.googleapis.com/v1"
SCOPE = "https://www.googleapis.com/auth/pubsub"
PER_REQUEST = 100  # messages per publish request (Pub/Sub takes up to 1,000 and 10 MB)
TIMEOUT_SECONDS = 20


class PublishError(RuntimeError):
    """Pub/Sub refused or could not be reached: the event is retried by the platform."""


@dataclass(frozen=True)
class OutMessage:
    data: bytes
    attributes: dict[str, str] = field(default_factory=dict)


class MessagePublisher(Protocol):
    """What a fan-out publishes its shards through: RestPublisher, or a test's or a
    benchmark's stand-in that counts the messages."""

    def publish(self, messages: list[OutMessage]) -> None: ...


class RestPublisher:
    """Publishes to one topic (`projects/{project}/topics/{name}`)."""

    def __init__(self, topic: str, emulator_host: str | None = None):
        if not topic.startswith("projects/") or "/topics/" not in topic:
            raise ValueError(f"a topic is projects/PROJECT/topics/NAME, not {topic!r}")
        self.topic = topic
        self.emulator_host = emulator_host
        self._session: Any = None

    def _post(self, body: dict[str, Any]) -> requests.Response:
        if self.emulator_host:
            url = f"http://{self.emulator_host}/v1/{self.topic}:publish"
            return requests.post(url, json=body, timeout=TIMEOUT_SECONDS)
        if self._session is None:
            import google.auth
            from google.auth.transport.requests import AuthorizedSession

            credentials, _ = google.auth.default(scopes=[SCOPE])
            self._session = AuthorizedSession(credentials)
        return self._session.post(f"{API}/{self.topic}:publish", json=body, timeout=TIMEOUT_SECONDS)

    def publish(self, messages: list[OutMessage]) -> None:
        """Publish every message (in requests of PER_REQUEST); raises PublishError."""
        for start in range(0, len(messages), PER_REQUEST):
            body = {
                "messages": [
                    {"data": base64.b64encode(m.data).decode(), "attributes": m.attributes}
                    for m in messages[start : start + PER_REQUEST]
                ]
            }
            try:
                response = self._post(body)
            except requests.RequestException as exc:
                raise PublishError(f"publishing to {self.topic} failed: {exc}") from None
            if response.status_code != 200:
                raise PublishError(
                    f"publishing to {self.topic} failed: HTTP {response.status_code}: "
                    f"{response.text[:300]}"
                )


def publisher_from_environment(variable: str) -> RestPublisher | None:
    """The publisher to the topic the variable names, or None when it is unset (then
    nothing fans out: `tally collect`, `tally render`, the tests that want one run)."""
    topic = os.environ.get(variable, "").strip()
    if not topic:
        return None
    return RestPublisher(topic, os.environ.get("PUBSUB_EMULATOR_HOST") or None)
