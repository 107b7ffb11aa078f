"""Silences and acknowledgement: during a maintenance window (tally.yaml) or a
`tally silence`, incidents still open and resolve on the page but no message is sent;
one still open when the silence ends is told once, and one whose firing had gone out
gets its end. `tally alerts ack ID` stops an incident's reminders. The page shows both.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import yaml
from tally.cli import main
from tally.render.entry import render_site

from tests.alerts.conftest import START, make_config

QUICK = {"pending": 1, "recovery": 1, "flapping": False}


def _messages(receiver) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [(item.type, item.message) for item in receiver.take()]


def _run(knob, tick_runner, config, values: dict[int, float]) -> None:  # type: ignore[no-untyped-def]
    for minute, value in values.items():
        knob.set("price", value)
        tick_runner(config, minute)


def test_a_maintenance_window_holds_messages_and_tells_what_is_still_open_after(
    knob, receiver, tick_runner, store, tmp_path
):
    """17:00–17:30 JST every day: an incident that opens and resolves inside it is on the
    page only; one open when it ends is told then, once."""
    window = {"cron": "0 17 * * *", "duration": "30m", "reason": "nightly backup"}
    config = make_config(
        [knob.source("price", alerts={"above": 100})],
        {"hook": receiver.url()},
        alerts={**QUICK, "maintenance": [window]},
    )
    _run(knob, tick_runner, config, {0: 150, 5: 50, 10: 150, 20: 150})
    assert receiver.take() == []
    render_site(config, store, tmp_path, now=START + timedelta(minutes=21))
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "1 open incident</h2>" in index and "not sent: alerts are silenced" in index
    assert "every source until" in index and "nightly backup" in index
    _run(knob, tick_runner, config, {29: 150})
    assert receiver.take() == []
    _run(knob, tick_runner, config, {30: 150, 31: 150})
    [(kind, text)] = _messages(receiver)
    assert kind == "failure"
    assert text == (
        "price: above 100: 150 (open since 2026-11-25 17:10 JST, while alerts were silenced)"
        " — 2026-11-25 17:30 JST"
    )
    _run(knob, tick_runner, config, {35: 50})
    [(kind, text)] = _messages(receiver)
    assert kind == "success" and text.startswith("price: back under 100: 50 (above 100 for 25")


def test_an_end_held_by_a_dated_window_is_told_when_it_ends(knob, receiver, tick_runner):
    """A source's own window, from–to: its firing went out before the window, it
    resolved inside: the channel hears the end when the window closes. Another source
    is not silenced meanwhile."""
    window = {"from": "2026-11-25T08:05:00Z", "to": "2026-11-25T08:15:00Z", "reason": "deploy"}
    config = make_config(
        [
            knob.source("price", alerts={"above": 100, "maintenance": [window]}),
            knob.source("other", alerts={"above": 100}),
        ],
        {"hook": receiver.url()},
        alerts=QUICK,
    )
    knob.set("other", 50)
    _run(knob, tick_runner, config, {0: 150})
    assert [kind for kind, _ in _messages(receiver)] == ["failure"]
    knob.set("other", 500)
    _run(knob, tick_runner, config, {6: 50})
    assert [text.split(":")[0] for _, text in _messages(receiver)] == ["other"]
    _run(knob, tick_runner, config, {10: 50, 14: 50})
    assert receiver.take() == []
    _run(knob, tick_runner, config, {15: 50})
    [(kind, text)] = _messages(receiver)
    assert kind == "success" and text.startswith("price: back under 100: 50 (above 100 for 6")


def _yaml(tmp_path, data: dict) -> str:  # type: ignore[type-arg]
    path = tmp_path / "tally.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return str(path)


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def cli_clock(monkeypatch):  # type: ignore[no-untyped-def]
    """The command line's clock, set by the test (the ticks' wall clock is 20 s in)."""
    now = {"at": START}
    for module in ("tally.commands.silence", "tally.commands.alerts"):
        monkeypatch.setattr(f"{module}.clock", lambda: now["at"])
    return now


def test_tally_silence_holds_messages_until_it_is_lifted(
    knob, receiver, tick_runner, capsys, tmp_path, cli_clock, store
):
    data = {
        "timezone": "Asia/Tokyo",
        "notify": {"hook": receiver.url()},
        "alerts": QUICK,
        "sources": [knob.source("price", alerts={"above": 100})],
    }
    path = _yaml(tmp_path, data)
    config = make_config(data["sources"], data["notify"], alerts=QUICK)
    code, out, _ = _cli(capsys, "silence", "price", "30m", "--reason", "deploy", "--config", path)
    assert code == 0 and out.startswith("silenced price until 2026-11-25 17:30 JST (id ")
    silence_id = out.strip().rsplit(" ", 1)[1].rstrip(")")
    _run(knob, tick_runner, config, {1: 150, 2: 150})
    assert receiver.take() == []
    code, out, _ = _cli(capsys, "silence", "--list", "--config", path)
    assert out.splitlines() == [f"{silence_id}  price  until 2026-11-25 17:30 JST: deploy"]
    render_site(config, store, tmp_path / "site", now=START + timedelta(minutes=3))
    index = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert "deploy" in index and f"silence {silence_id}" in index
    code, out, _ = _cli(capsys, "silence", "--lift", "price", "--config", path)
    assert code == 0 and out.strip() == f"lifted {silence_id} (price)"
    cli_clock["at"] = START + timedelta(minutes=4)
    _run(knob, tick_runner, config, {4: 150})
    [(kind, text)] = _messages(receiver)
    assert kind == "failure" and "while alerts were silenced" in text
    code, out, err = _cli(capsys, "silence", "--lift", "price", "--config", path)
    assert code == 1 and "no silence in force" in err
    code, out, _ = _cli(capsys, "silence", "all", "1h", "--config", path)
    assert out.startswith("silenced every source until 2026-11-25 18:04 JST")


def test_an_acknowledged_incident_gets_no_more_reminders(
    knob, receiver, tick_runner, capsys, tmp_path, cli_clock, store
):
    data = {
        "timezone": "Asia/Tokyo",
        "notify": {"hook": receiver.url()},
        "renotify_after": "5m",
        "alerts": QUICK,
        "sources": [knob.source("price", alerts={"above": 100})],
    }
    path = _yaml(tmp_path, data)
    config = make_config(data["sources"], data["notify"], renotify_after="5m", alerts=QUICK)
    _run(knob, tick_runner, config, {minute: 150 for minute in range(6)})
    assert [kind for kind, _ in _messages(receiver)] == ["failure", "warning"]
    code, out, err = _cli(capsys, "alerts", "ack", "price/20261125T0900Z-above", "--config", path)
    assert code == 1 and "no open incident" in err
    code, out, _ = _cli(capsys, "alerts", "--config", path, "ack", "price/20261125T0800Z-above")
    assert code == 0 and out.strip() == (
        "acknowledged price/20261125T0800Z-above: no more reminders for it"
    )
    _run(knob, tick_runner, config, {minute: 150 for minute in range(6, 16)})
    assert receiver.take() == []
    code, out, _ = _cli(capsys, "alerts", "--config", path)
    assert out.strip().endswith("id price/20261125T0800Z-above  [acknowledged]")
    render_site(config, store, tmp_path / "site", now=START + timedelta(minutes=16))
    index = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert "acknowledged 2026-11-25 17:00 JST: no reminders" in index
    _run(knob, tick_runner, config, {16: 50})
    assert [kind for kind, _ in _messages(receiver)] == ["success"]  # its end is still told
