"""Redaction before any transformation, and a net under it for escaped forms and pieces.

Each case is one that published a piece of a secret before: a key with a backslash
echoed and repr()'d (the backslash doubled, so the exact key was not found), a long
key cut to a 60-character preview, a channel that is a bare token quoted by its first
characters. The end-to-end scan of every output is tests/alerts/test_secrets_e2e.py.
"""

from __future__ import annotations

import json
import random
import string
from urllib.parse import quote

import pytest
from markupsafe import escape
from tally import secrets
from tally.alerts import channels
from tally.numbers import NotANumber, parse_number
from tally.sample import MAX_REASON_CHARS, short_reason

ALPHABET = string.ascii_letters + string.digits + "\\'\"-_$%"


def make_secret(monkeypatch, name: str, length: int, seed: int) -> str:
    """A secret of `length` characters with a backslash and both quotes in it, set as
    $`name` and resolved the way a fetch resolves it."""
    rng = random.Random(seed)
    body = "".join(rng.choice(ALPHABET) for _ in range(length - 3))
    value = body[:10] + "\\" + body[10:30] + '"' + body[30:50] + "'" + body[50:]
    monkeypatch.setenv(name, value)
    assert secrets.resolve("${env:" + name + "}") == value
    return value


def pieces(secret: str, size: int = 8) -> list[str]:
    return [secret[i : i + size] for i in range(len(secret) - size + 1)]


def leaked(text: str, secret: str) -> list[str]:
    return [piece for piece in pieces(secret) if piece in text]


def test_a_key_with_a_backslash_is_redacted_after_repr_json_html_and_url_quoting(monkeypatch):
    key = make_secret(monkeypatch, "TALLY_T_BACKSLASH", 40, seed=1)
    for shown in (
        repr(key),
        repr(repr(key)),
        json.dumps({"echo": key}),
        json.dumps(repr(key)),
        quote(key, safe=""),
        f"<p>{escape(key)}</p>",  # as Jinja's autoescape shows it
        str(KeyError(key)),
    ):
        assert leaked(secrets.redact(shown), key) == [], shown


def test_a_long_key_cut_to_a_preview_leaves_no_piece_of_it(monkeypatch):
    key = make_secret(monkeypatch, "TALLY_T_LONG", 70, seed=2)
    with pytest.raises(NotANumber) as caught:
        parse_number(f"token {key} price none")
    assert leaked(str(caught.value), key) == []
    assert "***" in str(caught.value)
    # a reason that the upstream itself cut (the key's first 30 characters at the end)
    reason = short_reason("x" * (MAX_REASON_CHARS - 20) + key[:30])
    assert leaked(reason, key) == [] and len(reason) <= MAX_REASON_CHARS


def test_a_piece_of_a_key_is_masked_wherever_it_is_and_the_rest_of_the_text_kept(monkeypatch):
    key = make_secret(monkeypatch, "TALLY_T_PIECE", 100, seed=3)
    text = f"before {key[5:13]} middle {key[40:71]} after"
    assert secrets.redact(text) == "before *** middle *** after"
    assert secrets.redact(f"a{key[5:12]}b") == f"a{key[5:12]}b"  # 7 characters: no piece


def test_a_host_name_secret_does_not_mask_its_domain_everywhere(monkeypatch):
    monkeypatch.setenv("TALLY_T_HOST", "api-7f3k9q2m.internal.invalid")
    secrets.resolve("${env:TALLY_T_HOST}")
    assert secrets.redact("host not found: other-host.invalid") == (
        "host not found: other-host.invalid"
    )
    assert secrets.redact("redirect to api-7f3k9q2m.internal.invalid") == "redirect to ***"


def test_a_channel_that_is_a_bare_token_is_never_quoted(monkeypatch):
    token = "k9Xq2LmP7rT4" + "".join(random.Random(4).choices(string.ascii_letters, k=28))
    monkeypatch.setenv("TALLY_T_BARE_CHANNEL", token)
    problem = channels.check(
        "pager", "${env:TALLY_T_BARE_CHANNEL}", {"TALLY_T_BARE_CHANNEL": token}
    )
    assert problem == (
        "channel 'pager': field 'notify.pager': Apprise cannot use this URL: no Apprise "
        "service for it: a channel URL starts with the scheme of a service Apprise knows "
        "(json://, mailto://, slack://, ntfy://, …)"
    )
    outcome = channels.send("pager", "${env:TALLY_T_BARE_CHANNEL}", "title", "body", "failure")
    assert not outcome.delivered and leaked(outcome.error or "", token) == []
    assert token[:4] not in (outcome.error or "")
