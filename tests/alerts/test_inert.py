"""Messages are inert text: whatever a channel renders (an HTML e-mail, Markdown in a
chat app), text from the web or from tally.yaml never becomes a link, an image, markup
or a mention there. The one link a message carries is tally's own page.

Through real receivers: aiosmtpd (both parts of the e-mail), a JSON webhook, and a
loopback server speaking Mattermost's webhook (a service that renders Markdown)."""

from __future__ import annotations

import html
import re

import pytest

from tests.alerts.conftest import IMMEDIATE, make_config

# What a compromised or hostile shop page shows where the price should be (the reason
# quotes the first 60 characters of it).
FROM_THE_WEB = '<a href="https://ev.il/x">Go</a><img src=//ev.il>**b**@here'
# What a careless tally.yaml may name a source.
FROM_THE_CONFIG = "Shop <b>deal</b> [link](https://ev.il/n) _x_ www.ev.il @everyone"
PAGE = "https://example.test/site/s/shop.html"


@pytest.fixture
def hostile_shop(hostile):  # type: ignore[no-untyped-def]
    body = f'<html><body><p class="price">{html.escape(FROM_THE_WEB)}</p></body></html>'
    return hostile.serve("/shop", body)


def _down(hostile_shop, channels, tick_runner) -> None:  # type: ignore[no-untyped-def]
    source = {
        "id": "shop",
        "name": FROM_THE_CONFIG,
        "kind": "html",
        "url": hostile_shop,
        "selector": ".price",
        "every": "1m",
        "alerts": {"down_after": 1},
    }
    config = make_config([source], channels, site_url="https://example.test/site", alerts=IMMEDIATE)
    tick_runner(config, 0)


def _no_live_link(text: str) -> None:
    """Nothing a client would follow: no scheme, no host name of the attacker's."""
    assert "https://ev.il" not in text and "ev.il" not in text.replace("ev[.]il", "")
    assert "www.ev" not in text
    assert "@everyone" not in text and "@here" not in text


def test_an_email_carries_web_and_config_text_as_text_in_both_parts(
    hostile_shop, smtp, tick_runner
):
    _down(hostile_shop, {"mail": smtp.url()}, tick_runner)
    [mail] = smtp.messages
    plain = mail.get_body(preferencelist=("plain",)).get_content()
    rich = mail.get_body(preferencelist=("html",)).get_content()
    assert mail.get_content_type() == "multipart/alternative"  # both parts
    # the plain part: the words are there, no live address
    assert "Go</a>" in plain and "hxxps[:]//ev[.]il/x" in plain
    _no_live_link(plain)
    assert PAGE in plain
    # the HTML part: markup from the web and the config is escaped text, and the only
    # element that links anywhere is the page's own
    assert "&lt;a href=" in rich and "&lt;img src=" in rich and "&lt;b&gt;deal" in rich
    assert "**b**" in rich  # Markdown means nothing in HTML: shown as written
    assert re.findall(r"<a\b[^>]*>", rich) == [f'<a href="{PAGE}">']
    assert "<img" not in rich and "<b>deal" not in rich
    _no_live_link(rich.replace(PAGE, ""))
    assert "Shop" in mail["Subject"] and "ev.il" not in mail["Subject"]


def test_a_json_webhook_gets_plain_inert_text_and_the_page(hostile_shop, receiver, tick_runner):
    _down(hostile_shop, {"hook": receiver.url()}, tick_runner)
    [message] = receiver.take()
    assert message.message.startswith(
        "Shop <b>deal</b> [link](hxxps[:]//ev[.]il/n) _x_ www[.]ev[.]il @\u2024everyone (shop): "
    )
    assert '<a href="hxxps[:]//ev[.]il/x">Go</a>' in message.message
    assert message.message.endswith(f" — {PAGE}")
    _no_live_link(message.message.replace(PAGE, ""))
    _no_live_link(message.title)


def test_a_markdown_chat_gets_every_markdown_character_escaped(hostile_shop, receiver, tick_runner):
    """Mattermost renders a webhook's text as Markdown: `**b**` and the name's
    `[link](…)` arrive escaped, so they show as written; the page's address is left
    bare for the app to link."""
    _down(hostile_shop, {"chat": f"mmost://127.0.0.1:{receiver.port}/tok3n"}, tick_runner)
    [message] = receiver.take()
    text = message.data["text"]
    assert r"\*\*b\*\*" in text and r"\[link\]\(" in text
    assert "](" not in text.replace(r"\](", "")  # no Markdown link left
    assert r"\_x\_" in text
    assert text.endswith(f" — {PAGE}")
    _no_live_link(text.replace(PAGE, ""))
