"""`json`: a number inside a JSON API response, picked by JMESPath."""

from __future__ import annotations

import json

import jmespath

from tally.config import JsonSource
from tally.numbers import NotANumber, parse_number
from tally.sample import Reading
from tally.sources.http import FetchError, fetch_url


def to_number(found: object, what: str, decimal: str) -> float:
    """A JSON scalar as a float: numbers as they are, strings as people write them."""
    if isinstance(found, bool):
        return 1.0 if found else 0.0
    if isinstance(found, (int, float)):
        return float(found)
    if isinstance(found, str):
        try:
            return parse_number(found, decimal)
        except NotANumber as exc:
            raise FetchError(f"{what}: {exc}") from None
    kind = type(found).__name__ if found is not None else "null"
    raise FetchError(f"{what} is a {kind}, not a number")


def fetch(source: JsonSource, headers: dict[str, str]) -> Reading:
    response = fetch_url(
        source.url,
        headers={"Accept": "application/json", **headers},
        timeout=source.timeout.total_seconds(),
    )
    try:
        document = json.loads(response.body)
    except ValueError as exc:
        raise FetchError(f"response is not JSON: {exc}", status=response.status) from None
    found = jmespath.search(source.query, document)
    if found is None:
        raise FetchError(f"JMESPath {source.query!r} matched nothing", status=response.status)
    value = to_number(found, f"JMESPath {source.query!r}", source.decimal)
    return Reading(value=value, latency_ms=response.latency_ms, status=response.status)
