"""tally.yaml: what a user writes is accepted, and every mistake is named precisely."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml
from tally.config import ConfigError, load_config, parse_config

ROOT = Path(__file__).resolve().parents[2]


def _json(**extra):
    return {
        "id": "clicks",
        "kind": "json",
        "url": "https://x.test/c",
        "query": "count",
        "every": "5m",
        **extra,
    }


def problems_of(raw) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    return caught.value.problems


def test_the_example_config_expresses_the_five_systems():
    config = load_config(str(ROOT / "tally.example.yaml"))
    kinds = {source.kind for source in config.sources}
    assert kinds == {"json", "html", "http", "github", "rss"}
    card = config.source("card-price")
    assert card.name == "ブラック・ロータス"
    assert card.alerts.change is not None and card.alerts.change.percent == 10
    assert config.source("echo-health").expect_body == "pong"
    assert len(config.source("bot-queue").schedule) == 2
    assert config.source("repo-commits").token == "${env:GITHUB_TOKEN}"  # never expanded here
    assert config.timezone == "Asia/Tokyo"
    posts = config.source("blog-posts")  # and a feed's new entries, told once
    assert posts.announced_to(config.notify) == ["phone"]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (_json(selecter=".x"), "source 'clicks': field 'selecter': unknown field (a typo?)"),
        ({**_json(), "url": None}, "source 'clicks': field 'url'"),
        (
            {k: v for k, v in _json().items() if k != "url"},
            "source 'clicks': field 'url': Field required",
        ),
        (_json(url="ftp://x"), "source 'clicks': field 'url': must be an http"),
        (_json(query="a[["), "source 'clicks': field 'query': not a valid JMESPath"),
        (_json(id="Clicks Count"), "source 'Clicks Count': field 'id': must be a slug"),
        (_json(every="5 minutes"), "source 'clicks': field 'every': not a duration"),
        (_json(every="90s"), "source 'clicks': field 'every': must be a whole number of minutes"),
        (
            {**_json(), "every": None, "schedule": "61 * * * *"},
            "source 'clicks': field 'schedule': '61 * * * *' is not a valid cron",
        ),
        (
            {**_json(), "every": None, "schedule": ["0 * * *"]},
            "source 'clicks': field 'schedule': '0 * * *' is not a 5-field cron",
        ),
        (_json(schedule="0 * * * *"), "source 'clicks': set exactly one of 'schedule'"),
        ({**_json(), "every": None}, "source 'clicks': set exactly one of 'schedule'"),
        (_json(timeout="10 minutes"), "source 'clicks': field 'timeout': not a duration"),
        (_json(timeout="5m"), "source 'clicks': field 'timeout': must be at most 120s"),
        (_json(decimal=";"), "source 'clicks': field 'decimal'"),
        (_json(kind="gopher"), "source 'clicks': field 'kind': unknown kind 'gopher'"),
        (
            {k: v for k, v in _json().items() if k != "kind"},
            "source 'clicks': field 'kind': missing",
        ),
        (_json(alerts={"abvoe": 3}), "source 'clicks': field 'alerts.abvoe': unknown field"),
        (
            _json(alerts={"change": {"percent": -5}}),
            "source 'clicks': field 'alerts.change.percent': Input should be greater than 0",
        ),
        (
            _json(alerts={"stale_after": "soon"}),
            "source 'clicks': field 'alerts.stale_after': not a duration",
        ),
        (_json(headers={"Authorization": 5}), "source 'clicks': field 'headers.Authorization'"),
        (
            {
                "id": "shop",
                "kind": "html",
                "url": "https://x.test",
                "every": "1d",
                "selector": "div[",
                "regex": "(",
            },
            "source 'shop': field 'selector': not a valid CSS selector",
        ),
        (
            {
                "id": "shop",
                "kind": "html",
                "url": "https://x.test",
                "every": "1d",
                "selector": "div",
                "regex": "((",
            },
            "source 'shop': field 'regex': not a valid regular expression",
        ),
        (
            {"id": "shop", "kind": "html", "url": "https://x.test", "every": "1d"},
            "source 'shop': set exactly one of 'selector', 'price_from' or 'entries'",
        ),
        (
            {
                "id": "shop",
                "kind": "html",
                "url": "https://x.test",
                "every": "1d",
                "price_from": "microdata",
            },
            "source 'shop': field 'price_from'",
        ),
        (
            {
                "id": "up",
                "kind": "http",
                "url": "https://x.test",
                "every": "1m",
                "expect_status": [200, 999],
            },
            "source 'up': field 'expect_status': 999 is not",
        ),
        (
            {
                "id": "up",
                "kind": "http",
                "url": "https://x.test",
                "every": "1m",
                "method": "DELETE",
            },
            "source 'up': field 'method'",
        ),
        (
            {
                "id": "up",
                "kind": "http",
                "url": "https://x.test",
                "every": "1m",
                "expect_regex": "[unclosed",
            },
            "source 'up': field 'expect_regex': not a valid regular expression",
        ),
        (
            {
                "id": "up",
                "kind": "http",
                "url": "https://x.test",
                "every": "1m",
                "max_response_ms": 0,
            },
            "source 'up': field 'max_response_ms'",
        ),
        (
            {"id": "gh", "kind": "github", "repo": "just-a-name", "metric": "stars", "every": "1h"},
            "source 'gh': field 'repo': must be 'owner/name'",
        ),
        (
            {"id": "gh", "kind": "github", "repo": "a/b", "metric": "likes", "every": "1h"},
            "source 'gh': field 'metric'",
        ),
    ],
)
def test_each_mistake_names_the_source_and_the_field(source, expected):
    found = problems_of({"sources": [source]})
    assert any(line.startswith(expected) for line in found), found


def test_every_problem_is_reported_not_just_the_first():
    found = problems_of({"sources": [_json(selecter=1), _json(id="b", query="[")]})
    assert any("'clicks'" in line and "selecter" in line for line in found)
    assert any("'b'" in line and "query" in line for line in found)


def test_duplicate_ids_name_both_entries():
    sources = [_json(), _json(id="b"), _json(id="c"), _json()]
    assert problems_of({"sources": sources}) == ["sources[0] and sources[3]: duplicate id 'clicks'"]


def test_top_level_mistakes_are_named():
    found = problems_of({"timezone": "Mars/Olympus", "sourcs": [], "retention_days": 0})
    assert (
        "config: field 'timezone': unknown time zone 'Mars/Olympus' (e.g. UTC, Asia/Tokyo)" in found
    )
    assert "config: field 'sourcs': unknown field (a typo?)" in found
    assert any(line.startswith("config: field 'retention_days'") for line in found)


def test_a_source_without_an_id_is_named_by_position():
    found = problems_of(
        {
            "sources": [
                _json(),
                {"kind": "json", "url": "https://x.test", "query": "a", "every": "1m"},
            ]
        }
    )
    assert found == ["source #2: field 'id': Field required"]


def test_unreadable_yaml_and_missing_file_are_clear(tmp_path):
    bad = tmp_path / "tally.yaml"
    bad.write_text("sources: [\n  - id: a\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(str(bad))
    with pytest.raises(ConfigError, match="no such file"):
        load_config(str(tmp_path / "missing.yaml"))


def test_config_path_order(tmp_path, monkeypatch):
    """--config, else $TALLY_CONFIG, else ./tally.yaml; Terraform's inline text for functions."""

    def write(name, title):
        path = tmp_path / name
        path.write_text(yaml.safe_dump({"title": title}), encoding="utf-8")
        return path

    explicit, from_env = write("a.yaml", "explicit"), write("b.yaml", "env")
    write("tally.yaml", "cwd")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TALLY_CONFIG_YAML", raising=False)
    monkeypatch.delenv("TALLY_CONFIG", raising=False)
    assert load_config().title == "cwd"
    monkeypatch.setenv("TALLY_CONFIG", str(from_env))
    assert load_config().title == "env"
    assert load_config(str(explicit)).title == "explicit"
    monkeypatch.setenv("TALLY_CONFIG_YAML", "title: inline\n")
    assert load_config().title == "inline"


