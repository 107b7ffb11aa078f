"""JSON as tally reads it: the value a JMESPath query picks, a GitHub field, a list's
length, and a JSON scalar as a finite number.

C's `json` parses a 5 MiB body in tens of milliseconds; what it builds is bounded by
the reader process's memory (a body of a million empty objects is a failure saying
so), and its depth by the interpreter's recursion limit, which `nested_too_deep`
turns into a reason.
"""

from __future__ import annotations

import json
import math
from typing import Any

from tally.numbers import NotANumber, parse_number
from tally.reading import Unreadable


class Constant(str):
    """`NaN`, `Infinity` or `-Infinity` in a JSON text: Python reads them as floats,
    strict JSON has no such thing, and no chart or strict reader can take them."""


class HugeInteger(str):
    """An integer literal longer than Python converts (4,300 digits): far beyond a
    float anyway, kept as its digits so that the failure can say so."""


def _parse_int(digits: str) -> int | HugeInteger:
    return HugeInteger(digits) if len(digits.lstrip("-")) > 4300 else int(digits)


def load_json(text: str | bytes, *, strict: bool = True) -> Any:
    """JSON as Python reads it, except that the non-standard constants and integers
    too long to convert stay visible. ValueError if it is not JSON (or nests deeper
    than the interpreter's recursion limit: `json` raises RecursionError there)."""
    try:
        return json.loads(text, parse_constant=Constant, parse_int=_parse_int, strict=strict)
    except RecursionError:
        raise ValueError(
            "it nests too deeply (more arrays and objects inside each other than tally reads)"
        ) from None


def to_number(found: object, what: str, decimal: str) -> float:
    """A JSON scalar as a finite float: numbers as they are, strings as people write them."""
    if isinstance(found, Constant):
        raise Unreadable(f"{what} is {found}, not a number")
    if isinstance(found, HugeInteger):
        raise Unreadable(f"{what} is an integer too large to store ({len(found)} digits)")
    if isinstance(found, bool):
        return 1.0 if found else 0.0
    if isinstance(found, int):
        try:
            return float(found)
        except OverflowError:
            raise Unreadable(f"{what} is an integer too large to store (over 1.8e308)") from None
    if isinstance(found, float):
        if not math.isfinite(found):  # 1e400 in the text: beyond a float
            raise Unreadable(f"{what} is too large to store (over 1.8e308)")
        return found
    if isinstance(found, str):
        try:
            return parse_number(found, decimal)
        except NotANumber as exc:
            raise Unreadable(f"{what}: {exc}") from None
    kind = type(found).__name__ if found is not None else "null"
    raise Unreadable(f"{what} is a {kind}, not a number")


def query_value(
    body: bytes, query: str, decimal: str, notes: dict[str, Any] | None = None
) -> float:
    """The number JMESPath `query` picks in the JSON `body`. With `notes` (`tally
    try`): the encoding read, what the query matched and, when that is no number, the
    document's candidates."""
    import jmespath

    if notes is not None:
        notes["charset"] = json.detect_encoding(body)
    try:
        document = load_json(body)
    except ValueError as exc:
        raise Unreadable(f"response is not JSON: {exc}") from None
    found = jmespath.search(query, document)
    try:
        if found is None:
            raise Unreadable(f"JMESPath {query!r} matched nothing")
        if notes is not None:
            notes["matched"] = _shown(found)
        return to_number(found, f"JMESPath {query!r}", decimal)
    except Unreadable:
        if notes is not None:
            from tally.reading.candidates import hints, json_candidates, note_candidates

            words = hints(query, notes.get("hint"))
            note_candidates(
                notes,
                lambda: json_candidates(
                    document, found=found, words=words, decimal=decimal, to_number=to_number
                ),
            )
        raise


def _shown(found: Any) -> str:
    """What a query matched, as `tally try` shows it (a JSON piece, cut short)."""
    from tally.reading.candidates import preview

    try:
        text = json.dumps(found, ensure_ascii=False, default=str)
    except (ValueError, RecursionError):
        text = type(found).__name__
    return preview(text, 200)


def github_field(body: bytes, field: str) -> float:
    """A number field of a GitHub repository (`stargazers_count`, …)."""
    try:
        value = json.loads(body)[field]
    except (ValueError, KeyError, TypeError, RecursionError):
        raise Unreadable(f"GitHub response has no {field!r}") from None
    if not isinstance(value, (int, float)):
        raise Unreadable(f"GitHub {field!r} is not a number")
    return float(value)


def list_length(body: bytes) -> float:
    """How many items the JSON list `body` holds (GitHub's commits, one page)."""
    try:
        items = json.loads(body)
    except (ValueError, RecursionError):
        items = None
    if not isinstance(items, list):
        raise Unreadable("GitHub commits response is not a JSON list")
    return float(len(items))
