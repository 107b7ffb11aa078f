"""`tally local` as a user runs it: a child process in its own session, its output read
line by line, its parts found by the pids it prints."""

from __future__ import annotations

import contextlib
import os
import queue
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tally.local.supervisor import port_free

ROOT = Path(__file__).resolve().parents[2]
PART_LINE = re.compile(r"^([\w-]+)\s+(\S+)\s+.*\(pid (\d+)\)$")


def free_port_block(count: int = 7) -> int:
    """A base port whose `count` consecutive ports are all free on 127.0.0.1."""
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20000, 40000)
        if all(port_free(base + offset) for offset in range(count)):
            return base
    raise RuntimeError("no block of free ports found")


def process_groups() -> dict[int, list[int]]:
    """pgid -> pids of every process on the machine (from /proc)."""
    groups: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] == "Z":  # a zombie is already gone, only not yet reaped
            continue
        groups.setdefault(int(fields[2]), []).append(int(entry))
    return groups


class StackRun:
    """`tally local ARGS` in its own session; stdout and stderr collected as they come."""

    def __init__(self, *args: str, env: dict[str, str] | None = None):
        self.argv = [sys.executable, "-m", "tally.cli", "local", *args]
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._lines: queue.Queue[str] = queue.Queue()
        self.process = subprocess.Popen(
            self.argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            cwd=ROOT,
            env={
                **os.environ,
                "PYTHONPATH": str(ROOT / "functions"),
                "PYTHONUNBUFFERED": "1",
                **(env or {}),
            },
            start_new_session=True,
        )
        for stream, sink in (
            (self.process.stdout, self.stdout),
            (self.process.stderr, self.stderr),
        ):
            threading.Thread(target=self._pump, args=(stream, sink), daemon=True).start()

    def _pump(self, stream, sink: list[str]) -> None:  # type: ignore[no-untyped-def]
        for line in stream:
            sink.append(line.rstrip("\n"))
            self._lines.put(line)

    @property
    def output(self) -> str:
        return "\n".join(self.stdout) + "\n--- stderr ---\n" + "\n".join(self.stderr)

    def wait_for(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        """Until condition() holds; fails naming `what` (and the output) on exit or timeout."""
        deadline = time.monotonic() + timeout
        while not condition():
            if self.process.poll() is not None and not condition():
                time.sleep(0.2)  # the pumps may still hold the last lines
                if condition():
                    return
                pytest.fail(
                    f"tally local exited ({self.process.returncode}) before {what}:\n{self.output}"
                )
            if time.monotonic() > deadline:
                pytest.fail(f"no {what} after {timeout:g} s:\n{self.output}")
            with contextlib.suppress(queue.Empty):
                self._lines.get(timeout=0.5)

    def lines(self, prefix: str) -> list[str]:
        return [line for line in self.stdout if line.startswith(prefix)]

    def parts(self) -> dict[str, tuple[str, int]]:
        """name -> (address, pid) from the lines announcing each part."""
        found = {}
        for line in self.stdout:
            match = PART_LINE.match(line)
            if match:
                found[match.group(1)] = (match.group(2), int(match.group(3)))
        return found

    def interrupt(self) -> None:
        """What Ctrl-C does: SIGINT to `tally local` (its parts are in sessions of their own)."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGINT)

    def wait(self, timeout: float = 60) -> int:
        return self.process.wait(timeout=timeout)

    def kill_everything(self) -> None:
        """Cleanup after a failed test: the stack's own group and every part it announced."""
        groups = [self.process.pid] + [pid for _, pid in self.parts().values()]
        for pgid in groups:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)


@pytest.fixture
def stack_run() -> Iterator[Callable[..., StackRun]]:
    runs: list[StackRun] = []

    def start(*args: str, env: dict[str, str] | None = None) -> StackRun:
        run = StackRun(*args, env=env)
        runs.append(run)
        return run

    yield start
    for run in runs:
        if run.process.poll() is None:
            run.interrupt()
            with contextlib.suppress(subprocess.TimeoutExpired):
                run.wait(60)
        run.kill_everything()
