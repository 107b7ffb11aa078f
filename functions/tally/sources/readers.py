"""Reader processes: where every body is read (parsed, searched, decoded), so that no
body can hold the collector past its source's deadline or take its memory.

A fetch runs on a thread of the collector; what the body says is worked out by one
of a few reader processes (`tally/reading/process.py`), each limited by the kernel to
READER_MEMORY_MIB above what it needs to start. The thread hands the body over and
waits until the fetch's deadline; past it the reader is killed (a parse holds the
interpreter of its own process, which no thread could stop) and the source's sample
says it timed out. A reader that ran out of memory or died is replaced by a new one
on the next body. At most READERS bodies are read at once, the smallest waiting
first (`Turns`); a body waiting for a reader waits on its own deadline.

Why processes and not limits inside the collector: html.parser (under Beautiful
Soup) has slow paths no tree builder sees (a 12 KB page of unclosed `<a ` tags takes
it seconds, quadratically more for more; one 2 MB tag of attributes costs it 500 MB
inside a single regular expression call), and a thread that runs them cannot be
stopped. docs/benchmarks.md ("Hostile bodies") has the measurements.
"""

from __future__ import annotations

import atexit
import contextlib
import contextvars
import heapq
import itertools
import json
import os
import select
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import tally
from tally import secrets
from tally.sources.failure import FetchError

READERS = int(os.environ.get("TALLY_READERS", "2"))
# What one body may cost a reader, on top of the ~25 MB the process starts with; with
# the body itself held by the collector meanwhile, one body adds at most 64 MiB.
READER_MEMORY_MIB = 48
REQUEST = struct.Struct(">II")
REPLY = struct.Struct(">I")
_PACKAGE_ROOT = str(Path(tally.__file__).resolve().parent.parent)


class _Expired(Exception):
    """The deadline passed while a reader had the body."""


class _Stopped(Exception):
    """The reader process went away (killed by the system, or it crashed)."""


def reader_command() -> list[str]:
    """How a reader process is started: this interpreter, tally's reading loop."""
    return [sys.executable, "-m", "tally.reading.process", str(READER_MEMORY_MIB)]


class Reader:
    """One reader process and the two ends of its pipes."""

    def __init__(self, command: list[str]) -> None:
        path = os.environ.get("PYTHONPATH")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [_PACKAGE_ROOT, path]))}
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self._requests = self.process.stdin.fileno()
        self._replies = self.process.stdout.fileno()
        os.set_blocking(self._requests, False)

    def ask(self, request: list[bytes], deadline: float) -> dict[str, Any]:
        """Send one request (its parts, the body last: not copied into one) and wait
        for its reply until `deadline` (time.monotonic)."""
        for part in request:
            self._send(part, deadline)
        (size,) = REPLY.unpack(self._receive(REPLY.size, deadline))
        return json.loads(self._receive(size, deadline))

    def _send(self, data: bytes, deadline: float) -> None:
        view = memoryview(data)
        while view:
            if not _ready(self._requests, select.POLLOUT, deadline):
                raise _Expired()
            try:
                sent = os.write(self._requests, view[:65536])
            except BlockingIOError:
                continue
            except OSError as exc:  # EPIPE: the process is gone
                raise _Stopped(self._stopped_reason()) from exc
            view = view[sent:]

    def _receive(self, size: int, deadline: float) -> bytes:
        chunks: list[bytes] = []
        while size:
            if not _ready(self._replies, select.POLLIN, deadline):
                raise _Expired()
            chunk = os.read(self._replies, size)
            if not chunk:
                raise _Stopped(self._stopped_reason())
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    def _stopped_reason(self) -> str:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=1)
        code = self.process.returncode
        if code is not None and code < 0:
            return f"killed by signal {-code}"
        return f"exit code {code}"

    def kill(self) -> None:
        """Stop the process at once (it may be deep in a parse) and reap it."""
        with contextlib.suppress(OSError):
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        for pipe in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):
                if pipe is not None:
                    pipe.close()


def _left(deadline: float) -> float:
    return max(deadline - time.monotonic(), 0.0)


def _ready(fd: int, event: int, deadline: float) -> bool:
    """Whether `fd` can be read or written (`event`), or has closed, before `deadline`
    (poll, not select: a busy process may hold file descriptors past 1,024)."""
    poller = select.poll()
    poller.register(fd, event)
    return bool(poller.poll(_left(deadline) * 1000))


class Turns:
    """Whose body is read next: the smallest waiting, so that a page of a few
    kilobytes is not kept behind 5 MiB ones (a hostile upstream sends the largest body
    it may); each waits no longer than its own deadline."""

    def __init__(self, size: int):
        self._free = size
        self._waiting: list[list[Any]] = []  # a heap of [body size, arrival, event]
        self._arrivals = itertools.count()
        self._lock = threading.Lock()

    def take(self, size: int, deadline: float) -> bool:
        """Wait for a turn until `deadline`; False if it passed first."""
        with self._lock:
            if self._free:
                self._free -= 1
                return True
            entry = [size, next(self._arrivals), threading.Event()]
            heapq.heappush(self._waiting, entry)
        entry[2].wait(timeout=_left(deadline))
        with self._lock:
            if entry[2].is_set():  # given, perhaps just as the deadline passed
                return True
            self._waiting.remove(entry)
            heapq.heapify(self._waiting)
            return False

    def give_back(self) -> None:
        """Hand the turn to the smallest body waiting, if any."""
        with self._lock:
            if self._waiting:
                heapq.heappop(self._waiting)[2].set()
            else:
                self._free += 1


