"""`json`: a number inside a JSON API response, picked by JMESPath, or a list of
entries in it (`entries:`; the value is their number). The body is read by
`tally/reading/json_text.py` (or `entries.py`) in a reader process."""

from __future__ import annotations

from typing import Literal

import jmespath
from pydantic import field_validator, model_validator

from tally.sample import Reading
from tally.sources.http import fetch_source
from tally.sources.kind import Kind
from tally.sources.listing import JsonEntries, listed_reading
from tally.sources.model import UrlSource
from tally.sources.readers import read_body


class JsonSource(UrlSource):
    """A number inside a JSON document, picked by a JMESPath expression, or its entries."""

    kind: Literal["json"]
    query: str | None = None
    entries: JsonEntries | None = None

    @field_validator("query")
    @classmethod
    def _jmespath(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            jmespath.compile(value)
        except jmespath.exceptions.JMESPathError as exc:
            raise ValueError(f"not a valid JMESPath expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _one_way(self) -> JsonSource:
        if (self.query is None) == (self.entries is None):
            raise ValueError("set exactly one of 'query' or 'entries'")
        return self


class Json(Kind):
    name = "json"
    model = JsonSource
    explore = ("query", "@", "document")

    def fetch(self, source: JsonSource, headers: dict[str, str]) -> Reading:
        response = fetch_source(source, headers, accept="application/json")
        if source.entries is not None:  # tally/reading/entries.py, in a reader process
            found = read_body(
                "json_entries",
                response,
                url=response.url or source.url,
                **source.entries.model_dump(),
            )
            return listed_reading(found, response)
        # tally/reading/json_text.py, in a reader process
        value = read_body("json_query", response, query=source.query, decimal=source.decimal)
        return Reading(value=value, latency_ms=response.latency_ms, status=response.status)

    def lists_entries(self, source: JsonSource) -> bool:
        return source.entries is not None


KIND = Json()
