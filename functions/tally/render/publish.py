"""Publishing: where the site goes (a folder or the GCS bucket), and only what changed.

A folder is `tally render --out DIR`; the bucket is the public site. Only objects
whose bytes changed are written. Every upload is a Class A operation
(5k a month free, see docs/deploy.md, "What it costs"), so the renderer keeps the md5 of what
it uploaded in its state document instead of asking the bucket (a list is Class A
too). A folder is simply compared with what is on disk.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path
from typing import Protocol

from tally.object_names import checked

CACHE_CONTROL = "public, max-age=60"  # a new value shows within a couple of minutes

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}


def content_type(name: str) -> str:
    return CONTENT_TYPES.get(Path(name).suffix, "application/octet-stream")


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


class Sink:
    """Write `data` under `name` unless it is known to be there already."""

    def unchanged(self, name: str, digest: str, known: dict[str, str]) -> bool:
        return known.get(name) == digest

    def write(self, name: str, data: bytes) -> None:
        raise NotImplementedError

    def delete(self, name: str) -> None:
        """Remove an object (a source left the config); one that is gone already is fine."""
        raise NotImplementedError


class FolderSink(Sink):
    def __init__(self, root: Path):
        self.root = Path(root)

    def unchanged(self, name: str, digest: str, known: dict[str, str]) -> bool:
        path = self.root / name
        return path.is_file() and md5(path.read_bytes()) == digest

    def write(self, name: str, data: bytes) -> None:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial")
        partial.write_bytes(data)
        os.replace(partial, path)  # a reader never sees half a file

    def delete(self, name: str) -> None:
        (self.root / name).unlink(missing_ok=True)


class BucketSink(Sink):
    """The site bucket; the client honours STORAGE_EMULATOR_HOST (fake-gcs-server)."""

    def __init__(self, bucket_name: str, client=None, timeout: float = 30.0):  # type: ignore[no-untyped-def]
        from google.cloud import storage

        self.client = client or storage.Client()
        self.bucket = self.client.bucket(bucket_name)
        self.timeout = timeout
        self._retry = storage.retry.DEFAULT_RETRY  # the same bytes again: safe to retry

    def write(self, name: str, data: bytes) -> None:
        blob = self.bucket.blob(name)
        blob.cache_control = CACHE_CONTROL
        blob.upload_from_string(
            data, content_type=content_type(name), timeout=self.timeout, retry=self._retry
        )

    def delete(self, name: str) -> None:
        from google.api_core.exceptions import NotFound

        with contextlib.suppress(NotFound):  # deletes are free operations in Cloud Storage
            self.bucket.blob(name).delete(timeout=self.timeout, retry=self._retry)


class UploadLog(Protocol):
    """Where a Publisher notes what it wrote and what it left (a RenderResult)."""

    uploaded: list[str]
    unchanged: list[str]


class Publisher:
    """Write objects to a sink unless the same bytes are there already; remember the md5
    of each, so the next render can tell without asking the bucket."""

    def __init__(self, sink: Sink, known: dict[str, str], log: UploadLog):
        self.sink = sink
        self.known = known  # name -> md5 of what the last render uploaded
        self.log = log
        self.written: dict[str, str] = {}  # name -> md5 of what this one put

    def put(self, name: str, data: bytes) -> None:
        """IllegalObjectName for a name Cloud Storage (or the folder) cannot hold."""
        checked(name)
        digest = md5(data)
        if self.sink.unchanged(name, digest, self.known):
            self.log.unchanged.append(name)
        else:
            self.sink.write(name, data)
            self.log.uploaded.append(name)
        self.written[name] = digest


def bucket_from_env() -> BucketSink:
    name = os.environ.get("TALLY_SITE_BUCKET")
    if not name:
        raise RuntimeError("TALLY_SITE_BUCKET is not set (or pass --out DIR)")
    return BucketSink(name)