def test_names_in_any_script_and_durations_are_kept():
    config = parse_config(
        {
            "timezone": "Asia/Tokyo",
            "sources": [_json(name="カードの価格 💳", timeout="30s", alerts={"stale_after": "2h"})],
        }
    )
    source = config.sources[0]
    assert source.display_name == "カードの価格 💳"
    assert source.timeout.total_seconds() == 30
    assert source.alerts.stale_after.total_seconds() == 7200


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            _json(url="file:///etc/passwd"),
            "source 'clicks': field 'url': must be an http:// or https:// URL",
        ),
        (
            {
                "id": "gh",
                "kind": "github",
                "repo": "a/b",
                "metric": "stars",
                "every": "1h",
                "api_url": "file:///var/run/secrets",
            },
            "source 'gh': field 'api_url': must be an http:// or https:// URL",
        ),
    ],
)
def test_only_http_urls_are_fetched(source, expected):
    assert problems_of({"sources": [source]}) == [expected]


@pytest.mark.parametrize("cron", ["0 0 31 2 *", "0 0 30 2 *", "0 12 31 4,6,9,11 *"])
def test_a_cron_that_never_fires_is_an_error(cron):
    assert problems_of(
        {"sources": [{**_json(), "every": None, "schedule": ["0 * * * *", cron]}]}
    ) == [f"source 'clicks': field 'schedule': {cron!r} never fires: no such date"]


