"""Issue 8, the Terraform half: tally alerts by itself, so Cloud Monitoring keeps the
metrics, the dashboard and one watchdog condition; per-source policies are an opt-in
with their cost stated; channel URLs and their secrets never leave the config text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.configs import write_many_sources
from tests.terraform import tools
from tests.terraform.schema_check import literal
from tests.terraform.test_structure import locals_of, one, resources, strings, variables_of

pytestmark = pytest.mark.terraform


def conditions_of(body: dict[str, Any]) -> int:
    return len(body.get("conditions", [])) + sum(
        1 for block in body.get("dynamic", []) if '"conditions"' in block
    )


@pytest.mark.parametrize("count", [1, 1000])
def test_one_alert_condition_by_default_whatever_the_sources(
    parsed: dict[str, dict[str, Any]], tmp_path: Path, terraform_bin: Path, count: int
) -> None:
    config = write_many_sources(tmp_path / "tally.yaml", count)
    per_source = tools.evaluate("local.per_source_condition_count", config)
    assert per_source == 0
    policies = {
        name: body for _, _, name, body in resources(parsed, "google_monitoring_alert_policy")
    }
    assert set(policies) == {"watchdog", "stale", "threshold", "change"}
    watchdog = policies.pop("watchdog")
    assert watchdog["count"] == "${var.watchdog_alert ? 1 : 0}"
    assert conditions_of(watchdog) == 1
    # The others exist only for the rules that main.tf leaves empty unless opted in.
    assert {name: body["for_each"] for name, body in policies.items()} == {
        "stale": "${local.stale_rules}",
        "threshold": "${local.threshold_rules}",
        "change": "${local.change_rules}",
    }
    assert variables_of(parsed)["watchdog_alert"]["default"] is True
    assert variables_of(parsed)["per_source_alert_policies"]["default"] is False


def test_watchdog_is_one_promql_condition_on_the_heartbeat_and_failures(
    parsed: dict[str, dict[str, Any]], terraform_bin: Path
) -> None:
    watchdog = one(parsed, "google_monitoring_alert_policy", "watchdog")
    condition = watchdog["conditions"][0]["condition_prometheus_query_language"][0]
    assert condition["query"] == "${local.watchdog_query}"
    query = tools.evaluate("local.watchdog_query", tools.EXAMPLE_CONFIG, name_prefix="obs")
    heartbeat, failures = query.split(" or ")
    # absent_over_time holds for a series never written: a deployment that never ticked.
    assert heartbeat == (
        'absent_over_time(custom_googleapis_com:tally_ticks{monitored_resource="global",'
        'project_id="tally-test-project"}[10m])'
    )
    assert failures == (
        "sum by (service_name) (increase(run_googleapis_com:request_count{"
        'monitored_resource="cloud_run_revision",project_id="tally-test-project",'
        'service_name=~"obs-collect|obs-render",response_code_class="5xx"}[10m])) > 0'
    )
    assert watchdog["notification_channels"] == "${local.notification_channels}"


def test_notification_channels_are_email_only(parsed: dict[str, dict[str, Any]]) -> None:
    channels = {
        name: body
        for _, _, name, body in resources(parsed, "google_monitoring_notification_channel")
    }
    assert set(channels) == {"email"}
    assert literal(channels["email"]["type"]) == "email"
    assert "var.notification_emails" in channels["email"]["for_each"]
    variables = variables_of(parsed)
    assert not {"slack_channel", "slack_token", "webhook_url"} & set(variables)
    tf_text = " ".join(p.read_text(encoding="utf-8") for p in tools.TERRAFORM_DIR.glob("*.tf"))
    assert "webhook_tokenauth" not in tf_text and "sensitive_labels" not in tf_text


def test_opt_in_states_its_cost(parsed: dict[str, dict[str, Any]]) -> None:
    description = literal(variables_of(parsed)["per_source_alert_policies"]["description"])
    assert "$1.50 a month per condition" in description
    assert "$0.35 per million time series returned" in description
    watchdog = literal(variables_of(parsed)["watchdog_alert"]["description"])
    assert "$1.50 a month per condition" in watchdog


def test_channel_secrets_are_secrets_of_the_collector(tmp_path: Path, terraform_bin: Path) -> None:
    config = tmp_path / "tally.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "notify": {
                    "team": "${env:SLACK_WEBHOOK_URL}",
                    "me": "mailtos://${env:SMTP_USER}:${env:SMTP_PASSWORD}@smtp.example.com",
                },
                "sources": [],
            }
        ),
        encoding="utf-8",
    )
    derived = tools.evaluate(
        "{ names = local.secret_names, bound = local.bound_secrets }",
        config,
        secrets_with_value='["SLACK_WEBHOOK_URL"]',
    )
    assert derived == {
        "names": ["SLACK_WEBHOOK_URL", "SMTP_PASSWORD", "SMTP_USER"],
        "bound": ["SLACK_WEBHOOK_URL"],
    }


def test_only_the_collector_gets_secrets(parsed: dict[str, dict[str, Any]]) -> None:
    render = one(parsed, "google_cloudfunctions2_function", "render")
    assert "secret_environment_variables" not in json.dumps(render)
    accessors = one(parsed, "google_secret_manager_secret_iam_member", "collector")
    assert "google_service_account.collector" in accessors["member"]


def test_a_channel_url_is_only_ever_in_the_config_text(
    parsed: dict[str, dict[str, Any]], tmp_path: Path, terraform_bin: Path
) -> None:
    """Not in an environment variable, an output, a label, a dashboard or any other
    value Terraform derives: only the config object carries it."""
    private = "ntfy://ntfy.sh/my-very-private-topic-4711"
    config = tmp_path / "tally.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "notify": {"phone": private, "team": "${env:SLACK_WEBHOOK_URL}"},
                "sources": [
                    {"id": "a", "kind": "json", "url": "https://x.y/", "query": "a", "every": "5m"}
                ],
            }
        ),
        encoding="utf-8",
    )
    evaluable = locals_of({"main.tf": parsed["main.tf"]})  # main.tf: locals only
    names = sorted(
        key
        for key in evaluable
        if not key.startswith("__") and key not in ("config", "config_text")
    )
    derived = tools.evaluate(
        "{ " + ", ".join(f"{name} = local.{name}" for name in names) + " }",
        config,
        per_source_alert_policies="true",
        secrets_with_value='["SLACK_WEBHOOK_URL"]',
    )
    # channel_secret_texts holds the URLs only to find their ${env:NAME} parts.
    derived.pop("channel_secret_texts")
    assert "my-very-private-topic" not in json.dumps(derived)
    for doc in parsed.values():
        for block in doc.get("output", []):
            text = " ".join(strings(block))
            assert "local.config" not in text and "notify" not in text, block


def test_collector_gets_the_site_address(terraform_bin: Path) -> None:
    env = tools.evaluate(
        "local.collect_env", tools.EXAMPLE_CONFIG, site_bucket_name="numbers.example.org"
    )
    assert env["TALLY_SITE_URL"] == "https://storage.googleapis.com/numbers.example.org"
