"""Notification channels: each an Apprise URL from tally.yaml's `notify:`, sent to with a
short deadline, reported by the channel's *name* and service, never by its URL.

A channel URL is a secret as a whole (a Slack webhook URL is its own token), and it may
hold `${env:NAME}` parts: it is resolved only to send, and what was resolved is added
to the redactor, together with the password and the token-shaped path segments and
query values of the URL, which Apprise's own messages may quote one at a time.
"""

from __future__ import annotations

import html
import logging
import os
import re
from dataclasses import dataclass
from typing import Any

from tally.config import ENV_REF
from tally.secrets import MissingSecret, protect, redact, resolve

SEND_TIMEOUT = 10.0  # seconds for one message to one channel, whatever the service does
CONNECT_TIMEOUT = 4.0  # of those, at most this long to connect (Apprise's own default)
_ABANDON_SLACK = 5.0  # a call Apprise stopped waiting for ends on its own this much later
# Services that render Markdown in a message Apprise sends them as text (Discord shows a
# webhook's `content` as Markdown whatever the format; Mattermost and Zulip a message's
# text): their text is escaped as Markdown too.
_RENDERS_MARKDOWN = {"NotifyDiscord", "NotifyMattermost", "NotifyZulip"}
_URL_WORD = 3  # no word of a channel's URL this long is quoted in an error

# Apprise reports through its own logger, which a deployed function's root handler would
# print unredacted; tally reads each send's captured lines (AppriseResult) instead.
logging.getLogger("apprise").propagate = False


@dataclass(frozen=True)
class Outcome:
    channel: str
    service: str
    delivered: bool
    error: str | None = None
    unanswered: bool = False  # sent, but no answer within the deadline: it may have arrived


def _asset() -> Any:
    from apprise import AppriseAsset

    # memory only: a function's file system is read-only, and nothing needs to persist
    return AppriseAsset(app_id="tally", app_desc="tally", storage_mode="memory")


def _protect_parts(url: str) -> None:
    """Redact the URL and the parts of it Apprise's messages may quote one at a time:
    its password, and every path segment and query value shaped like a token
    (secrets.url_secrets); a URL without a scheme is redacted as one token."""
    protect(url)


def _without_url(text: str, url: str) -> str:
    """Apprise's words about `url` with no piece of the URL left in them: every word of
    it (scheme, user, host, path segment, query value) is masked, not only its keys."""
    text = redact(text)
    for word in sorted(set(re.split(r"[^\w%~-]+", url)), key=len, reverse=True):
        if len(word) >= _URL_WORD:
            text = text.replace(word, "***")
    return text


def resolved_url(template: str) -> str:
    """The channel's URL with its `${env:NAME}` parts; raises MissingSecret."""
    url = resolve(template)
    _protect_parts(url)
    return url


def _instantiate(url: str) -> Any:
    """Apprise's plugin for `url`; ValueError with Apprise's reason when it cannot be used."""
    from apprise import Apprise

    try:
        plugin = Apprise.instantiate(url, asset=_asset(), suppress_exceptions=False)
    except Exception as exc:  # noqa: BLE001 - Apprise raises its own and TypeErrors alike
        raise ValueError(_without_url(str(exc), url) or type(exc).__name__) from None
    if plugin is None:  # the URL is the secret: not even its first characters are quoted
        raise ValueError(
            "no Apprise service for it: a channel URL starts with the scheme of a service "
            "Apprise knows (json://, mailto://, slack://, ntfy://, …)"
        )
    return plugin


# The documented placeholder of the examples' channel addresses (tally.example.yaml,
# docs/alerts.md): a copied example must never post to an address strangers share (an
# ntfy.sh topic anyone can subscribe to), so a channel holding it is warned about by
# `tally validate` and sent nothing until it is replaced.
PLACEHOLDER = "CHANGE-ME"


def placeholder_problem(name: str, template: str) -> str | None:
    """Why a channel is not to be sent to yet: it still holds the placeholder."""
    if PLACEHOLDER not in template:
        return None
    return (
        f"channel {name!r}: field 'notify.{name}' still holds the placeholder {PLACEHOLDER}: "
        "put your own address there (nothing is sent to it until then)"
    )


def check(name: str, template: str, environ: dict[str, str]) -> str | None:
    """The problem with a channel's URL, or None. Unset `${env:NAME}` parts are replaced
    by a placeholder (they are reported separately), unless the whole URL is one."""
    names = ENV_REF.findall(template)
    if names and all(n not in environ for n in names) and ENV_REF.fullmatch(template.strip()):
        return None  # nothing to parse until the variable is set
    url = ENV_REF.sub(lambda m: environ.get(m.group(1), "placeholder"), template)
    if names:
        _protect_parts(url)
    try:
        _instantiate(url)
    except ValueError as exc:
        return f"channel {name!r}: field 'notify.{name}': Apprise cannot use this URL: {exc}"
    return None


