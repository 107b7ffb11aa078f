"""What a response body says: the number on a page, the entries of a feed, the value a
JMESPath query picks, whether a check's body says what it should.

This is the code that handles text from the web, so it runs in a reader process
(`tally/sources/readers.py` starts them, `reading/process.py` is their loop): there the
kernel bounds its memory and a deadline can stop it, whatever a parser does with a
hostile body. It imports nothing heavy at the top, and nothing of `tally.sources`
(whose kinds pull in pydantic): a reader process starts small.
"""

from __future__ import annotations


class Unreadable(Exception):
    """The body does not hold what the source asks for; `reason` says why (the source's
    failed sample shows it)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason
