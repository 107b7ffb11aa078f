"""An emulator whose port another process took between `free_port` and its bind (another
suite, or `tally local`, on the same machine) is started again on another port, and the
other process is never taken for it, even one that answers the readiness check."""

from __future__ import annotations

import pytest

from tests.support import processes
from tests.support.loopback import Loopback, QuietHandler
from tests.support.pubsub import PubSubEmulator


class Impostor(QuietHandler):
    """Answers what the readiness check asks, as an emulator would."""

    def do_GET(self) -> None:
        self.send_body(b"Ok", "text/plain")


def test_an_emulator_whose_port_was_taken_starts_on_another(monkeypatch: pytest.MonkeyPatch):
    impostor = Loopback(Impostor)
    taken = impostor.server.server_address[1]
    ports = iter([taken])
    real = processes.free_port
    monkeypatch.setattr(processes, "free_port", lambda: next(ports, None) or real())
    try:
        emulator = PubSubEmulator()
    finally:
        impostor.stop()
    try:
        assert emulator.port != taken
        emulator.api.create_topic("ports")  # the emulator's own API answers on its port
    finally:
        emulator.stop()


def test_a_server_whose_wait_fails_is_stopped_not_left_running():
    """Before, only a server that exited or timed out was stopped: one whose readiness
    check raised anything else (a garbled answer) was left running after the tests."""
    import sys

    server = processes.Server("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"])

    def garbled() -> bool:
        raise ValueError("not an answer")

    with pytest.raises(ValueError):
        server.wait_until(garbled, timeout=10)
    assert server.part.exited() is not None
