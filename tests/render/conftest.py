"""The site bucket (fake-gcs-server) for the render tests; the Firestore emulator
comes from tests/conftest.py."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from tests.support.gcs import FakeGcs

_names = itertools.count()


@pytest.fixture(scope="session")
def fake_gcs() -> Iterator[FakeGcs]:
    server = FakeGcs()
    yield server
    server.stop()


@pytest.fixture
def bucket(fake_gcs: FakeGcs, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh, empty bucket, named in TALLY_SITE_BUCKET as the function sees it."""
    name = f"site-{next(_names)}"
    fake_gcs.create_bucket(name)
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", fake_gcs.url)
    monkeypatch.setenv("TALLY_SITE_BUCKET", name)
    return name


# The structured log lines of the render (tests/core/conftest.py).
from tests.core.conftest import log_lines  # noqa: E402, F401
