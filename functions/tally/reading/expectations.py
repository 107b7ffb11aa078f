"""Whether an `http` check's body says what it should (`expect_body`, `expect_regex`).

The body is decoded as a page is (`reading/text.py`); a substring test and an RE2
search are both linear in the text.
"""

from __future__ import annotations

from typing import Any

from tally.reading import patterns
from tally.reading.text import decoded_with


def body_problem(
    body: bytes,
    charset: str | None,
    *,
    expect_body: str | None,
    expect_regex: str | None,
    notes: dict[str, Any] | None = None,
) -> str | None:
    """Why the body is not what the check expects, or None when it is (with `notes`,
    `tally try`: the charset it was read in)."""
    text, used = decoded_with(body, charset)
    if notes is not None:
        notes["charset"] = used
    if expect_body is not None and expect_body not in text:
        return f"body does not contain {expect_body!r}"
    if expect_regex is not None and not patterns.search(expect_regex, text):
        return f"body does not match {expect_regex!r}"
    if notes is not None:
        found = [f"contains {expect_body!r}"] if expect_body is not None else []
        found += [f"matches {expect_regex!r}"] if expect_regex is not None else []
        notes["matched"] = "the body " + " and ".join(found)
    return None
