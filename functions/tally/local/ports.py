"""The local stack's loopback ports: one base (`--port-base`), a fixed offset per part.

base + 0   Firestore emulator
     + 1   Pub/Sub emulator
     + 2   fake-gcs-server: the site bucket, and the page served from it
     + 3   functions-framework, main.collect
     + 4   functions-framework, main.render
     + 5   demo upstream (only without --config)
     + 6   notification sink

With `--workers N` (N > 1), +3 and +4 are the functions' balancers, and each function's
N instances listen on ports the system has free (`ephemeral`).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

HOST = "127.0.0.1"


def ephemeral() -> int:
    """A port the system has free now on 127.0.0.1 (for a part no one is told of)."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Ports:
    base: int

    @property
    def firestore(self) -> int:
        return self.base

    @property
    def pubsub(self) -> int:
        return self.base + 1

    @property
    def storage(self) -> int:
        return self.base + 2

    @property
    def collect(self) -> int:
        return self.base + 3

    @property
    def render(self) -> int:
        return self.base + 4

    @property
    def demo(self) -> int:
        return self.base + 5

    @property
    def sink(self) -> int:
        return self.base + 6

    @property
    def firestore_host(self) -> str:
        return f"{HOST}:{self.firestore}"

    @property
    def pubsub_host(self) -> str:
        return f"{HOST}:{self.pubsub}"

    @property
    def storage_url(self) -> str:
        return f"http://{HOST}:{self.storage}"

    def named(self, with_demo: bool) -> dict[str, int]:
        """Every port the stack will listen on, by the part that uses it."""
        names = {
            "firestore": self.firestore,
            "pubsub": self.pubsub,
            "storage": self.storage,
            "collect": self.collect,
            "render": self.render,
            "sink": self.sink,
        }
        if with_demo:
            names["demo"] = self.demo
        return names
