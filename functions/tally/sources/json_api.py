"""`json`: a number inside a JSON API response, picked by JMESPath (the body is read by
`tally/reading/json_text.py` in a reader process)."""

from __future__ import annotations

from typing import Literal

import jmespath
from pydantic import field_validator

from tally.sample import Reading
from tally.sources.http import fetch_source
from tally.sources.kind import Kind
from tally.sources.model import UrlSource
from tally.sources.readers import read_body


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


class Json(Kind):
    name = "json"
    model = JsonSource
    explore = ("query", "@", "document")

    def fetch(self, source: JsonSource, headers: dict[str, str]) -> Reading:
        response = fetch_source(source, headers, accept="application/json")
        # tally/reading/json_text.py, in a reader process
        value = read_body("json_query", response, query=source.query, decimal=source.decimal)
        return Reading(value=value, latency_ms=response.latency_ms, status=response.status)


KIND = Json()
