"""The reader process: reads bodies for the collector, one at a time, inside a memory
limit, until its input closes. `python -m tally.reading.process MIB`.

The collector (`tally/sources/readers.py`) starts a few of these and hands each body
to an idle one with what to read from it. Here the kernel holds the memory a body may
cost to `MIB` mebibytes above what the process needs to start (RLIMIT_DATA: a parser
that tries for more gets a MemoryError), and the collector kills the process when the
source's deadline passes: no parser, however it behaves on a hostile body, outlives
its source's timeout or takes the instance's memory.

Frames, both ways: a request is `>II` (length of a JSON header, length of the body),
the header (`{"job": …, "charset": …, "args": {…}, "secrets": […]}`: the values the
collector redacts, so that this process redacts them too before it quotes a piece of
the page; `"explain"` from `tally try`), the body; a reply is `>I` and
a JSON object: `{"ok": true, "result": …}` or `{"ok": false, "reason": …}`, with
`"restart": true` when this process should not be trusted with another body, and
`"notes": {…}` (what was read, the candidates) when the request asked to explain.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import struct
import sys
import warnings
from collections.abc import Callable
from typing import Any, BinaryIO

from tally import secrets
from tally.reading import Unreadable, entries, expectations, feed, json_text, page

REQUEST = struct.Struct(">II")
REPLY = struct.Struct(">I")

# Each job: (body, declared charset, the source's fields, notes) -> result. `notes` is
# None on a tick; `tally try` passes a dict the job fills with what it read (reading
# nothing more, under the same limits).
Job = Callable[[bytes, str | None, dict[str, Any], dict[str, Any] | None], Any]
JOBS: dict[str, Job] = {
    "page": lambda body, charset, args, notes: page.page_value(body, charset, **args, notes=notes),
    "feed": lambda body, charset, args, notes: feed.entry_count(body, charset, notes),
    "json_query": lambda body, charset, args, notes: json_text.query_value(
        body, **args, notes=notes
    ),
    "json_field": lambda body, charset, args, notes: json_text.github_field(body, **args),
    "json_length": lambda body, charset, args, notes: json_text.list_length(body),
    "feed_entries": lambda body, charset, args, notes: entries.feed_entries(
        body, charset, **args, notes=notes
    ),
    "page_entries": lambda body, charset, args, notes: entries.page_entries(body, charset, **args),
    "json_entries": lambda body, charset, args, notes: entries.json_entries(body, **args),
    "github_entries": lambda body, charset, args, notes: entries.github_entries(body, **args),
    "check": lambda body, charset, args, notes: expectations.body_problem(
        body, charset, **args, notes=notes
    ),
}


def _warm() -> None:
    """Import what the jobs import on first use, so that the memory limit is measured
    from a process that has everything it needs."""
    import bs4.builder._htmlparser  # noqa: F401
    import jmespath  # noqa: F401
    import soupsieve  # noqa: F401

    from tally.reading import patterns

    patterns.compiled(r"\d")  # RE2 itself
    page.bounded_soup(b"<p>1</p>", None).select_one("p")


def _limit_memory(mebibytes: int) -> None:
    """Cap the data segment (heap and anonymous mappings: Linux counts every
    allocation of a parser there) at what it is now plus `mebibytes`, and the whole
    address space at what it is now plus a little more, in case a kernel counts only
    that."""
    try:
        import resource

        with open("/proc/self/status", encoding="ascii") as status:
            sizes = {
                key: int(value.split()[0]) * 1024
                for key, _, value in (line.partition(":") for line in status)
                if key in ("VmData", "VmSize")
            }
    except (ImportError, OSError, ValueError):
        return  # not Linux: the deadline still holds, the memory limit does not
    for limit, now, slack in (
        (resource.RLIMIT_DATA, sizes.get("VmData"), 0),
        (resource.RLIMIT_AS, sizes.get("VmSize"), 16 * 2**20),
    ):
        if now is None:
            continue
        _, hard = resource.getrlimit(limit)
        wanted = now + mebibytes * 2**20 + slack
        if hard != resource.RLIM_INFINITY:
            wanted = min(wanted, hard)
        resource.setrlimit(limit, (wanted, hard))


def _trim() -> None:
    """Give the memory of the last body back to the system (the tree Beautiful Soup
    builds is full of reference cycles: only the collector frees it)."""
    gc.collect()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _read_exactly(source: BinaryIO, size: int) -> bytes | None:
    data = source.read(size)
    if len(data) < size:
        return None  # the collector closed the pipe: time to go
    return data


def answer(
    job: str,
    body: bytes,
    charset: str | None,
    args: dict[str, Any],
    mib: int,
    explain: str | None = None,
) -> dict:
    """What one request gets back; with `explain` (`tally try`: the source's id, a
    hint for the candidates), the notes of what was read too, on failure as well."""
    notes: dict[str, Any] | None = None if explain is None else {"hint": explain}
    try:
        reply = {"ok": True, "result": JOBS[job](body, charset, args, notes)}
    except Unreadable as exc:
        reply = {"ok": False, "reason": exc.reason}
    except MemoryError:
        return {
            "ok": False,
            "reason": f"reading the response needs more than {mib} MiB of memory",
            "restart": True,
        }
    except RecursionError:
        reply = {"ok": False, "reason": "the response nests too deeply to read"}
    except Exception as exc:  # noqa: BLE001 - a bug here must be one source's failure
        reply = {"ok": False, "reason": f"internal error: {type(exc).__name__}: {exc}"}
    if notes is not None:
        notes.pop("hint", None)
        reply["notes"] = notes
    return reply


def serve(mib: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the collector to handle
    warnings.simplefilter("ignore")  # Beautiful Soup's warnings are about the page
    requests = sys.stdin.buffer
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print must not corrupt a reply
    _warm()
    _limit_memory(mib)
    while True:
        head = _read_exactly(requests, REQUEST.size)
        if head is None:
            return
        header_size, body_size = REQUEST.unpack(head)
        header = _read_exactly(requests, header_size)
        body = _read_exactly(requests, body_size)
        if header is None or body is None:
            return
        request = json.loads(header)
        for value in request.get("secrets", ()):  # redacted here before any cut, as there
            secrets.protect(value)
        reply = answer(
            request["job"],
            body,
            request.get("charset"),
            request["args"],
            mib,
            request.get("explain"),
        )
        data = json.dumps(reply).encode()
        replies.write(REPLY.pack(len(data)) + data)
        replies.flush()
        if reply.get("restart"):
            return
        del body
        _trim()  # after the reply: the collector does not wait for it


if __name__ == "__main__":
    serve(int(sys.argv[1]))
