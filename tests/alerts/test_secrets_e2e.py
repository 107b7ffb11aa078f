"""No piece of a secret reaches any output (issue 16, item 5), end to end.

Secrets with backslashes and quotes, 100 characters long, are set in the environment
and used as tally.yaml says: in headers, in a URL's query, as a channel URL with a
scheme (its password and path token) and as one without. A loopback upstream echoes
everything it was sent back in every way (the text a selector reads, an error page,
a redirect's Location, a header); the real commands then run on the Firestore
emulator: collect (alerting and delivery to a loopback receiver with it), render into
a folder, export, validate, alerts and notify test. Every output is scanned for any
8-character piece of any secret, raw or escaped: the page's files, every Firestore
document (the render's compressed blobs unpacked), the commands' stdout and stderr
(with the log lines: `tally -v`), and every message the receiver got.
"""

from __future__ import annotations

import html
import json
import random
import string
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml
from tally.cli import main

from tests.support.echo import Echo

PIECE = 8
REQUESTS_SAFE = "!#$%&'()*+,/:;=?@[]~"


def _secret(rng: random.Random, length: int, alphabet: str) -> str:
    """`length` characters with a backslash, a double and a single quote among them."""
    body = "".join(rng.choice(alphabet) for _ in range(length - 3))
    return body[:17] + "\\" + body[17:41] + '"' + body[41:69] + "'" + body[69:]


RNG = random.Random(16)
WORDS = string.ascii_letters + string.digits
HEADER = _secret(RNG, 100, WORDS + "-_$%")  # an API key in a header
QUERY = _secret(RNG, 100, WORDS + "-_")  # an API key in the URL's query
BARE = _secret(RNG, 100, WORDS + "-_")  # a channel set to a token without a scheme
TOKEN = "".join(RNG.choice(WORDS) for _ in range(48))  # a webhook's path token
PASSWORD = _secret(RNG, 40, WORDS + "-_")  # a channel's password (Basic auth)
SECRETS = {"header": HEADER, "query": QUERY, "bare": BARE, "token": TOKEN, "password": PASSWORD}


def _forms(secret: str) -> set[str]:
    """The secret as it would look quoted or escaped by whatever printed it."""
    return {
        secret,
        repr(secret)[1:-1],
        json.dumps(secret)[1:-1],
        html.escape(secret),
        html.escape(secret).replace("&quot;", "&#34;").replace("&#x27;", "&#39;"),
        quote(secret, safe=""),
        quote(secret, safe=REQUESTS_SAFE),
    }


PIECES = {
    piece: name
    for name, secret in SECRETS.items()
    for form in _forms(secret)
    for piece in (form[i : i + PIECE] for i in range(len(form) - PIECE + 1))
}


def leaks(where: str, text: str) -> list[str]:
    return [f"{where}: {PIECES[piece]} {piece!r}" for piece in PIECES if piece in text]


@pytest.fixture
def echo() -> Iterator[Echo]:
    server = Echo()
    yield server
    server.stop()


