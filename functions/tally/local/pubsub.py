"""The Pub/Sub emulator through its REST API: all the local stack needs, no client library.

Push subscriptions are what Cloud Functions (2nd gen) uses under its Eventarc trigger:
the emulator POSTs `{"message": {...}, "subscription": ...}` to the endpoint and the
functions-framework turns that body into the CloudEvent the entry point receives.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from typing import Any

ACK_DEADLINE_SECONDS = 600  # a render may take a while; the push must not be redelivered meanwhile


class PubSubError(RuntimeError):
    pass


class PubSub:
    def __init__(self, host: str, project: str):
        self.base = f"http://{host}/v1/projects/{project}"
        self.project = project

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - the emulator, on loopback
            f"{self.base}/{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                text = response.read().decode() or "{}"
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:300]
            raise PubSubError(f"{method} {path}: HTTP {exc.code}: {detail}") from None
        return json.loads(text)

    def topic_path(self, topic: str) -> str:
        return f"projects/{self.project}/topics/{topic}"

    def create_topic(self, topic: str) -> None:
        self._call("PUT", f"topics/{topic}", {})

    def create_push_subscription(self, name: str, topic: str, endpoint: str) -> None:
        self._call(
            "PUT",
            f"subscriptions/{name}",
            {
                "topic": self.topic_path(topic),
                "pushConfig": {"pushEndpoint": endpoint},
                "ackDeadlineSeconds": ACK_DEADLINE_SECONDS,
            },
        )

    def create_pull_subscription(self, name: str, topic: str) -> None:
        self._call("PUT", f"subscriptions/{name}", {"topic": self.topic_path(topic)})

    def pull(self, subscription: str, most: int) -> list[dict[str, Any]]:
        """Messages waiting on a pull subscription (none: an empty list, at once)."""
        body = {"maxMessages": most, "returnImmediately": True}
        return list(
            self._call("POST", f"subscriptions/{subscription}:pull", body).get(
                "receivedMessages", []
            )
        )

    def acknowledge(self, subscription: str, ack_ids: list[str]) -> None:
        self._call("POST", f"subscriptions/{subscription}:acknowledge", {"ackIds": ack_ids})

    def publish(self, topic: str, data: bytes, attributes: dict[str, str] | None = None) -> str:
        message: dict[str, Any] = {"data": base64.b64encode(data).decode()}
        if attributes:
            message["attributes"] = attributes
        reply = self._call("POST", f"topics/{topic}:publish", {"messages": [message]})
        return reply["messageIds"][0]
