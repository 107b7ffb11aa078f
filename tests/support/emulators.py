"""The official Firestore emulator (gcloud), started on a free loopback port."""

from __future__ import annotations

import os
import tempfile
import urllib.request

from tests.support.processes import Server, on_a_free_port

PROJECT = "demo-tally"


def gcloud_env() -> dict[str, str]:
    # gcloud wants a writable config folder; never touch the user's own.
    config_dir = os.environ.get("CLOUDSDK_CONFIG") or tempfile.mkdtemp(prefix="gcloud-")
    return {"CLOUDSDK_CONFIG": config_dir, "CLOUDSDK_CORE_DISABLE_PROMPTS": "1"}


class FirestoreEmulator:
    def __init__(self) -> None:
        self.server = on_a_free_port(self._start)

    def _start(self, port: int) -> Server:
        self.port = port
        self.host = f"127.0.0.1:{port}"
        server = Server(
            "firestore",
            ["gcloud", "emulators", "firestore", "start", f"--host-port={self.host}"],
            env=gcloud_env(),
        )
        self.server = server
        server.wait_until(self._ready, timeout=120)
        return server

    def _ready(self) -> bool:
        if not self.server.logged("Dev App Server is now running"):
            return False
        with urllib.request.urlopen(f"http://{self.host}/", timeout=2) as response:
            return response.status == 200

    def clear(self, project: str = PROJECT) -> None:
        """Delete every document (the emulator's own reset endpoint)."""
        request = urllib.request.Request(
            f"http://{self.host}/emulator/v1/projects/{project}/databases/(default)/documents",
            method="DELETE",
        )
        urllib.request.urlopen(request, timeout=10).close()

    def stop(self) -> None:
        self.server.stop()