def _config(path: Path, echo: Echo, receiver) -> Path:
    def source(source_id: str, kind: str, route: str, **extra):
        return {
            "id": source_id,
            "kind": kind,
            "url": f"{echo.url}/{route}?key=${{env:TALLY_E2E_QUERY}}&n=1",
            "every": "1m",
            "alerts": {"down_after": 1},
            **extra,
        }

    header = {"X-Api-Key": "${env:TALLY_E2E_HEADER}"}
    bearer = {"Authorization": "Bearer ${env:TALLY_E2E_HEADER}"}
    config = {
        "title": "secrets",
        "notify": {"hook": "${env:TALLY_E2E_HOOK}", "bare": "${env:TALLY_E2E_BARE}"},
        "sources": [
            source("json-echo", "json", "json", query="value", headers=header),
            source("html-echo", "html", "html", selector=".v", headers=bearer),
            source("error-echo", "json", "error", query="value", headers=header),
            source("redirect-echo", "json", "redirect", query="value", headers=header),
            source("check-echo", "http", "check", expect_body="pong", headers=header),
            source("notjson-echo", "json", "notjson", query="value", headers=header),
        ],
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def _firestore_documents() -> list[tuple[str, str]]:
    """Every document in the emulator as text; zlib blobs (the render's) unpacked."""
    from google.cloud import firestore

    from tests.support.emulators import PROJECT

    client = firestore.Client(project=PROJECT)
    found = []

    def text_of(value) -> str:  # type: ignore[no-untyped-def]
        if isinstance(value, bytes):
            try:
                return zlib.decompress(value).decode("utf-8")
            except zlib.error:
                return value.decode("latin-1")
        if isinstance(value, dict):
            return " ".join(f"{key} {text_of(item)}" for key, item in value.items())
        if isinstance(value, list):
            return " ".join(text_of(item) for item in value)
        return str(value)

    def walk(collections) -> None:  # type: ignore[no-untyped-def]
        for collection in collections:
            for ref in collection.list_documents():
                snapshot = ref.get()
                if snapshot.exists:
                    found.append((ref.path, text_of(snapshot.to_dict())))
                walk(ref.collections())

    walk(client.collections())
    return found


def test_no_piece_of_a_secret_reaches_any_output(
    firestore, echo, receiver, capsys, tmp_path, monkeypatch
):
    monkeypatch.setenv("TALLY_E2E_HEADER", HEADER)
    monkeypatch.setenv("TALLY_E2E_QUERY", QUERY)
    monkeypatch.setenv("TALLY_E2E_BARE", BARE)
    hook = f"json://tally:{quote(PASSWORD, safe='')}@localhost:{receiver.port}/hook/{TOKEN}"
    monkeypatch.setenv("TALLY_E2E_HOOK", hook)
    config = str(_config(tmp_path / "tally.yaml", echo, receiver))
    site = tmp_path / "site"
    outputs: list[tuple[str, str]] = []

    def tally(*argv: str) -> int:
        code = main(["-v", *argv])
        out, err = capsys.readouterr()
        outputs.extend([(f"tally {argv[0]} stdout", out), (f"tally {argv[0]} stderr", err)])
        return code

    minute = datetime.now(UTC).replace(second=0, microsecond=0)
    for at in (minute - timedelta(minutes=1), minute):  # a failure, then its retries
        assert tally("collect", "--config", config, "--no-metrics", "--at", at.isoformat()) == 1
    assert tally("render", "--config", config, "--out", str(site)) == 0
    for source_id in ("json-echo", "html-echo", "check-echo"):
        assert tally("export", source_id, "--config", config) == 0
        assert tally("export", source_id, "--config", config, "--format", "json") == 0
    assert tally("validate", "--config", config) == 1  # the bare channel
    assert tally("alerts", "--config", config) == 0
    assert tally("alerts", "--all", "--config", config) == 0
    assert tally("notify", "test", "--config", config) == 1  # the bare channel again

    # the secrets went out, and came back in every way the echo has
    sent = [headers for _, headers in echo.requests]
    assert sum(1 for h in sent if h.get("X-Api-Key") == HEADER) >= 2 * 5
    assert sum(1 for h in sent if h.get("Authorization") == f"Bearer {HEADER}") >= 2
    assert any("/json?moved=" in path for path, _ in echo.requests)
    received = receiver.take()
    assert received, "the hook channel got the alerts"
    messages = [(f"message to {r.path}", json.dumps(r.data, ensure_ascii=False)) for r in received]
    files = [
        (str(path.relative_to(site)), path.read_bytes().decode("utf-8", "replace"))
        for path in sorted(site.rglob("*"))
        if path.is_file()
    ]
    documents = _firestore_documents()
    everything = outputs + messages + files + documents

    # what was redacted was shown: the echoes reached the reasons, the page and the store
    page = (site / "s/json-echo.html").read_text()
    # the query's key, "1", the header's key, the path as sent: each secret masked
    assert "in &#39;*** 1 *** /json?key=***&amp;n=1&#39;: add a regex" in page
    assert "***" in (site / "data/json-echo.json").read_text()
    assert any("***" in text for _, text in documents)
    assert any("bare" in text and "no Apprise service for it" in text for _, text in outputs)

    found = [leak for where, text in everything for leak in leaks(where, text)]
    assert found == [], "\n".join(found[:20])
    assert len(everything) > 40  # every output was read, not none
