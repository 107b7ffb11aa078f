"""A body as text, decoded as a browser would: the Content-Type's charset, a byte-order
mark, `<meta charset>` or `<meta http-equiv>` (or the XML declaration), then detection.
Beautiful Soup's UnicodeDammit does it, with charset_normalizer for the detection."""

from __future__ import annotations


def decoded(body: bytes, charset: str | None) -> str:
    """`body` as text; `charset` is what the Content-Type header declares, if anything."""
    from bs4.dammit import UnicodeDammit  # ~50 ms: imported where a body is read

    dammit = UnicodeDammit(
        body, known_definite_encodings=[charset] if charset else [], is_html=True
    )
    if dammit.unicode_markup is None:
        return body.decode("utf-8", errors="replace")
    return dammit.unicode_markup
