"""Start a server we own on loopback, wait until it answers, and stop only it.

The tests use the local stack's own supervision (`tally.local.supervisor`): each
server runs in its own process group, so stopping it also stops what it spawned
(gcloud starts a Java child), and nothing else on the machine is touched.
"""

from __future__ import annotations

import http.client
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from tally.local.ports import ephemeral
from tally.local.supervisor import Part, PartFailed, Supervisor

T = TypeVar("T")
PORT_ATTEMPTS = 3


def free_port() -> int:
    """A port free now on 127.0.0.1: the local stack's own `ephemeral`."""
    return ephemeral()


def on_a_free_port(start: Callable[[int], T]) -> T:
    """`start(port)` on a free port, and on another if the server could not have it: a
    port free when asked can be taken before the server binds it (another suite or
    `tally local` on the same machine), and the server then exits (PartFailed)."""
    for attempt in range(PORT_ATTEMPTS):
        try:
            return start(free_port())
        except PartFailed:
            if attempt == PORT_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


class Server:
    """One child process with its own log file, started at once, stopped by group."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        env: dict[str, str] | None = None,
        cwd: str | Path | None = None,
    ):
        self.name = name
        log_dir = Path(tempfile.mkdtemp(prefix=f"tally-{name}-"))
        self._supervisor = Supervisor(log_dir, say=lambda _line: None)
        self.part = Part(
            name, argv, address=name, ready=lambda: False, log_dir=log_dir, env=env, cwd=cwd
        )
        self._supervisor.start(self.part)

    def wait_until(self, ready: Callable[[], bool], timeout: float = 90.0) -> None:
        """Poll `ready` (an OSError or a garbled answer counts as not yet); stop the
        server if it never is, or if waiting fails in any other way: an emulator left
        running (a JVM) would outlive the test run."""

        def check() -> bool:
            if self.logged("Address already in use"):  # a JVM lives on after its bind failed
                raise PartFailed(self.part, "could not listen: its port was taken")
            try:
                return ready()
            except (OSError, http.client.HTTPException):  # not listening, or not ours yet
                return False

        self.part.ready, self.part.ready_timeout = check, timeout
        try:
            self._supervisor.wait_ready(self.part)
        except BaseException:
            self.stop()
            raise

    def logged(self, text: str) -> bool:
        """Whether the server's own log has `text`: a line it writes once it listens, so
        that another process answering on the same port is never taken for it."""
        try:
            return text in self.part.log_path.read_text(errors="replace")
        except OSError:
            return False

    def stop(self) -> None:
        self._supervisor.stop_all()


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0
