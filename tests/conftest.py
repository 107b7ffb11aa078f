"""Shared fixtures: the network guard (every test stays on loopback), the official
Firestore emulator for the whole session, data cleared between tests, a Store on it,
and the functions' entry points building their dependencies afresh at every event."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.emulators import PROJECT, FirestoreEmulator
from tests.support.network_guard import NetworkGuard
from tests.support.pubsub import PubSubEmulator, Topic


@pytest.fixture(scope="session", autouse=True)
def _network_guard_installed() -> Iterator[NetworkGuard]:
    guard = NetworkGuard()
    guard.install()
    yield guard
    guard.uninstall()


@pytest.fixture(scope="session", autouse=True)
def _local_stacks_of_this_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """`tally local` says where it runs in a state folder the `tally` command reads
    (tally/local/state.py): the suite's own, so that a stack a developer (or another
    checkout's suite) runs is never found by a test, nor a test's stack by them."""
    previous = os.environ.get("TALLY_STATE_DIR")
    os.environ["TALLY_STATE_DIR"] = str(tmp_path_factory.mktemp("local-stacks"))
    yield
    if previous is None:
        os.environ.pop("TALLY_STATE_DIR", None)
    else:
        os.environ["TALLY_STATE_DIR"] = previous


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


@pytest.fixture(autouse=True)
def function_instances(monkeypatch: pytest.MonkeyPatch) -> None:
    """`main.collect` and `main.render` meet a new instance at every event: their
    dependencies are built from the environment as the test left it (a deployed instance
    builds them once: tests/core/test_entry_points.py). A test may replace
    `main.dependencies` with its own."""
    import main
    from tally import runtime

    monkeypatch.setattr(main, "dependencies", runtime.from_environment)


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


@pytest.fixture(scope="session")
def pubsub_emulator() -> Iterator[PubSubEmulator]:
    """The official Pub/Sub emulator, for the tests that pull what a function publishes."""
    emulator = PubSubEmulator()
    yield emulator
    emulator.stop()


@pytest.fixture
def shard_topic(pubsub_emulator: PubSubEmulator) -> Topic:
    """A topic of the test's own with a pull subscription (`.publisher`, `.pull()`)."""
    return pubsub_emulator.topic()
