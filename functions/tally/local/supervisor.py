"""Start the parts of the local stack, know when each is ready, and stop every one of them.

Each part runs in its own session (so its own process group): Ctrl-C in the terminal
reaches only `tally local`, which then stops the parts in order, and stopping a part
signals its whole group, so what it spawned goes too (gcloud starts a Java child,
gunicorn a worker). After the leader has exited the group is killed once more, so a
child that ignored SIGTERM is not left behind.

Readiness is polled, never slept: a part is ready when its own check passes, and a
part that exits while starting fails at once, with the last lines of its log.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

POLL_SECONDS = 0.2


class PartFailed(RuntimeError):
    """A part that did not start, or stopped on its own; the message says which and why."""

    def __init__(self, part: Part, reason: str):
        self.part = part
        self.reason = reason
        tail = part.log_tail()
        text = f"{part.name} {reason}"
        if tail:
            text += f"\n--- last lines of {part.log_path} ---\n{tail}"
        else:  # killed before it wrote a line: still say where its log is
            text += f" (its log, {part.log_path}, is empty)"
        super().__init__(text)


class PortInUse(RuntimeError):
    def __init__(self, name: str, port: int):
        self.name = name
        self.port = port
        super().__init__(
            f"port {port} (for {name}) is already in use on 127.0.0.1: stop what is using it, "
            f"or choose other ports with --port-base"
        )


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when we could listen on the port (nothing else is bound to it)."""
    with socket.socket() as sock:
        # SO_REUSEADDR: a port left in TIME_WAIT by the last run is free; a listener is not.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    with socket.socket() as sock:  # something listening on all interfaces binds differently
        sock.settimeout(0.3)
        return sock.connect_ex((host, port)) != 0


def check_ports(ports: dict[str, int]) -> None:
    """Raise PortInUse for the first port that is taken."""
    for name, port in ports.items():
        if not port_free(port):
            raise PortInUse(name, port)


def http_answers(url: str, expect_ok: bool = False) -> Callable[[], bool]:
    """A readiness check: the URL answers HTTP (any status, or 2xx with expect_ok)."""

    def check() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
                return 200 <= response.status < 300 or not expect_ok
        except urllib.error.HTTPError as exc:
            return not expect_ok and exc.code < 600
        except (OSError, ValueError, http.client.HTTPException):
            # a server still starting may accept the connection and answer garbage
            # (an emulator echoing the request line): not ready yet, poll again
            return False

    return check


class Part:
    """One child process of the stack, with its log file, in its own process group."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        *,
        address: str,
        ready: Callable[[], bool],
        log_dir: Path,
        env: dict[str, str] | None = None,
        cwd: str | Path | None = None,
        description: str = "",
        ready_timeout: float = 60.0,
    ):
        self.name = name
        self.argv = argv
        self.address = address
        self.ready = ready
        self.env = env
        self.cwd = cwd
        self.description = description
        self.ready_timeout = ready_timeout
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            try:
                self.process = subprocess.Popen(
                    self.argv,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env={**os.environ, **(self.env or {})},
                    cwd=self.cwd,
                    start_new_session=True,
                )
            except FileNotFoundError:
                raise PartFailed(self, f"could not start: {self.argv[0]} not found") from None

    def exited(self) -> int | None:
        """The exit code if the process has ended, else None."""
        return None if self.process is None else self.process.poll()

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.rstrip().splitlines()[-lines:])

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the process group, wait, then SIGKILL whatever of the group is left."""
        if self.process is None:
            return
        pgid = self.process.pid
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pgid, signal.SIGKILL)
                self.process.wait(timeout=timeout)
        # The leader is gone; children that outlived it (or ignored SIGTERM) are not.
        _kill_group(pgid, timeout)


def _kill_group(pgid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    signalled = signal.SIGTERM
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, signalled)
        except ProcessLookupError:
            return
        except PermissionError:  # the id was reused by someone else's group: not ours
            return
        time.sleep(0.1)
        signalled = signal.SIGKILL


class Supervisor:
    """The parts started so far, in order; stops them in reverse order."""

    def __init__(self, log_dir: Path, say: Callable[[str], None] = print):
        self.log_dir = log_dir
        self.parts: list[Part] = []
        self.say = say

    def start(self, *parts: Part) -> None:
        for part in parts:
            self.parts.append(part)
            part.start()

    def wait_ready(self, *parts: Part) -> None:
        """Poll every given part until each is ready; raise PartFailed for the first that
        exits or runs out of time. Parts are announced as they become ready."""
        pending = list(parts)
        started = time.monotonic()
        while pending:
            self.check()
            for part in list(pending):
                if part.ready():
                    pending.remove(part)
                    self.announce(part)
                elif time.monotonic() - started > part.ready_timeout:
                    raise PartFailed(part, f"was not ready after {part.ready_timeout:g} s")
            if pending:
                time.sleep(POLL_SECONDS)

    def announce(self, part: Part) -> None:
        self.say(f"{part.name:<10} {part.address:<32} {part.description} (pid {part.pid})")

    def check(self) -> None:
        """Raise PartFailed if any started part has exited."""
        for part in self.parts:
            code = part.exited()
            if code is not None:
                raise PartFailed(part, f"exited unexpectedly (exit code {code})")

    def stop_all(self) -> None:
        for part in reversed(self.parts):
            part.stop()
