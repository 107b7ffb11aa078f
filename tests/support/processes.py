"""Start a server we own on loopback, wait until it answers, and stop only it.

The tests use the local stack's own supervision (`tally.local.supervisor`): each
server runs in its own process group, so stopping it also stops what it spawned
(gcloud starts a Java child), and nothing else on the machine is touched.
"""

from __future__ import annotations

import socket
import tempfile
from collections.abc import Callable
from pathlib import Path

from tally.local.supervisor import Part, PartFailed, Supervisor


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
        """Poll `ready` (an OSError counts as not yet); stop the server if it never is."""

        def check() -> bool:
            try:
                return ready()
            except OSError:
                return False

        self.part.ready, self.part.ready_timeout = check, timeout
        try:
            self._supervisor.wait_ready(self.part)
        except PartFailed:
            self.stop()
            raise

    def stop(self) -> None:
        self._supervisor.stop_all()


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0
