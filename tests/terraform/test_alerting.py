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
from tests.terraform import schema_check, tools
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


def test_watchdog_is_one_promql_condition_on_both_heartbeats_and_failed_deliveries(
    parsed: dict[str, dict[str, Any]], terraform_bin: Path
) -> None:
    watchdog = one(parsed, "google_monitoring_alert_policy", "watchdog")
    condition = watchdog["conditions"][0]["condition_prometheus_query_language"][0]
    assert condition["query"] == "${local.watchdog_query}"
    query = tools.evaluate("local.watchdog_query", tools.EXAMPLE_CONFIG, name_prefix="obs")
    ticks, renders, deliveries = query.split(" or ")
    # absent_over_time holds for a series never written: a deployment that never ticked.
    assert ticks == (
        'absent_over_time(custom_googleapis_com:tally_ticks{monitored_resource="global",'
        'project_id="tally-test-project"}[10m])'
    )
    # render_every: 5m in the example: no page for 10 minutes past the next one due.
    assert renders == (
        'absent_over_time(custom_googleapis_com:tally_renders{monitored_resource="global",'
        'project_id="tally-test-project"}[900s])'
    )

    # Pub/Sub's push attempts to either function (Eventarc's subscriptions of their
    # triggers), answered other than 2xx for 10 minutes with none answered 2xx: Cloud
    # Run's request_count would miss a 403 (invoker binding) and a 429 (instance cap).
    def pushes(answered: str) -> str:
        return (
            "increase(pubsub_googleapis_com:subscription_push_request_count{"
            'monitored_resource="pubsub_subscription",project_id="tally-test-project",'
            'subscription_id=~"eventarc-us-central1-obs-(collect|render)-.+",'
            f'response_class{answered}"ack"' + "}[10m])"
        )

    assert deliveries == (
        f"(sum by (subscription_id) ({pushes('!=')}) > 0"
        f" unless on (subscription_id) sum by (subscription_id) ({pushes('=')}) > 0)"
    )
    assert "run_googleapis_com" not in query
    assert watchdog["notification_channels"] == "${local.notification_channels}"


@pytest.mark.parametrize(("render_every", "window"), [("1m", "660s"), ("1h", "4200s")])
def test_the_render_heartbeat_window_follows_render_every(
    tmp_path: Path, terraform_bin: Path, render_every: str, window: str
) -> None:
    config = tmp_path / "tally.yaml"
    config.write_text(f"render_every: {render_every}\nsources: []\n", encoding="utf-8")
    renders = tools.evaluate("local.watchdog_query", config).split(" or ")[1]
    assert renders.endswith(f"[{window}])")


def test_both_functions_write_their_heartbeat_and_may(parsed: dict[str, dict[str, Any]]) -> None:
    """The renderer writes tally/renders (runtime.render_event): it may write metrics, and
    both heartbeats are declared as one series each (no source label)."""
    writers = {
        schema_check._unquote(body["member"])
        for _, _, _, body in resources(parsed, "google_project_iam_member")
        if literal(body.get("role", "")) == "roles/monitoring.metricWriter"
    }
    assert writers == {
        "serviceAccount:${google_service_account.collector.email}",
        "serviceAccount:${google_service_account.renderer.email}",
    }
    metrics = locals_of(parsed)["metrics"]
    assert {"ticks", "renders"} <= set(metrics)
    assert {literal(name) for name in locals_of(parsed)["heartbeats"]} == {"ticks", "renders"}


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
