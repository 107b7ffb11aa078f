"""The examples carry the notifications each replaced system exists for, with URLs that
Apprise accepts: email for the counter, a price-jump message for the cards, Slack for
the health check."""

from __future__ import annotations

from pathlib import Path

import pytest
from tally.alerts.channels import check
from tally.config import load_config

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize(
    "path", [*sorted(EXAMPLES.glob("*.yaml")), EXAMPLES.parent / "tally.example.yaml"]
)
def test_every_channel_of_every_example_is_one_apprise_can_use(path):
    config = load_config(str(path))
    assert config.notify, f"{path.name} tells no one"
    environ = {
        "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T000/B000/XXXXXXXX",
        "DISCORD_WEBHOOK_URL": "https://discord.com/api/webhooks/1234/abcdEFGH",
    }
    for name, url in config.notify.items():
        assert check(name, url, environ) is None


def test_the_counter_mails_its_owner_on_errors_and_missing_data():
    config = load_config(str(EXAMPLES / "button-counter.yaml"))
    assert all(url.startswith(("mailto://", "mailtos://")) for url in config.notify.values())
    [source] = config.sources
    assert source.alerts.stale_after is not None and source.alerts.down_after == 3


def test_the_card_watcher_messages_a_price_jump():
    config = load_config(str(EXAMPLES / "card-prices.yaml"))
    assert config.notify
    for source in config.sources:
        assert source.alerts.change is not None and source.alerts.change.percent == 10


def test_the_health_check_goes_to_slack_when_its_record_is_older_than_15_minutes():
    config = load_config(str(EXAMPLES / "health-check.yaml"))
    assert list(config.notify.values()) == ["${env:SLACK_WEBHOOK_URL}"]
    [source] = config.sources
    assert source.alerts.stale_after.total_seconds() == 15 * 60
