"""`json`: a number inside a JSON API response, picked by JMESPath."""

from __future__ import annotations

import json
import math
from typing import Any, Literal

import jmespath
from pydantic import field_validator

from tally.numbers import NotANumber, parse_number
from tally.sample import Reading
from tally.sources.failure import FetchError
from tally.sources.http import fetch_source
from tally.sources.kind import Kind
from tally.sources.model import UrlSource


class JsonSource(UrlSource):
    """A number inside a JSON document, picked by a JMESPath expression."""

    kind: Literal["json"]
    query: str

    @field_validator("query")
    @classmethod
    def _jmespath(cls, value: str) -> str:
        try:
            jmespath.compile(value)
        except jmespath.exceptions.JMESPathError as exc:
            raise ValueError(f"not a valid JMESPath expression: {exc}") from None
        return value


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
    too long to convert stay visible."""
    return json.loads(text, parse_constant=Constant, parse_int=_parse_int, strict=strict)


def to_number(found: object, what: str, decimal: str) -> float:
    """A JSON scalar as a finite float: numbers as they are, strings as people write them."""
    if isinstance(found, Constant):
        raise FetchError(f"{what} is {found}, not a number")
    if isinstance(found, HugeInteger):
        raise FetchError(f"{what} is an integer too large to store ({len(found)} digits)")
    if isinstance(found, bool):
        return 1.0 if found else 0.0
    if isinstance(found, int):
        try:
            return float(found)
        except OverflowError:
            raise FetchError(f"{what} is an integer too large to store (over 1.8e308)") from None
    if isinstance(found, float):
        if not math.isfinite(found):  # 1e400 in the text: beyond a float
            raise FetchError(f"{what} is too large to store (over 1.8e308)")
        return found
    if isinstance(found, str):
        try:
            return parse_number(found, decimal)
        except NotANumber as exc:
            raise FetchError(f"{what}: {exc}") from None
    kind = type(found).__name__ if found is not None else "null"
    raise FetchError(f"{what} is a {kind}, not a number")


class Json(Kind):
    name = "json"
    model = JsonSource

    def fetch(self, source: JsonSource, headers: dict[str, str]) -> Reading:
        response = fetch_source(source, headers, accept="application/json")
        try:
            document = load_json(response.body)
        except ValueError as exc:
            raise FetchError(f"response is not JSON: {exc}", status=response.status) from None
        found = jmespath.search(source.query, document)
        if found is None:
            raise FetchError(f"JMESPath {source.query!r} matched nothing", status=response.status)
        value = to_number(found, f"JMESPath {source.query!r}", source.decimal)
        return Reading(value=value, latency_ms=response.latency_ms, status=response.status)


KIND = Json()