def _reason(result: Any, timeout: float) -> str:
    lines = [str(getattr(entry, "message", entry)) for entry in result.logs()]
    text = "; ".join(line.strip() for line in lines if line.strip())
    if getattr(result, "timeout_count", 0):
        text = f"no answer within {timeout:g}s" + (f" ({text})" if text else "")
    text = re.sub(r"\s+", " ", text) or "the service refused the message"
    return redact(text)[:300]


def fit_timeouts(plugin: Any, deadline: float) -> None:
    """Make the plugin's socket timeouts agree with tally's deadline. Connecting gets
    CONNECT_TIMEOUT at most: a channel that cannot be reached is a plain failure, retried
    as usual. Once the request is out, tally's deadline decides how long to wait for the
    answer: the plugin's own read timeout (4 s in Apprise) would otherwise call a slow
    but working channel a failure, and every retry would deliver the message again.
    smtplib has one timeout for every socket operation, so e-mail waits the deadline."""
    from apprise.plugins.email import NotifyEmail

    after = deadline + _ABANDON_SLACK  # Apprise's deadline strikes first, as "no answer"
    plugin.socket_read_timeout = after
    if isinstance(plugin, NotifyEmail):
        plugin.socket_connect_timeout = after
    else:
        plugin.socket_connect_timeout = min(CONNECT_TIMEOUT, deadline / 2)


def render(plugin: Any, title: str, body: str, link: str | None) -> tuple[str, str, str]:
    """(title, body, body_format) of a message for this plugin: inert text in the format
    the channel renders, with tally's page as the one link.

        HTML      (e-mail, Telegram, …)  the text escaped; the page an <a href>; e-mail
                  gets both parts (Apprise makes the text/plain one from it)
        Markdown  (Slack, Discord, Rocket.Chat, Teams, …)  every Markdown character
                  escaped; the page's address bare, which the app links itself
        text      (a JSON or form webhook, ntfy, …)  as it is, the address after it
    """
    from apprise import NotifyFormat
    from apprise.conversion.format import text_to_markdown

    formats = plugin._formats()
    preferred = formats[0] if formats else NotifyFormat.TEXT
    blended = plugin.title_maxlen <= 0  # Apprise puts the title into the body as it is
    markdown_anyway = any(kind.__name__ in _RENDERS_MARKDOWN for kind in type(plugin).__mro__)
    if preferred == NotifyFormat.HTML:
        html_body = html.escape(body, quote=False)
        if link:
            address = html.escape(link, quote=True)
            html_body += f' — <a href="{address}">{address}</a>'
        shown = html.escape(title, quote=False) if blended else title
        return shown, html_body, NotifyFormat.HTML.value
    if preferred == NotifyFormat.MARKDOWN or markdown_anyway:
        md_body = text_to_markdown(body) + (f" — {link}" if link else "")
        shown = text_to_markdown(title) if blended or markdown_anyway else title
        return shown, md_body, NotifyFormat.MARKDOWN.value
    return title, body + (f" — {link}" if link else ""), NotifyFormat.TEXT.value


def send(
    name: str,
    template: str,
    title: str,
    body: str,
    notify_type: str,
    timeout: float | None = None,
    link: str | None = None,
) -> Outcome:
    """Send one message to one channel within `timeout` (SEND_TIMEOUT) seconds; never
    raises. `unanswered`: the request went out and no answer came in time, so it may
    have arrived (the outbox tries such a message once more, never again)."""
    from apprise import Apprise

    timeout = timeout or SEND_TIMEOUT
    redirect = os.environ.get("TALLY_NOTIFY_REDIRECT")
    if redirect:  # `tally local`: every channel's messages go to its terminal sink
        template = f"{redirect.rstrip('/')}/{name}"
    elif (placeholder := placeholder_problem(name, template)) is not None:
        return Outcome(name, "unknown service", False, placeholder)
    try:
        plugin = _instantiate(resolved_url(template))
    except MissingSecret as exc:
        return Outcome(name, "unknown service", False, str(exc))
    except ValueError as exc:
        return Outcome(name, "unknown service", False, f"Apprise cannot use the URL: {exc}")
    service = str(plugin.service_name or "unknown service")
    fit_timeouts(plugin, timeout)
    sender = Apprise(asset=_asset())
    sender.add(plugin)
    try:
        shown, text, body_format = render(plugin, title, body, link)
        result = sender.notify(
            body=text,
            title=shown,
            notify_type=notify_type,
            body_format=body_format,
            timeout=timeout,
        )
    except Exception as exc:  # noqa: BLE001 - a plugin's bug is one failed delivery, not a crash
        return Outcome(name, service, False, redact(f"{type(exc).__name__}: {exc}")[:300])
    if bool(result):
        return Outcome(name, service, True)
    unanswered = bool(getattr(result, "timeout_count", 0))
    return Outcome(name, service, False, _reason(result, timeout), unanswered)
