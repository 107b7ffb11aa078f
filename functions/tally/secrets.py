"""`${env:NAME}` in tally.yaml, resolved at fetch time and never written anywhere.

Values are registered with the log redactor as they are resolved, so even an error
message that echoes a header (some HTTP libraries do) is scrubbed before it is
logged, stored in Firestore or shown on the page.
"""

from __future__ import annotations

import os
import re
import threading

ENV_REF = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")

_lock = threading.Lock()
_known: set[str] = set()


class MissingSecret(LookupError):
    """A `${env:NAME}` whose variable is not set where the collector runs."""


def resolve(template: str) -> str:
    """Expand every `${env:NAME}` in `template`; raise MissingSecret naming the variable."""

    def _value(match) -> str:  # type: ignore[no-untyped-def]
        name = match.group(1)
        value = os.environ.get(name)
        if value is None:
            raise MissingSecret(f"environment variable {name} is not set")
        if len(value) >= 4:
            with _lock:
                _known.add(value)
        return value

    return ENV_REF.sub(_value, template)


def redact(text: str) -> str:
    """Replace every secret value seen so far with `***`."""
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for value in known:
        text = text.replace(value, "***")
    return text


def protect(value: str) -> None:
    """Redact `value` from now on too (a part of a secret that may appear on its own)."""
    if len(value) >= 4:
        with _lock:
            _known.add(value)
