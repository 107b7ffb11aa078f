"""`${env:NAME}` in tally.yaml, resolved at fetch time and never written anywhere.

Values are registered with the redactor as they are resolved, so even an error
message that echoes a header (some HTTP libraries do) is scrubbed before it is
logged, stored in Firestore or shown on the page.

Redaction comes before any transformation: whoever quotes, cuts, previews, repr()s
or escapes a text that may hold a secret redacts it first (numbers._preview,
sample.short_reason, alerts/channels). As a net under that rule, `redact` also
removes, for every known secret,
  - its escaped forms: repr (a backslash doubled, a quote escaped), JSON, HTML and
    URL-quoted, and one escape on top of another (repr of a JSON string, …);
  - any piece of it 8 characters or longer (PIECE), escaped or not: what a cut left
    of it (a 60-character preview of a 70-character key), in texts up to NET_CHARS
    long. Every text tally shows or stores is far shorter, and is redacted again at
    that point (the stored reason, the log line), so a longer one is covered there.
    Pieces are taken within the runs of a secret between spaces and `.,;:@`: all of
    a key, but not `.example` of a secret host name, which many texts hold.
A secret that is a URL (a channel's Apprise URL, a source URL from the environment)
is redacted whole, and its parts that look like keys (password, user, path segments
and query values with a digit, or long) as secrets of their own, since messages
quote them one at a time; its host and path words are not, or every log line that
names the host would lose it.
"""

from __future__ import annotations

import html
import json
import os
import re
import threading
from collections.abc import Callable
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlsplit

ENV_REF = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")

MASK = "***"
MIN_SECRET = 4  # shorter values would mask ordinary words
PIECE = 8  # a piece of a secret this long is masked too
NET_CHARS = 64 * 1024  # texts up to this long are searched for pieces
_SECRETISH = 6  # URL parts this long with a digit are secrets (tokens, keys)
_LONG_TOKEN = 16  # and any part this long, digits or not
_REQUESTS_SAFE = "!#$%&'()*+,/:;=?@[]~"  # what requests leaves unquoted in a URL
# Pieces are looked for within each run of a secret between these: a key has none,
# and a host name's `.example` or a `Bearer ` prefix must not be masked everywhere.
_RUN_BREAKS = re.compile(r"[\s.,;:@]+")

_lock = threading.Lock()
_known: set[str] = set()  # masked whole, with their escaped forms
_tokens: set[str] = set()  # masked in pieces too (not URLs: their host would go)
_version = 0


class _Net:
    """The PIECE-long windows of every token secret's forms, and their GRAM-long parts
    (a piece of PIECE characters holds a GRAM at some position that is a multiple of
    GRAM, so the text is looked at every GRAM characters, not at every one)."""

    GRAM = PIECE // 2

    def __init__(self, forms: set[str]) -> None:
        self.windows = frozenset(
            form[i : i + PIECE] for form in forms for i in range(len(form) - PIECE + 1)
        )
        self.grams = frozenset(
            window[i : i + self.GRAM]
            for window in self.windows
            for i in range(PIECE - self.GRAM + 1)
        )

    def mask(self, text: str) -> str:
        """Every run of `text` covered by windows of a secret, masked."""
        starts: set[int] = set()
        last = len(text) - PIECE
        for i in range(0, len(text) - self.GRAM + 1, self.GRAM):
            if text[i : i + self.GRAM] in self.grams:
                for j in range(max(0, i - self.GRAM), min(i, last) + 1):
                    if text[j : j + PIECE] in self.windows:
                        starts.add(j)
        if not starts:
            return text
        spans: list[list[int]] = []
        for start in sorted(starts):
            if spans and start <= spans[-1][1]:  # overlapping or touching: one run
                spans[-1][1] = start + PIECE
            else:
                spans.append([start, start + PIECE])
        out, at = [], 0
        for start, end in spans:
            out += [text[at:start], MASK]
            at = end
        return "".join(out) + text[at:]


_cache: tuple[int, list[str], _Net] = (-1, [], _Net(set()))


class MissingSecret(LookupError):
    """A `${env:NAME}` whose variable is not set where the collector runs."""


