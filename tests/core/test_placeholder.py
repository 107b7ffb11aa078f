"""The examples' channel placeholder (`CHANGE-ME`): `tally validate` warns about it (a
warning: the config is valid), and nothing is ever sent to a channel that holds it."""

from __future__ import annotations

from pathlib import Path

import yaml
from tally.alerts import channels
from tally.cli import main

from tests.support.receiver import Receiver

ROOT = Path(__file__).resolve().parents[2]


def test_validate_warns_about_the_example_s_placeholder(capsys, monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    assert main(["validate", str(ROOT / "tally.example.yaml")]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("ok: ")
    assert (
        "warning: channel 'phone': field 'notify.phone' still holds the placeholder CHANGE-ME: "
        "put your own address there (nothing is sent to it until then)\n"
    ) in err
    assert err.count("CHANGE-ME") == 1  # the other channels hold no placeholder


def test_a_replaced_placeholder_is_no_warning(capsys, tmp_path):
    config = tmp_path / "tally.yaml"
    source = {"id": "a", "kind": "json", "url": "https://example.com/", "query": "a", "every": "1h"}
    config.write_text(
        yaml.safe_dump(
            {"notify": {"phone": "ntfys://ntfy.sh/k3y-only-i-know"}, "sources": [source]}
        ),
        encoding="utf-8",
    )
    assert main(["validate", str(config)]) == 0
    assert capsys.readouterr().err == ""


def test_nothing_is_sent_to_a_placeholder(monkeypatch):
    monkeypatch.delenv("TALLY_NOTIFY_REDIRECT", raising=False)
    receiver = Receiver()
    try:
        held = channels.send("phone", receiver.url(path="/CHANGE-ME"), "t", "b", "info")
        sent = channels.send("phone", receiver.url(path="/mine"), "t", "b", "info")
        assert not held.delivered
        assert held.error == (
            "channel 'phone': field 'notify.phone' still holds the placeholder CHANGE-ME: "
            "put your own address there (nothing is sent to it until then)"
        )
        assert sent.delivered
        assert [item.path for item in receiver.received] == ["/mine"]
    finally:
        receiver.down()
