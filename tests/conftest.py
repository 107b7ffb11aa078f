"""Shared fixtures: the network guard (every test stays on loopback), the official
Firestore emulator for the whole session, data cleared between tests, and a Store on it."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.emulators import PROJECT, FirestoreEmulator
from tests.support.network_guard import NetworkGuard


@pytest.fixture(scope="session", autouse=True)
def _network_guard_installed() -> Iterator[NetworkGuard]:
    guard = NetworkGuard()
    guard.install()
    yield guard
    guard.uninstall()


@pytest.fixture(autouse=True)
def network_guard(_network_guard_installed: NetworkGuard) -> Iterator[NetworkGuard]:
    """Fails the test if anything tried to reach a non-loopback address (refused before
    connecting: see tests/support/network_guard.py)."""
    guard = _network_guard_installed
    already = len(guard.attempts)
    yield guard
    refused = guard.attempts[already:]
    if refused:
        pytest.fail("non-loopback network access attempted: " + "; ".join(refused))


@pytest.fixture(scope="session")
def firestore_emulator() -> Iterator[FirestoreEmulator]:
    emulator = FirestoreEmulator()
    previous = {
        key: os.environ.get(key) for key in ("FIRESTORE_EMULATOR_HOST", "GOOGLE_CLOUD_PROJECT")
    }
    os.environ["FIRESTORE_EMULATOR_HOST"] = emulator.host
    os.environ["GOOGLE_CLOUD_PROJECT"] = PROJECT
    yield emulator
    emulator.stop()
    for key, value in previous.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def firestore(firestore_emulator: FirestoreEmulator) -> FirestoreEmulator:
    """The emulator, emptied before the test."""
    firestore_emulator.clear()
    return firestore_emulator


@pytest.fixture
def store(firestore: FirestoreEmulator):  # type: ignore[no-untyped-def]
    from google.cloud import firestore as gcf
    from tally.store import Store

    return Store(gcf.Client(project=PROJECT), timeout=20)
