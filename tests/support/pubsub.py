"""The official Pub/Sub emulator (gcloud), started on a free loopback port, and a topic
with a pull subscription: what a function publishes is pulled back as the CloudEvents
the functions framework would hand to it, for a test to deliver as it chooses
(duplicated, reordered, one left out)."""

from __future__ import annotations

import base64
import uuid
from typing import Any

from cloudevents.http import CloudEvent
from tally.fanout.pubsub import RestPublisher
from tally.local.pubsub import PubSub

from tests.support.emulators import PROJECT, gcloud_env
from tests.support.processes import Server, on_a_free_port


class PubSubEmulator:
    def __init__(self) -> None:
        self.server = on_a_free_port(self._start)
        self.api = PubSub(self.host, PROJECT)

    def _start(self, port: int) -> Server:
        self.port = port
        self.host = f"127.0.0.1:{port}"
        server = Server(
            "pubsub",
            [
                *("gcloud", "beta", "emulators", "pubsub", "start"),
                *(f"--host-port={self.host}", f"--project={PROJECT}"),
            ],
            env=gcloud_env(),
        )
        self.server = server
        server.wait_until(self._ready, timeout=120)
        return server

    def _ready(self) -> bool:
        import urllib.request

        if not self.server.logged(f"listening on {self.port}"):
            return False
        with urllib.request.urlopen(f"http://{self.host}/", timeout=2) as response:
            return response.status == 200

    def topic(self) -> Topic:
        """A new topic with a pull subscription of its own."""
        return Topic(self, f"t-{uuid.uuid4().hex[:12]}")

    def stop(self) -> None:
        self.server.stop()


class Topic:
    def __init__(self, emulator: PubSubEmulator, name: str):
        self.api = emulator.api
        self.name = name
        self.path = self.api.topic_path(name)
        self.api.create_topic(name)
        self.api.create_pull_subscription(f"{name}-pull", name)
        self.publisher = RestPublisher(self.path, emulator.host)

    def pull(self) -> list[CloudEvent]:
        """Every message published so far (acknowledged), as CloudEvents, in the order
        the emulator returns them."""
        events: list[CloudEvent] = []
        while True:
            received = self.api.pull(f"{self.name}-pull", 100)
            if not received:
                return events
            self.api.acknowledge(f"{self.name}-pull", [item["ackId"] for item in received])
            events.extend(_event(self.path, item["message"]) for item in received)


def _event(topic: str, message: dict[str, Any]) -> CloudEvent:
    message = {**message, "data": message.get("data") or base64.b64encode(b"").decode()}
    return CloudEvent(
        {
            "type": "google.cloud.pubsub.topic.v1.messagePublished",
            "source": f"//pubsub.googleapis.com/{topic}",
            "id": message.get("messageId", uuid.uuid4().hex),
        },
        {"message": message, "subscription": f"{topic}-pull"},
    )