def test_a_cron_of_a_rare_date_is_fine():
    config = parse_config({"sources": [{**_json(), "every": None, "schedule": "0 0 29 2 *"}]})
    assert config.sources[0].schedule == ["0 0 29 2 *"]


def test_a_timeout_that_cannot_fit_in_the_collect_function_is_an_error():
    assert problems_of({"sources": [_json(timeout="121s")]}) == [
        "source 'clicks': field 'timeout': must be at most 120s (with storing and metrics "
        "after it, the tick must fit in the collect function's 300 s)"
    ]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("sources:\n  - id: a\n    kind: json\n   url: x\n", "4:4"),
        ("title: t\nsources: [\n  - id: a\n", "3:3"),
        ("title: 'open\n", "2:1"),
    ],
)
def test_a_yaml_syntax_error_names_the_file_and_line(tmp_path, text, where):
    bad = tmp_path / "tally.yaml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(str(bad))
    [problem] = caught.value.problems
    assert problem.startswith(f"{bad}:{where}: not valid YAML: "), problem
    assert "\n" not in problem


INF, NAN = float("inf"), float("nan")


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            {"sources": [_json(every=INF)]},
            "source 'clicks': field 'every': not a duration: inf is not a finite number",
        ),
        (
            {"sources": [_json(every="30s")]},
            "source 'clicks': field 'every': must be from 1m to 365d",
        ),
        (
            {"sources": [_json(every="366d")]},
            "source 'clicks': field 'every': must be from 1m to 365d",
        ),
        (
            {"sources": [_json(every="99999999999999999999999d")]},
            "source 'clicks': field 'every': duration '99999999999999999999999d' is longer than "
            "36500 days",
        ),
        ({"sources": [_json(timeout=-5)]}, "source 'clicks': field 'timeout': duration must be"),
        (
            {"sources": [_json(timeout="0.5s")]},
            "source 'clicks': field 'timeout': must be at least 1s",
        ),
        ({"sources": [_json(timeout=NAN)]}, "source 'clicks': field 'timeout': not a duration"),
        (
            {"sources": [_json(alerts={"above": NAN})]},
            "source 'clicks': field 'alerts.above': Input should be a finite number",
        ),
        (
            {"sources": [_json(alerts={"below": -INF})]},
            "source 'clicks': field 'alerts.below': Input should be a finite number",
        ),
        (
            {"sources": [_json(alerts={"change": {"percent": INF}})]},
            "source 'clicks': field 'alerts.change.percent': Input should be a finite number",
        ),
        (
            {"sources": [_json(alerts={"change": {"percent": 5, "window": "30s"}})]},
            "source 'clicks': field 'alerts.change.window': must be from 1m to 365d, not 30s",
        ),
        (
            {"sources": [_json(alerts={"stale_after": "400d"})]},
            "source 'clicks': field 'alerts.stale_after': must be from 1m to 365d, not 400d",
        ),
        (
            {"sources": [_json(alerts={"renotify_after": INF})]},
            "source 'clicks': field 'alerts.renotify_after': not a duration: inf",
        ),
        (
            {"sources": [_json(alerts={"down_after": 101})]},
            "source 'clicks': field 'alerts.down_after': Input should be less than or equal to 100",
        ),
        (
            {
                "sources": [
                    {
                        "id": "up",
                        "kind": "http",
                        "url": "https://x.test",
                        "every": "1m",
                        "max_response_ms": 120_001,
                    }
                ]
            },
            "source 'up': field 'max_response_ms': Input should be less than or equal to 120000",
        ),
        (
            {
                "sources": [
                    {
                        "id": "up",
                        "kind": "http",
                        "url": "https://x.test",
                        "every": "1m",
                        "max_response_ms": INF,
                    }
                ]
            },
            "source 'up': field 'max_response_ms': Input should be a finite number",
        ),
        (
            {"retention_days": 3_000_000},
            "config: field 'retention_days': Input should be less than or equal to 36500",
        ),
        ({"retention_days": INF}, "config: field 'retention_days': Input should be a finite"),
        ({"render_every": "7m"}, "config: field 'render_every': must divide an hour (1m, 2m,"),
        ({"render_every": "25h"}, "config: field 'render_every': must be from 1m to 1d, not 25h"),
        ({"stale_event_after": "2d"}, "config: field 'stale_event_after': must be from 1m to 1d"),
        ({"stale_event_after": "30s"}, "config: field 'stale_event_after': must be from 1m to 1d"),
        ({"renotify_after": "0.5m"}, "config: field 'renotify_after': must be from 1m to 365d"),
    ],
)
def test_every_duration_and_number_has_a_sane_range(config, expected):
    found = problems_of(config)
    assert any(line.startswith(expected) for line in found), found


