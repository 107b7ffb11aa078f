"""The local stack's wiring: buckets, the config object, topics and push subscriptions,
and the stack's own clients of the emulators.

Cloud Storage goes through google-cloud-storage (what the render function uses too),
pointed at fake-gcs-server by its `api_endpoint`. Pub/Sub goes through the emulator's
REST API (pubsub.py): google-cloud-pubsub is not among tally's dependencies, and a
topic, a push subscription and a publish are three small JSON calls. Every client is
built here from the ports, explicitly: the stack never changes its own environment.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from tally.config_object import object_name
from tally.local.ports import Ports
from tally.local.pubsub import PubSub

PROJECT = "demo-tally"
BUCKET = "tally-site"
FUNCTIONS_BUCKET = "tally-functions"  # private: the config object, as deployed


def config_object_url(config_text: str) -> str:
    """Where the functions read the config: its gs:// address, named by its hash."""
    return f"gs://{FUNCTIONS_BUCKET}/{object_name(config_text)}"


class Wiring:
    """The stack's connections to its emulators, and the steps that wire them."""

    def __init__(self, ports: Ports):
        self.ports = ports
        self.pubsub = PubSub(ports.pubsub_host, PROJECT)
        self._storage: Any = None

    @property
    def storage(self) -> Any:
        """A google-cloud-storage client on fake-gcs-server (made at first use)."""
        if self._storage is None:
            from google.auth.credentials import AnonymousCredentials
            from google.cloud import storage

            self._storage = storage.Client(
                project=PROJECT,
                credentials=AnonymousCredentials(),
                client_options={"api_endpoint": self.ports.storage_url},
            )
        return self._storage

    def create_bucket(self, name: str = BUCKET) -> None:
        self.storage.create_bucket(name, timeout=10)

    def upload_config(self, config_text: str) -> str:
        """The config object the functions read, as Terraform uploads it; its address."""
        self.create_bucket(FUNCTIONS_BUCKET)
        blob = self.storage.bucket(FUNCTIONS_BUCKET).blob(object_name(config_text))
        blob.upload_from_string(
            config_text.encode("utf-8"), content_type="text/yaml; charset=utf-8", timeout=10
        )
        return config_object_url(config_text)

    def page_exists(self) -> bool:
        """Has a render put index.html into the site bucket yet?"""
        try:
            return bool(self.storage.bucket(BUCKET).blob("index.html").exists(timeout=2))
        except Exception:  # noqa: BLE001 - not there yet, whatever the reason: ask again
            return False

    def create_topics(self, *topics: str) -> None:
        for topic in topics:
            self.pubsub.create_topic(topic)

    def push(self, topic: str, port: int) -> None:
        """A push subscription delivering `topic` to the function on `port`, as Eventarc
        does for a Cloud Function (2nd gen)."""
        self.pubsub.create_push_subscription(
            f"{topic}-push",
            topic,
            f"http://127.0.0.1:{port}/projects/{PROJECT}/topics/{topic}",
        )

    def firestore(self) -> Any:
        """A Firestore client on the emulator, for the stack's own reads and writes."""
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import firestore

        # The client library takes an emulator's address from FIRESTORE_EMULATOR_HOST
        # only, read once, in its constructor: it is set for that call alone.
        with _variable("FIRESTORE_EMULATOR_HOST", self.ports.firestore_host):
            return firestore.Client(project=PROJECT, credentials=AnonymousCredentials())


@contextlib.contextmanager
def _variable(name: str, value: str) -> Iterator[None]:
    previous = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if previous is None:
            del os.environ[name]
        else:
            os.environ[name] = previous
