"""The site bucket (fake-gcs-server) for the render tests; the Firestore emulator
comes from tests/conftest.py."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from tally.render.state import Overview

from tests.support.firestore_clock import past_mark_overlap
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


@pytest.fixture(autouse=True)
def renders_start_past_the_overlap(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every render here reads its overview only once the emulator's clock has passed
    the change mark's overlap after the writes before it (tests/support/firestore_clock.py):
    the reads these tests count are those of renders that do not straddle a write, as
    renders minutes after a tick's writes are deployed, not chance's."""
    load = Overview.load.__func__  # type: ignore[attr-defined]

    def load_past_the_overlap(cls: type[Overview], store):  # type: ignore[no-untyped-def]
        past_mark_overlap(store.client)
        return load(cls, store)

    monkeypatch.setattr(Overview, "load", classmethod(load_past_the_overlap))


# The structured log lines of the render (tests/core/conftest.py).
from tests.core.conftest import log_lines  # noqa: E402, F401
