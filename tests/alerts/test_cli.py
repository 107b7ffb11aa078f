"""`tally notify test`, `tally alerts` and the channel checks of `tally validate`, as a
user types them."""

from __future__ import annotations

import yaml
from tally.cli import main

from tests.alerts.conftest import IMMEDIATE, make_config


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _write(tmp_path, data: dict) -> str:
    path = tmp_path / "tally.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return str(path)


def test_notify_test_reports_each_channel_and_fails_if_one_fails(capsys, tmp_path, receiver):
    path = _write(
        tmp_path,
        {
            "title": "私の tally",
            "notify": {"hook": receiver.url(), "dead": "json://127.0.0.1:9/nothing-listens"},
        },
    )
    code, out, err = run(capsys, "notify", "test", "--config", path)
    assert code == 1, err
    lines = dict(line.split(None, 1) for line in out.splitlines())
    assert lines["hook"].split() == ["JSON", "delivered"]
    assert lines["dead"].startswith("JSON          NOT delivered: A Connection error occurred")
    [message] = receiver.take()
    assert message.title == "tally: test message (私の tally)"
    assert "to the channel 'hook'" in message.message
    code, out, _ = run(capsys, "notify", "test", "hook", "--config", path)
    assert code == 0 and out.split() == ["hook", "JSON", "delivered"]


def test_notify_test_names_an_unknown_channel(capsys, tmp_path, receiver):
    path = _write(tmp_path, {"notify": {"hook": receiver.url()}})
    code, _, err = run(capsys, "notify", "test", "pager", "--config", path)
    assert code == 1
    assert err.strip() == "error: unknown channel 'pager' (channels: hook)"
    assert receiver.take() == []


def test_validate_rejects_a_url_apprise_cannot_use_naming_the_channel(capsys, tmp_path):
    path = _write(
        tmp_path,
        {
            "notify": {
                "ok": "ntfy://ntfy.example/my-topic",
                "typo": "slak://T000/B000/XXXX",
                "mail": "mailto://127.0.0.1:2525?from=not-an-address&to=me@example.com",
            }
        },
    )
    code, out, err = run(capsys, "validate", path)
    assert code == 1 and out == ""
    problems = err.strip().splitlines()
    assert problems[0] == (
        "error: channel 'typo': field 'notify.typo': Apprise cannot use this URL: "
        "no Apprise service for it: a channel URL starts with the scheme of a service "
        "Apprise knows (json://, mailto://, slack://, ntfy://, …)"
    )
    assert "slak" not in err and "T000" not in err  # no piece of a channel URL is quoted
    assert problems[1].startswith(
        "error: channel 'mail': field 'notify.mail': Apprise cannot use this URL: "
    )
    assert len(problems) == 2


def test_validate_checks_a_channel_whose_secret_is_not_set_as_far_as_it_can(
    capsys, tmp_path, monkeypatch
):
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    monkeypatch.delenv("SMTP_PASSWORD", raising=False)
    path = _write(
        tmp_path,
        {
            "notify": {
                "team": "${env:SLACK_WEBHOOK_URL}",
                "me": "mailtos://tally:${env:SMTP_PASSWORD}@smtp.example.com?to=me@example.com",
            }
        },
    )
    code, out, err = run(capsys, "validate", path)
    assert code == 0, err
    assert out.startswith("ok: ") and "2 notification channels" in out
    assert err.splitlines() == [
        "warning: channel 'team': environment variable SLACK_WEBHOOK_URL is not set",
        "warning: channel 'me': environment variable SMTP_PASSWORD is not set",
    ]


