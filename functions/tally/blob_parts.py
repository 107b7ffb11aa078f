"""A value kept in Firestore as compressed JSON, cut into documents under 1 MiB.

Firestore refuses a document past 1 MiB, and what tally keeps together (a group's render
aggregates, a shard's samples with their entries) can, in the worst case, grow past it.
The value is JSON, zlib-compressed, cut into parts of PART_BYTES; every part carries the
blob's `gen` (a hash), so a reader that finds parts of two different writes knows the
value is not whole and reads nothing rather than something half-written.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from typing import Any

PART_BYTES = 1_000_000  # of blob a document holds: with its few fields, under 1 MiB


def cut(value: Any) -> tuple[str, list[bytes]]:
    """(gen, parts): the value's compressed JSON, cut into at most PART_BYTES each."""
    blob = zlib.compress(json.dumps(value, separators=(",", ":")).encode(), 6)
    chunks = [blob[at : at + PART_BYTES] for at in range(0, len(blob), PART_BYTES)] or [b""]
    return hashlib.sha256(blob).hexdigest()[:16], chunks


def joined(gen: str, parts: list[dict[str, Any] | None]) -> Any | None:
    """The value of parts read back (each a document with `gen` and `blob`), or None when
    one is missing or belongs to another write."""
    chunks = []
    for part in parts:
        if not part or part.get("gen") != gen or "blob" not in part:
            return None
        chunks.append(part["blob"])
    return json.loads(zlib.decompress(b"".join(chunks)))
