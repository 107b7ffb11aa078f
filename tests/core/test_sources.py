"""Every source kind against real-shaped payloads, and every way a source fails."""

from __future__ import annotations

import pytest
from tally.config import parse_config
from tally.sources import read


def source_of(**fields):
    base = {"id": "s", "every": "1m", "timeout": "3s"}
    return parse_config({"sources": [{**base, **fields}]}).sources[0]


def test_json_value_by_jmespath(upstream):
    reading = read(source_of(kind="json", url=f"{upstream.url}/counter", query="data.count"))
    assert reading.ok and reading.value == 1234 and reading.status == 200
    assert reading.latency_ms is not None and reading.latency_ms >= 0


def test_json_string_values_are_parsed_as_written(upstream):
    reading = read(source_of(kind="json", url=f"{upstream.url}/counter", query="data.label"))
    assert reading.ok and reading.value == 1234


def test_html_by_css_selector_with_regex(upstream):
    reading = read(source_of(kind="html", url=f"{upstream.url}/shop", selector=".product .price"))
    assert reading.value == 1980000
    reading = read(
        source_of(kind="html", url=f"{upstream.url}/shop", selector=".stock", regex=r"在庫: (\S+)")
    )
    assert not reading.ok and "no number in 'わずか'" in reading.error


def test_html_price_from_ld_json_and_meta(upstream):
    assert (
        read(source_of(kind="html", url=f"{upstream.url}/shop", price_from="ld+json")).value
        == 1980000
    )
    assert (
        read(source_of(kind="html", url=f"{upstream.url}/shop", price_from="meta")).value == 1980000
    )


def test_html_with_a_comma_decimal(upstream):
    reading = read(
        source_of(kind="html", url=f"{upstream.url}/euro", selector="#preis", decimal=",")
    )
    assert reading.value == pytest.approx(1234.56)


def test_http_check_up_with_expected_body(upstream):
    reading = read(source_of(kind="http", url=f"{upstream.url}/health", expect_body="pong"))
    assert reading.ok and reading.up == 1 and reading.status == 200 and not reading.degraded
    assert reading.value == reading.latency_ms


def test_http_check_down_on_wrong_body_status_or_regex(upstream):
    wrong_body = read(source_of(kind="http", url=f"{upstream.url}/health", expect_body="PONG"))
    assert (wrong_body.ok, wrong_body.up) == (False, 0)
    assert wrong_body.error == "body does not contain 'PONG'"
    assert wrong_body.latency_ms is not None  # a slow failure is still worth charting
    gone = read(source_of(kind="http", url=f"{upstream.url}/status/503"))
    assert gone.up == 0 and gone.error == "unexpected HTTP 503 Service Unavailable"
    assert gone.status == 503
    regex = read(
        source_of(kind="http", url=f"{upstream.url}/health", expect_regex=r'"status":\s*"p[io]ng"')
    )
    assert regex.up == 1
    expected_404 = read(source_of(kind="http", url=f"{upstream.url}/nothing", expect_status=[404]))
    assert expected_404.up == 1


def test_http_check_degraded_when_slow(upstream):
    reading = read(
        source_of(kind="http", url=f"{upstream.url}/health?delay=0.3", max_response_ms=100)
    )
    assert reading.ok and reading.up == 1 and reading.degraded
    assert reading.error.startswith("slow: ")


def test_http_check_down_when_unreachable():
    reading = read(source_of(kind="http", url="http://127.0.0.1:9/health"))
    assert (reading.ok, reading.up) == (False, 0)
    assert reading.error == "connection refused by 127.0.0.1"


@pytest.mark.parametrize(
    ("metric", "expected"),
    [("stars", 1523), ("forks", 87), ("open_issues", 12), ("watchers", 42), ("commits", 4711)],
)
def test_github_metrics(upstream, metric, expected):
    reading = read(
        source_of(
            kind="github", repo="tally-dev/tally", metric=metric, api_url=f"{upstream.url}/github"
        )
    )
    assert reading.ok and reading.value == expected


def test_github_commit_count_without_a_last_link(upstream):
    reading = read(
        source_of(
            kind="github",
            repo="tally-dev/empty",
            metric="commits",
            api_url=f"{upstream.url}/github",
        )
    )
    assert reading.value == 0


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"url": "/slow?seconds=3", "timeout": "1s"}, "timed out after 1s"),
        ({"url": "http://127.0.0.1:9/x"}, "connection refused by 127.0.0.1"),
        ({"url": "http://no-such-host.invalid/x"}, "host not found: no-such-host.invalid"),
        ({"url": "/status/404"}, "HTTP 404 Not Found"),
        ({"url": "/status/500"}, "HTTP 500 Internal Server Error"),
        ({"url": "/malformed"}, "response is not JSON: "),
        ({"url": "/counter", "query": "data.missing"}, "JMESPath 'data.missing' matched nothing"),
        ({"url": "/counter", "query": "data"}, "JMESPath 'data' is a dict, not a number"),
        ({"url": "/text"}, "JMESPath 'data.count': no number in 'sold out'"),
        ({"url": "/big"}, "response body over the 5 MiB cap"),
    ],
)
def test_json_failures_are_failed_readings_with_a_readable_reason(upstream, fields, reason):
    url = fields.pop("url")
    source = source_of(
        kind="json",
        url=url if url.startswith("http") else upstream.url + url,
        **{"query": "data.count", **fields},
    )
    reading = read(source)
    assert not reading.ok and reading.value is None
    assert reading.error.startswith(reason), reading.error


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"selector": ".no-such-class"}, "CSS selector '.no-such-class' matched nothing"),
        ({"selector": "h1"}, "CSS selector 'h1': no number in 'ブラック・ロータス'"),
        ({"selector": ".price", "regex": r"USD (\d+)"}, "regex 'USD (\\\\d+)' did not match"),
    ],
)
def test_html_failures(upstream, fields, reason):
    reading = read(source_of(kind="html", url=f"{upstream.url}/shop", **fields))
    assert not reading.ok and reading.error.startswith(reason), reading.error


def test_html_without_structured_price(upstream):
    reading = read(source_of(kind="html", url=f"{upstream.url}/euro", price_from="ld+json"))
    assert reading.error == "no schema.org Offer price in the page's ld+json"


def test_a_missing_secret_fails_the_source_not_the_tick(upstream, monkeypatch):
    monkeypatch.delenv("TALLY_TEST_ABSENT", raising=False)
    reading = read(
        source_of(
            kind="json",
            url=f"{upstream.url}/counter",
            query="data.count",
            headers={"Authorization": "Bearer ${env:TALLY_TEST_ABSENT}"},
        )
    )
    assert reading.error == "environment variable TALLY_TEST_ABSENT is not set"
