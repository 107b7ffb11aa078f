"""A body as text, decoded as a browser would: the Content-Type's charset, a byte-order
mark, `<meta charset>` or `<meta http-equiv>` (or the XML declaration), then detection.
Beautiful Soup's UnicodeDammit does it, with charset_normalizer for the detection."""

from __future__ import annotations


def decoded(body: bytes, charset: str | None) -> str:
    """`body` as text; `charset` is what the Content-Type header declares, if anything."""
    return decoded_with(body, charset)[0]


def decoded_with(body: bytes, charset: str | None) -> tuple[str, str]:
    """`body` as text, and the charset it was read in (what `tally try` shows)."""
    from bs4.dammit import UnicodeDammit  # ~50 ms: imported where a body is read

    dammit = UnicodeDammit(
        body, known_definite_encodings=[charset] if charset else [], is_html=True
    )
    if dammit.unicode_markup is None:
        return body.decode("utf-8", errors="replace"), "utf-8 (undecodable bytes replaced)"
    return dammit.unicode_markup, str(dammit.original_encoding or "utf-8")
