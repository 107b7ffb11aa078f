"""Object names Cloud Storage accepts, checked before anything is written under one.

Cloud Storage's rules (https://cloud.google.com/storage/docs/objects#naming): 1 to
1,024 bytes of valid UTF-8, no carriage return or line feed, not `.` or `..`, not
under `.well-known/acme-challenge/`. tally adds what a name on a public page and in
a folder must not have either: control characters and the characters Google
recommends against because they break URLs (`#`, `?`, `[`, `]`, `*`), a leading `/`
or a `.`/`..` segment (which would leave `tally render --out DIR`). Every name a
render, `tally local` or the config upload writes passes through `checked`, so a
name no bucket takes fails where it is made, naming itself, and never half-way
through an upload.
"""

from __future__ import annotations

import re

MAX_BYTES = 1024
ACME = ".well-known/acme-challenge/"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_URL_BREAKING = frozenset("#?[]*")


class IllegalObjectName(ValueError):
    """A name Cloud Storage (or a URL, or a folder) cannot hold."""


def problem(name: str) -> str | None:
    """Why `name` cannot be an object's name, or None when it can."""
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        return "not valid UTF-8"
    if not 1 <= size <= MAX_BYTES:
        return f"{size} bytes long (1 to {MAX_BYTES})"
    if "\r" in name or "\n" in name:
        return "holds a line break"
    if _CONTROL.search(name):
        return "holds a control character"
    breaking = sorted(set(name) & _URL_BREAKING)
    if breaking:
        return f"holds {''.join(breaking)!r}, which breaks its URL"
    if name.startswith("/"):
        return "starts with '/'"
    if any(segment in (".", "..") for segment in name.split("/")):
        return "has a '.' or '..' segment"
    if name.startswith(ACME):
        return f"is under {ACME}"
    return None


def checked(name: str) -> str:
    """`name`, or IllegalObjectName saying what is wrong with it."""
    why = problem(name)
    if why is not None:
        raise IllegalObjectName(f"object name {name!r} {why}")
    return name
