"""The dashboard and the opt-in per-source policies follow `metrics:` (issue 20): a
chart only for a metric some source sends, and no Cloud Monitoring policy on a metric
its source does not send (it would never fire). What each source sends is decided the
way the core decides it (Config.metrics_of), which the first test holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from tally.config import parse_config

from tests.terraform import tools

pytestmark = pytest.mark.terraform

PIPELINE = [
    "Executions / min (Cloud Run requests that reached the function)",
    "Failed deliveries in 10 min (Pub/Sub push answered other than 2xx)",
    "Latency p95 (ms)",
    "Heartbeats: sources collected per tick, objects written per render",
]
VALUE = 'Value of the source picked in "source" (all: every source)'
LATENCY = "Response time of http checks (ms)"
UP = "Up (http checks: 1 up, 0 down)"


def check(id_: str, **more: Any) -> dict[str, Any]:
    return {"id": id_, "kind": "http", "url": "https://example.test/", "every": "5m", **more}


def value(id_: str, **more: Any) -> dict[str, Any]:
    source = {"id": id_, "kind": "json", "url": "https://example.test/", "query": "n"}
    return {**source, "every": "5m", **more}


def write(tmp_path: Path, sources: list[dict[str, Any]], **top: Any) -> Path:
    config = {**top, "sources": sources}
    parse_config(config)  # a config the core takes, so both read the same thing
    path = tmp_path / "tally.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def dashboard(path: Path) -> dict[str, Any]:
    return tools.evaluate("{ metrics = local.source_metrics, dashboard = local.dashboard }", path)


CASES = {
    "every choice": (
        [
            check("c-all"),
            check("c-value", metrics="value"),
            value("v-none", metrics="none"),
            value("v-all", metrics="all"),
        ],
        {},
        [VALUE, LATENCY, UP],
    ),
    "nothing sent": ([check("c"), value("v")], {"metrics": "none"}, []),
    "values only": ([check("c"), value("v")], {"metrics": "value"}, [VALUE]),
    "a check opts in": (
        [check("c", metrics="all"), value("v")],
        {"metrics": "none"},
        [VALUE, LATENCY, UP],
    ),
    "no checks": ([value("v"), value("w", metrics="none")], {}, [VALUE]),
}


@pytest.mark.parametrize("case", CASES)
def test_the_dashboard_shows_only_the_metrics_sources_send(
    tmp_path: Path, terraform_bin: Path, case: str
) -> None:
    sources, top, charts = CASES[case]
    path = write(tmp_path, sources, **top)
    derived = dashboard(path)
    config = parse_config(yaml.safe_load(path.read_text(encoding="utf-8")))
    assert derived["metrics"] == {s.id: list(config.metrics_of(s)) for s in config.sources}
    widgets = derived["dashboard"]["gridLayout"]["widgets"]
    assert [widget["title"] for widget in widgets] == PIPELINE + charts
    filters = derived["dashboard"]["dashboardFilters"]
    # the `source` variable filters the source charts; with none, there is none
    assert [f["templateVariable"] for f in filters] == (["source"] if charts else [])


def test_per_source_policies_only_on_metrics_the_source_sends(
    tmp_path: Path, terraform_bin: Path
) -> None:
    rules = {"stale_after": "30m", "above": 10, "below": 1, "change": {"percent": 50}}
    path = write(
        tmp_path,
        [
            check("c-all", alerts=rules),  # `up` for staleness, `value` for the rest
            check("c-value", metrics="value", alerts=rules),  # no `up`: no stale policy
            value("v-value", metrics="value", alerts=rules),
            value("v-none", metrics="none", alerts=rules),  # nothing sent: no policy
        ],
    )
    made = tools.evaluate(
        "{ stale = local.stale_rules, threshold = keys(local.threshold_rules),"
        " change = keys(local.change_rules), count = local.per_source_policy_count }",
        path,
        per_source_alert_policies="true",
    )
    assert made["stale"] == {
        "c-all": {"metric": "up", "seconds": 1800},
        "v-value": {"metric": "value", "seconds": 1800},
    }
    assert made["threshold"] == [
        "c-all-above", "c-all-below", "c-value-above", "c-value-below",
        "v-value-above", "v-value-below",
    ]  # fmt: skip
    assert made["change"] == ["c-all-change", "c-value-change", "v-value-change"]
    assert made["count"] == 2 + 6 + 3