class ReaderPool:
    """At most `size` reader processes, started when first needed, kept between ticks
    (`command` starts one: tests pass a stand-in for a parse that never ends)."""

    def __init__(self, size: int, command: list[str] | None = None):
        self._command = command or reader_command()
        self._size = size
        self._turns = Turns(size)
        self._idle: list[Reader] = []
        self._all: set[Reader] = set()
        self._lock = threading.Lock()

    def read(
        self,
        job: str,
        body: bytes,
        *,
        charset: str | None,
        args: dict[str, Any],
        deadline: float,
        timeout: float,
        notes: dict[str, Any] | None = None,
        hint: str = "",
    ) -> Any:
        """What reader `job` makes of `body` (its result), by `deadline`. Raises
        FetchError with the reader's reason, or saying the deadline passed. With
        `notes` (`tally try`), the reader's notes of what it read are added to it."""
        request_header = {"job": job, "charset": charset, "args": args, "secrets": secrets.known()}
        if notes is not None:
            request_header["explain"] = hint
        header = json.dumps(request_header).encode()
        request = [REQUEST.pack(len(header), len(body)) + header, body]
        if not self._turns.take(len(body), deadline):
            raise FetchError(
                f"timed out after {timeout:g}s (waiting for a reader: other responses "
                "were being read)",
                permanent=False,
            )
        try:
            reply = self._ask(request, deadline, timeout)
        finally:
            self._turns.give_back()
        if notes is not None:
            notes.update(reply.get("notes") or {})
        if not reply.get("ok"):
            raise FetchError(str(reply.get("reason")))
        return reply.get("result")

    def _ask(self, request: list[bytes], deadline: float, timeout: float) -> dict[str, Any]:
        reader = self._take()
        try:
            reply = reader.ask(request, deadline)
        except _Expired:
            self._drop(reader)
            raise FetchError(
                f"timed out after {timeout:g}s (reading the response)", permanent=False
            ) from None
        except _Stopped as exc:
            self._drop(reader)
            raise FetchError(f"the reader stopped while reading the response ({exc})") from None
        except BaseException:
            self._drop(reader)
            raise
        if reply.get("restart"):
            self._drop(reader)
        else:
            with self._lock:
                self._idle.append(reader)
        return reply

    def warm(self) -> None:
        """Start the readers now (not on the first body), so that they load their
        parsers while the fetches are out: a cold start costs no source its time."""
        with self._lock:
            alive = [reader for reader in self._all if reader.process.poll() is None]
            missing = self._size - len(alive)
        for _ in range(max(missing, 0)):
            try:
                reader = Reader(self._command)
            except OSError:
                return  # the first body says why, as a failure of its source
            with self._lock:
                self._all.add(reader)
                self._idle.append(reader)

    def _take(self) -> Reader:
        with self._lock:
            while self._idle:
                reader = self._idle.pop()
                if reader.process.poll() is None:
                    return reader
                self._all.discard(reader)
        try:
            reader = Reader(self._command)
        except OSError as exc:
            raise FetchError(f"could not start a reader process: {exc}") from None
        with self._lock:
            self._all.add(reader)
        return reader

    def _drop(self, reader: Reader) -> None:
        reader.kill()
        with self._lock:
            self._all.discard(reader)

    def processes(self) -> list[subprocess.Popen[bytes]]:
        """The reader processes alive now (for tests and the benchmark)."""
        with self._lock:
            return [reader.process for reader in self._all if reader.process.poll() is None]

    def close(self) -> None:
        """Stop every reader (at exit; a reader also stops when its input closes)."""
        with self._lock:
            readers, self._all, self._idle = list(self._all), set(), []
        for reader in readers:
            reader.kill()


POOL = ReaderPool(READERS)
atexit.register(POOL.close)


# `tally try` sets this (`explaining`): each body read in its context is also explained
_EXPLAINED: contextvars.ContextVar[Explained | None] = contextvars.ContextVar(
    "explained", default=None
)


class Explained:
    """What the bodies read under `explaining()` said beside their result: per body,
    the response (status, size, declared charset) and the reader's notes."""

    def __init__(self, hint: str):
        self.hint = hint  # the source's id: its words help rank the candidates
        self.bodies: list[dict[str, Any]] = []


@contextlib.contextmanager
def explaining(hint: str = "") -> Any:
    """Read bodies as a tick does, and keep what each reader saw (`tally try`)."""
    explained = Explained(hint)
    token = _EXPLAINED.set(explained)
    try:
        yield explained
    finally:
        _EXPLAINED.reset(token)


def read_body(job: str, response: Any, **args: Any) -> Any:
    """What reader `job` makes of a fetched `response` (sources/http.Response), within
    the fetch's own deadline; a failure carries the response's status and latency."""
    explained = _EXPLAINED.get()
    notes: dict[str, Any] | None = None
    if explained is not None:
        notes = {}
        explained.bodies.append(
            {
                "url": response.url,
                "status": response.status,
                "bytes": len(response.body),
                "declared_charset": response.charset,
                "content_type": next(
                    (v for k, v in response.headers.items() if k.lower() == "content-type"), None
                ),
                "notes": notes,
            }
        )
    try:
        return POOL.read(
            job,
            response.body,
            charset=response.charset,
            args=args,
            deadline=response.deadline,
            timeout=response.timeout,
            notes=notes,
            hint=explained.hint if explained is not None else "",
        )
    except FetchError as exc:
        exc.status = response.status if exc.status is None else exc.status
        exc.latency_ms = response.latency_ms if exc.latency_ms is None else exc.latency_ms
        raise
