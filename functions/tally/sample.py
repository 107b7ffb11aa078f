"""What one source gave at one tick: a value, or a failure with its reason."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from tally.secrets import redact

# A reason is read by a person (page, `tally collect`, alert messages) and stored with
# every failed sample: a few hundred characters say why; more would only fill the
# group-hour document towards Firestore's 1 MiB limit (25 sources × 60 per-minute
# failures an hour). Firestore counts bytes, so the bytes are bounded too (300 kana
# would be 900): tests/core/test_group_document.py builds the worst document.
MAX_REASON_CHARS = 300
MAX_REASON_BYTES = 400  # UTF-8


def short_reason(text: str | None) -> str | None:
    """A reason redacted, then cut to MAX_REASON_CHARS characters and MAX_REASON_BYTES
    bytes with an ellipsis when it was longer (in that order: a cut secret is no longer
    one the redactor knows)."""
    if text is None:
        return None
    text = redact(text)
    if len(text) <= MAX_REASON_CHARS and len(text.encode()) <= MAX_REASON_BYTES:
        return text
    cut = text[: MAX_REASON_CHARS - 1].encode()[: MAX_REASON_BYTES - len("…".encode())]
    return cut.decode(errors="ignore") + "…"


def finite(value: float | None) -> bool:
    """A value tally can store and every strict JSON reader can read back."""
    return value is None or math.isfinite(value)


def format_value(value: float) -> str:
    """A value as a person reads it: 1980000, not 1.98e+06; 0.1, not 0.1000000001."""
    return f"{value:.12g}" if abs(value) < 1e15 else f"{value:.6g}"


@dataclass(frozen=True)
class Sample:
    """One observation. `ok=False` is a failed sample: `error` says why, `value` may be None.

    For `http` checks `ok` means up, `value` is the response time in ms and `degraded`
    says the response was slower than `max_response_ms`.
    """

    source_id: str
    tick: datetime
    ok: bool
    value: float | None = None
    error: str | None = None
    latency_ms: float | None = None
    status: int | None = None
    up: int | None = None
    degraded: bool = False
    # the entries read at this tick (kinds that list entries): alerting tells the new
    # ones; never stored with the sample (alerts/entries.py keeps them)
    entries: tuple[dict[str, Any], ...] | None = field(default=None, compare=False, repr=False)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("entries", None)
        data["tick"] = self.tick.isoformat().replace("+00:00", "Z")
        return data


@dataclass(frozen=True)
class Reading:
    """What a source kind's `fetch` returns; the collector adds the source id and tick."""

    value: float | None
    latency_ms: float | None = None
    status: int | None = None
    up: int | None = None
    degraded: bool = False
    ok: bool = True
    error: str | None = None
    entries: tuple[dict[str, Any], ...] | None = None  # see Sample.entries
