"""The patterns people write in tally.yaml (`regex:`, `expect_regex:`), run on RE2.

Python's `re` backtracks: `(\\d+) items` on 40,000 digits takes seconds, and it holds
the interpreter while it does, so no deadline can stop it. RE2 (google-re2) matches in
time linear in the text, whatever the pattern, and releases the interpreter while it
runs. What it cannot run without backtracking (backreferences `\\1`, lookaround
`(?=…)`, `(?<!…)`) it refuses when the pattern is compiled, so `tally validate` names
the source and the field before anything is deployed.

Patterns keep the meaning they had under `re` where RE2 reads the same text
differently (`to_re2`): `\\d`, `\\s`, `\\w` (and `\\D`, `\\S`, `\\W`) stay Unicode-aware, so
`([\\d,]+)円` still reads full-width digits and `\\s` an ideographic space; `$` also
matches before a final newline (`pong$` on `pong\\n`); `\\Z`, `\\uXXXX`, `\\N{NAME}` and
`{,n}` are written the RE2 way. What is left is RE2's syntax (its `\\b` knows ASCII
word characters only; `[\\S]` and `[\\W]` inside a class are ASCII too).
"""

from __future__ import annotations

import functools
import unicodedata
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import re2

# What Python's `re` means by each class on str (str.isspace, str.isalnum, '_',
# str.isdecimal), in RE2's syntax: the parts that fit inside a character class, and
# the class as it stands outside one.
_SPACE = (
    r"\t\n\x0b\f\r\x1c-\x20\x85\xa0\x{1680}\x{2000}-\x{200a}"
    r"\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}"
)
_WORD = r"\p{L}\p{N}_"
_INSIDE = {"d": r"\p{Nd}", "D": r"\P{Nd}", "s": _SPACE, "w": _WORD}
_OUTSIDE = {
    "d": r"\p{Nd}",
    "D": r"\P{Nd}",
    "s": f"[{_SPACE}]",
    "S": f"[^{_SPACE}]",
    "w": f"[{_WORD}]",
    "W": f"[^{_WORD}]",
}


class PatternError(ValueError):
    """A pattern RE2 cannot compile, with RE2's reason."""


def _code_point(text: str) -> str:
    return f"\\x{{{ord(text):x}}}"


def _escape(pattern: str, start: int, in_class: bool) -> tuple[str, int]:
    """The RE2 form of the escape at `pattern[start]` (a backslash), and where it ends."""
    if start + 1 >= len(pattern):
        return "\\", start + 1  # RE2 refuses a trailing backslash, as `re` does
    letter = pattern[start + 1]
    table = _INSIDE if in_class else _OUTSIDE
    if letter in table:
        return table[letter], start + 2
    if letter == "Z" and not in_class:
        return r"\z", start + 2
    if letter in "uU":
        width = 4 if letter == "u" else 8
        digits = pattern[start + 2 : start + 2 + width]
        if len(digits) == width and all(c in "0123456789abcdefABCDEF" for c in digits):
            return f"\\x{{{digits}}}", start + 2 + width
    if letter == "N" and pattern.startswith("{", start + 2):
        end = pattern.find("}", start + 3)
        if end > 0:
            try:
                return _code_point(unicodedata.lookup(pattern[start + 3 : end])), end + 1
            except KeyError:
                raise PatternError(f"unknown character name {pattern[start : end + 1]}") from None
    return pattern[start : start + 2], start + 2


def to_re2(pattern: str) -> str:
    """`pattern` (as `re` reads it) written so that RE2 reads it the same way."""
    out: list[str] = []
    index, in_class, class_start = 0, False, 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            piece, index = _escape(pattern, index, in_class)
            out.append(piece)
            continue
        if in_class:
            # a `]` right after `[` or `[^` is a literal, in `re` and in RE2 alike
            if char == "]" and index > class_start:
                in_class = False
            elif char == "[" and pattern.startswith("[:", index):
                end = pattern.find(":]", index + 2)  # RE2's [:alpha:]: copied whole
                if end > 0:
                    out.append(pattern[index : end + 2])
                    index = end + 2
                    continue
        elif char == "[":
            in_class = True
            class_start = index + 1
            if pattern.startswith("^", class_start):
                class_start += 1
                out.append("[^")
                index += 2
                continue
        elif char == "$":
            char = r"(?:\n?$)"  # `re`'s `$` also matches before a final newline
        elif char == "{" and pattern.startswith("{,", index):
            end = pattern.find("}", index)
            if end > 0 and pattern[index + 2 : end].isdigit():
                out.append("{0," + pattern[index + 2 : end + 1])  # `re`'s {,n} is {0,n}
                index = end + 1
                continue
        out.append(char)
        index += 1
    return "".join(out)


@functools.lru_cache(maxsize=256)
def compiled(pattern: str) -> re2._Regexp:
    """`pattern` compiled by RE2 (cached); PatternError with RE2's reason otherwise."""
    import re2  # ~10 ms: only configs with a pattern pay for it

    options = re2.Options()
    options.log_errors = False  # the reason goes to the caller, not to stderr
    try:
        return re2.compile(to_re2(pattern), options)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise PatternError(str(reason)) from None


def check(pattern: str) -> None:
    """Raise ValueError saying why RE2 cannot run `pattern` (a config field's check)."""
    try:
        compiled(pattern)
    except PatternError as exc:
        raise ValueError(
            f"not a valid regular expression: {exc} (tally runs patterns on RE2, in time "
            "linear in the text: no lookaround, no backreferences)"
        ) from None


def search(pattern: str, text: str) -> Any:
    """The first match of `pattern` in `text`, or None: linear in the text."""
    return compiled(pattern).search(text)


def picked(match: Any) -> str:
    """What a match picks: its first group if the pattern has one, else all of it."""
    return match.group(1) if match.groups() else match.group(0)