def resolve(template: str) -> str:
    """Expand every `${env:NAME}` in `template`; raise MissingSecret naming the variable."""

    def _value(match) -> str:  # type: ignore[no-untyped-def]
        name = match.group(1)
        value = os.environ.get(name)
        if value is None:
            raise MissingSecret(f"environment variable {name} is not set")
        protect(value)
        return value

    return ENV_REF.sub(_value, template)


def protect(value: str) -> None:
    """Redact `value` from now on (and, for a URL, its key-shaped parts)."""
    global _version
    if len(value) < MIN_SECRET:
        return
    url = "://" in value
    with _lock:
        if value in _known:
            return
        _known.add(value)
        if not url:
            _tokens.add(value)
        _version += 1
    if url:
        for part in url_secrets(value):
            protect(part)


def known() -> list[str]:
    """Every value redacted now: a reader process (sources/readers.py) is handed them
    with each body, so that it redacts before it cuts or quotes, as this one does."""
    with _lock:
        return sorted(_known)


def url_secrets(url: str) -> list[str]:
    """The parts of a URL that are keys rather than words: its password, and its user,
    path segments, query values and fragment when shaped like a token (`T0123ABCD`, a 24-letter
    key; not `services`, `webhooks` or a host name)."""
    try:
        parts = urlsplit(url)
        password, user = parts.password, parts.username
    except ValueError:
        return []
    pieces = [unquote(segment) for segment in parts.path.split("/")]
    pieces += [value for _, value in parse_qsl(parts.query)]
    pieces += [unquote(parts.fragment)]
    found = [unquote(password)] if password else []
    return found + [piece for piece in [unquote(user or ""), *pieces] if _token_shaped(piece)]


def _token_shaped(piece: str) -> bool:
    if len(piece) < _SECRETISH:
        return False
    return len(piece) >= _LONG_TOKEN or any(c.isdigit() for c in piece)


# --- what a secret looks like once something has escaped it ---------------------------


def _html(text: str) -> str:
    """Jinja's and markupsafe's escaping (numeric quotes), beside html.escape's."""
    for raw, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&#34;")):
        text = text.replace(raw, entity)
    return text.replace("'", "&#39;")


def _unicode_escape(text: str) -> str:
    return text.encode("unicode_escape").decode("ascii")


_STRING_ESCAPES: list[Callable[[str], str]] = [
    lambda s: s.replace("\\", "\\\\"),
    lambda s: repr(s)[1:-1],
    lambda s: _unicode_escape(s).replace("'", "\\'"),
    lambda s: _unicode_escape(s).replace('"', '\\"'),
    lambda s: json.dumps(s)[1:-1],
    lambda s: json.dumps(s, ensure_ascii=False)[1:-1],
]
_ESCAPES: list[Callable[[str], str]] = [
    *_STRING_ESCAPES,
    html.escape,
    lambda s: html.escape(s, quote=False),
    _html,
    lambda s: quote(s, safe=""),
    lambda s: quote(s, safe="/"),
    lambda s: quote(s, safe=_REQUESTS_SAFE),
    quote_plus,
    lambda s: re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(s, safe="")),
]


def escaped_forms(secret: str) -> set[str]:
    """`secret` and what it becomes once escaped, or escaped and then quoted again."""
    once = {escape(secret) for escape in _ESCAPES}
    twice = {escape(form) for form in once for escape in _STRING_ESCAPES}
    return {secret} | once | twice


def _forms() -> tuple[list[str], _Net]:
    """Every known secret's forms, longest first, and the net of the token secrets'
    pieces (built again only when a secret was added)."""
    global _cache
    with _lock:
        version, known, tokens = _version, set(_known), set(_tokens)
        if _cache[0] == version:
            return _cache[1], _cache[2]
    forms = set().union(*(escaped_forms(value) for value in known)) if known else set()
    runs = {run for token in tokens for run in _RUN_BREAKS.split(token) if len(run) >= PIECE}
    net = _Net(set().union(*(escaped_forms(run) for run in runs)) if runs else set())
    ordered = sorted((form for form in forms if len(form) >= MIN_SECRET), key=len, reverse=True)
    with _lock:
        _cache = (version, ordered, net)
    return ordered, net


def redact(text: str) -> str:
    """`text` with every known secret, escaped form and piece of one replaced by ***."""
    if not _known:
        return text
    forms, net = _forms()
    for form in forms:
        if form in text:
            text = text.replace(form, MASK)
    if net.windows and len(text) <= NET_CHARS:
        text = net.mask(text)
    return text
