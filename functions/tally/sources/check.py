"""`http` check: is the service up, does it answer what it should, and how fast.

A check that fails is still a measurement (down, with the reason), so `value` is the
response time whenever a response arrived: a slow 500 is worth seeing on the chart.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

from pydantic import Field, field_validator

from tally.deadlines import MAX_SOURCE_TIMEOUT
from tally.sample import Reading
from tally.sources.failure import FetchError
from tally.sources.http import fetch_source, http_reason
from tally.sources.kind import Kind
from tally.sources.model import UrlSource, compiled_regex, shown
from tally.sources.readers import read_body


class CheckSource(UrlSource):
    """A health check: is it up, how fast, does the body say what it should."""

    kind: Literal["http"]
    method: Literal["GET", "HEAD", "POST"] = "GET"
    expect_status: list[int] = Field(default_factory=lambda: list(range(200, 300)))
    expect_body: str | None = None
    expect_regex: str | None = None
    # a response slower than the longest timeout never arrives at all
    max_response_ms: float | None = Field(
        default=None, gt=0, le=MAX_SOURCE_TIMEOUT.total_seconds() * 1000, allow_inf_nan=False
    )

    @field_validator("expect_status", mode="before")
    @classmethod
    def _statuses(cls, value: Any) -> list[int]:
        items = value if isinstance(value, list) else [value]
        for code in items:
            if isinstance(code, bool) or not isinstance(code, int) or not 100 <= code <= 599:
                raise ValueError(f"{shown(code)} is not an HTTP status code")
        return items

    _regex = field_validator("expect_regex")(compiled_regex)


class Check(Kind):
    name = "http"
    model = CheckSource
    is_check = True
    metrics = ("value", "up", "latency_ms")
    down_after = 1  # a check exists to say "down" the first time
    unit = "ms"  # its value is the response time

    def fetch(self, source: CheckSource, headers: dict[str, str]) -> Reading:
        response = fetch_source(source, headers, method=source.method, allow_status=True)
        problem = None
        if response.status not in source.expect_status:
            problem = f"unexpected {http_reason(response.status)}"
        elif source.expect_body is not None or source.expect_regex is not None:
            problem = read_body(  # tally/reading/expectations.py, in a reader process
                "check",
                response,
                expect_body=source.expect_body,
                expect_regex=source.expect_regex,
            )
        degraded = (
            problem is None
            and source.max_response_ms is not None
            and response.latency_ms > source.max_response_ms
        )
        if degraded:  # still up: the reason is kept so the page can say why it is amber
            problem_or_note = f"slow: {response.latency_ms:g} ms > {source.max_response_ms:g} ms"
        else:
            problem_or_note = problem
        return Reading(
            value=response.latency_ms,
            latency_ms=response.latency_ms,
            status=response.status,
            up=0 if problem else 1,
            ok=problem is None,
            degraded=degraded,
            error=problem_or_note,
        )

    def reads_body(self, source: CheckSource) -> bool:
        """Only to compare it with what the check expects."""
        return source.expect_body is not None or source.expect_regex is not None

    def failed(self, failure: FetchError) -> Reading:
        """No answer at all: down."""
        return replace(super().failed(failure), up=0)

    def imported(self, value: float | None, ok: bool) -> dict[str, Any]:
        """An imported row's value is the response time, and ok means up."""
        return {"latency_ms": value, "up": 1 if ok else 0}


KIND = Check()