def test_the_ends_of_every_range_are_accepted():
    config = parse_config(
        {
            "retention_days": 36500,
            "render_every": "24h",
            "stale_event_after": "1d",
            "renotify_after": "365d",
            "sources": [
                _json(
                    every="365d",
                    timeout="120s",
                    alerts={
                        "stale_after": "1m",
                        "down_after": 100,
                        "change": {"percent": 1e300, "window": "365d"},
                    },
                ),
                {
                    "id": "up",
                    "kind": "http",
                    "url": "https://x.test",
                    "every": "1m",
                    "timeout": "1s",
                    "max_response_ms": 120_000,
                },
            ],
        }
    )
    assert config.retention_days == 36500
    assert config.sources[0].every.days == 365
    assert config.sources[1].max_response_ms == 120_000


@pytest.mark.parametrize(
    "minutes", [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60, 120, 180, 240, 360, 480, 720, 1440]
)
def test_render_every_is_what_cloud_scheduler_can_repeat(minutes):
    assert (
        parse_config({"render_every": f"{minutes}m"}).render_every.total_seconds() == minutes * 60
    )


ODD_VALUES = [
    None,
    True,
    -1,
    5.5,
    10**30,
    INF,
    NAN,
    "",
    "x",
    "\x00",
    "a" * 100_000,
    [1],
    [[1]],
    [None],
    {"a": 1},
    {"a": [1]},
    date(2020, 1, 1),
]
BASES = {
    "json": _json(),
    "html": {"id": "x", "kind": "html", "url": "https://x.test", "selector": "p", "every": "5m"},
    "http": {"id": "x", "kind": "http", "url": "https://x.test", "every": "5m"},
    "github": {"id": "x", "kind": "github", "repo": "a/b", "metric": "stars", "every": "5m"},
    "rss": {"id": "x", "kind": "rss", "url": "https://x.test", "every": "5m"},
}


def odd_configs():
    """Every field of every kind, of the alerts and of the top level, set to each value
    YAML can give it."""
    from tally.config import Config
    from tally.sources.model import Alerts, ChangeAlert
    from tally.sources.registry import KINDS

    for kind, base in BASES.items():
        for field in KINDS[kind].model.model_fields:
            for value in ODD_VALUES:
                yield {"sources": [{**base, field: value}]}
        for field in Alerts.model_fields:
            for value in ODD_VALUES:
                yield {"sources": [{**base, "alerts": {field: value}}]}
        for field in ChangeAlert.model_fields:
            for value in ODD_VALUES:
                change = {"percent": 5, field: value}
                yield {"sources": [{**base, "alerts": {"change": change}}]}
    for field in Config.model_fields:
        for value in ODD_VALUES:
            yield {field: value}
    for value in ODD_VALUES:
        yield value
        yield {"sources": [value]}


def test_any_value_in_any_field_is_a_short_error_line_never_a_traceback():
    checked = 0
    for raw in odd_configs():
        try:
            parse_config(raw)
        except ConfigError as exc:
            assert all(len(problem) < 300 for problem in exc.problems), exc.problems
        checked += 1
    assert checked > 1000