def test_alerts_lists_open_incidents_oldest_first_and_all_with_their_end(
    capsys, tmp_path, knob, tick_runner, monkeypatch
):
    sources = [
        knob.source("late", alerts={"above": 10}),
        knob.source("early", alerts={"below": 10}),
    ]
    config = make_config(sources, {}, alerts=IMMEDIATE)
    path = _write(tmp_path, {"timezone": "Asia/Tokyo", "alerts": IMMEDIATE, "sources": sources})
    knob.set("late", 1)
    knob.set("early", 1)
    tick_runner(config, 0)  # early opens (below 10)
    knob.set("late", 50)
    tick_runner(config, 2)  # late opens (above 10)
    code, out, _ = run(capsys, "alerts", "--config", path)
    assert code == 0
    assert out.splitlines() == [
        "2026-11-25 17:00 JST  open  early  below 10: 1 (rule: below 10)"
        "  id early/20261125T0800Z-below",
        "2026-11-25 17:02 JST  open  late  above 10: 50 (rule: above 10)"
        "  id late/20261125T0802Z-above",
    ]
    knob.set("early", 20)
    tick_runner(config, 5)
    code, out, _ = run(capsys, "alerts", "--config", path)
    assert out.splitlines() == [
        "2026-11-25 17:02 JST  open  late  above 10: 50 (rule: above 10)"
        "  id late/20261125T0802Z-above"
    ]
    code, out, _ = run(capsys, "alerts", "--all", "--config", path)
    assert out.splitlines() == [
        "2026-11-25 17:00 JST  resolved after 5m  early  below 10: 1 (rule: below 10)"
        "  id early/20261125T0800Z-below",
        "2026-11-25 17:02 JST  open  late  above 10: 50 (rule: above 10)"
        "  id late/20261125T0802Z-above",
    ]


def test_validate_names_an_unknown_channel_in_a_sources_notify(capsys, tmp_path, knob):
    path = _write(
        tmp_path,
        {
            "notify": {"me": "json://127.0.0.1:9/x", "team": "form://127.0.0.1:9/y"},
            "sources": [knob.source("shop", alerts={"above": 1, "notify": ["me", "phone"]})],
        },
    )
    code, _, err = run(capsys, "validate", path)
    assert code == 1
    assert err.strip() == (
        "error: source 'shop': field 'alerts.notify': unknown channel 'phone' (channels: me, team)"
    )


def test_collect_reports_the_incidents_it_opens_and_resolves(
    capsys, tmp_path, knob, receiver, firestore
):
    sources = [knob.source("price", alerts={"above": 100})]
    path = _write(
        tmp_path, {"notify": {"hook": receiver.url()}, "alerts": IMMEDIATE, "sources": sources}
    )
    knob.set("price", 150)
    code, out, err = run(capsys, "collect", "--config", path, "--at", "2026-11-25T08:00:00Z")
    assert code == 0 and out == "price\t150\n"
    assert err == "alert: price: above 100: 150 (rule: above 100)\n"
    knob.set("price", 50)
    code, out, err = run(capsys, "collect", "--config", path, "--at", "2026-11-25T08:01:00Z")
    assert err == "resolved: price: above\n"
    assert [item.type for item in receiver.take()] == ["failure", "success"]


def test_collect_reports_a_list_s_first_read_and_its_new_entries(
    capsys, tmp_path, hostile, receiver, firestore
):
    from tests.support.hostile import Page

    def feed(*guids: str) -> Page:
        items = "".join(f"<item><guid>{g}</guid><title>{g}</title></item>" for g in guids)
        return Page(f"<rss><channel>{items}</channel></rss>".encode(), "text/xml")

    source = {"id": "feed", "kind": "rss", "url": f"{hostile.url}/cli-feed", "every": "1m"}
    path = _write(tmp_path, {"notify": {"hook": receiver.url()}, "sources": [source]})
    hostile.pages["/cli-feed"] = feed("a", "b")
    code, out, err = run(capsys, "collect", "--config", path, "--at", "2026-11-25T08:00:00Z")
    assert (code, out) == (0, "feed\t2\n")
    assert err == "entries: feed: first read, recorded (nothing told)\n"
    hostile.pages["/cli-feed"] = feed("d", "c", "a", "b")
    code, out, err = run(capsys, "collect", "--config", path, "--at", "2026-11-25T08:01:00Z")
    assert (code, out, err) == (0, "feed\t4\n", "entries: feed: 2 new entries\n")
    assert receiver.take() == []  # no `announce`: kept for the page, told to no one
