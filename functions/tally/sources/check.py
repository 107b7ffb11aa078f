"""`http` check: is the service up, does it answer what it should, and how fast.

A check that fails is still a measurement (down, with the reason), so `value` is the
response time whenever a response arrived: a slow 500 is worth seeing on the chart.
"""

from __future__ import annotations

import re

from tally.config import CheckSource
from tally.sample import Reading
from tally.sources.http import fetch_url, http_reason


def fetch(source: CheckSource, headers: dict[str, str]) -> Reading:
    response = fetch_url(
        source.url,
        headers=headers,
        method=source.method,
        timeout=source.timeout.total_seconds(),
        allow_status=True,
        secret_headers=source.secret_header_names(),
    )
    problem = None
    if response.status not in source.expect_status:
        problem = f"unexpected {http_reason(response.status)}"
    elif source.expect_body is not None and source.expect_body not in response.text():
        problem = f"body does not contain {source.expect_body!r}"
    elif source.expect_regex is not None and not re.search(source.expect_regex, response.text()):
        problem = f"body does not match {source.expect_regex!r}"
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
