"""Structured log lines that Cloud Logging understands: one JSON object per line with
`severity` and `message` (plus `source` and other fields as labels of the entry).

Everything passes through the secret redactor before it is written, so no code path
can log a token by accident.
"""

from __future__ import annotations

import json
import sys
import threading
from datetime import UTC, datetime
from typing import Any, TextIO

from tally.secrets import redact

_lock = threading.Lock()
_stream: TextIO | None = None  # None means sys.stderr at the time of writing
_RANK = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40}
_min_rank = 0


def set_stream(stream: TextIO | None) -> None:
    """Send log lines elsewhere (tests, quiet CLI runs); None restores stderr."""
    global _stream
    _stream = stream


def set_min_severity(severity: str) -> None:
    """The CLI prints its own lines; it shows log lines only from this severity up."""
    global _min_rank
    _min_rank = _RANK[severity]


def log(severity: str, message: str, **fields: Any) -> None:
    if _RANK.get(severity, 40) < _min_rank:
        return
    entry = {
        "severity": severity,
        "message": message,
        "time": datetime.now(UTC).isoformat(),
        **{key: value for key, value in fields.items() if value is not None},
    }
    line = redact(json.dumps(entry, ensure_ascii=False, default=str))
    with _lock:
        stream = _stream or sys.stderr
        stream.write(line + "\n")
        stream.flush()


def info(message: str, **fields: Any) -> None:
    log("INFO", message, **fields)


def warning(message: str, **fields: Any) -> None:
    log("WARNING", message, **fields)


def error(message: str, **fields: Any) -> None:
    log("ERROR", message, **fields)
