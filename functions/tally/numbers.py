"""Numbers as people write them on web pages: `1,234`, `¥1,234`, `1,234円`, `$1,299.99`,
`1.234,56 €`, `-3.5%`, `１，２３４` (full-width), with surrounding whitespace.

Shops write prices for people, not parsers. The decimal separator cannot be guessed
reliably (`1.234` is a thousand in Germany and one-point-two in the US), so it is a
per-source setting (`decimal: ","`) and the grouping must be consistent with it:
a string that only parses by guessing is an error, not a wrong number in the history.
For the same reason a text with two numbers is an error until a regex picks one.
"""

from __future__ import annotations

import itertools
import math
import re
import unicodedata

from tally.secrets import redact

_MINUS = "-\u2212\u2012\u2013\ufe63\uff0d"  # every dash meaning minus
_SPACES = "\\s\u00a0\u202f\u2009'\u2019"  # what people group thousands with, beside , or .
# A number's groups: more than a double holds (309 digits) is already an error, and a
# bound keeps each try of the pattern short (and `re`'s stack small) on hostile text.
_MAX_GROUPS = 200
# How many numbers parse_number looks at: the first, and enough to say "more than 3".
_SHOWN = 3


class NotANumber(ValueError):
    """The text holds no number, or one whose grouping does not fit the separator.
    `problem` is what is wrong; the message adds what a page's source can do about it."""

    def __init__(self, problem: str, advice: str = ""):
        super().__init__(f"{problem}: {advice}" if advice else problem)
        self.problem = problem


def _number_pattern(decimal: str) -> re.Pattern[str]:
    """The numbers in a text. Linear in the text: each try does bounded work (a
    number's at most `_MAX_GROUPS` groups) but for single-class runs such as `\\d+`,
    which consume what they match; `finditer` goes on after each match."""
    group = "," if decimal == "." else "."
    return re.compile(
        rf"(?P<int>\d{{1,3}}(?:[{re.escape(group)}{_SPACES}]\d{{3}}){{1,{_MAX_GROUPS}}}(?!\d)|\d+)"
        rf"(?:{re.escape(decimal)}(?P<frac>\d+))?"
    )


def _is_symbol(char: str) -> bool:
    """What `re` calls [^\\w\\s]: neither a word character nor a space."""
    return not (char.isalnum() or char == "_" or char.isspace())


def ends_in_minus(prefix: str) -> bool:
    """Whether the text before a number ends in a minus, perhaps with a currency sign
    and spaces between: `-$5`, `− 12`, `-¥ 300`. (The pattern
    `[MINUS]\\s*[^\\w\\s]{0,2}\\s*$`, without the search over every minus of the
    prefix, which was quadratic on a minus followed by a long run of spaces.)"""
    end = len(prefix.rstrip())
    for symbols in range(3):  # up to two signs between the minus and the number
        start = end - symbols
        if start < 1 or not all(_is_symbol(char) for char in prefix[start:end]):
            return False
        if prefix[:start].rstrip()[-1:] in tuple(_MINUS):
            return True
    return False


def parse_number(text: str, decimal: str = ".") -> float:
    """The one number in `text`, honouring the decimal separator. Raises NotANumber
    when there is none, more than one (`Now $999.99, was $1,299.99`: which one did the
    user mean?), one whose grouping is ambiguous, or one too large for a float.
    Linear in the text, and it never looks at more than four numbers."""
    if decimal not in (".", ","):
        raise ValueError("decimal must be '.' or ','")
    normal = unicodedata.normalize("NFKC", str(text)).strip()
    matches = list(itertools.islice(_number_pattern(decimal).finditer(normal), _SHOWN + 1))
    if not matches:
        raise NotANumber(f"no number in {_preview(text)}")
    match = matches[0]
    rest = normal[match.end() : match.end() + 2]
    # `1,23` with decimal '.', or `1.2.3`: a grouping we cannot read with confidence.
    if re.match(r"^[,.]\d", rest):
        raise NotANumber(
            f"ambiguous number in {_preview(text)} (is the decimal separator {decimal!r}?)"
        )
    if len(matches) > 1:
        shown = [found.group(0) for found in matches[:_SHOWN]]
        if len(matches) <= _SHOWN:
            counted = f"{len(matches)} numbers ({', '.join(shown[:-1])} and {shown[-1]})"
        else:
            counted = f"more than {_SHOWN} numbers ({', '.join(shown)}, …)"
        raise NotANumber(f"{counted} in {_preview(text)}", "add a regex that picks one")
    digits = re.sub(r"\D", "", match.group("int"))
    frac = match.group("frac")
    value = float(f"{digits}.{frac}" if frac else digits)
    if not math.isfinite(value):
        raise NotANumber(f"the number in {_preview(text)} is too large ({len(digits)} digits)")
    if ends_in_minus(normal[: match.start()]):
        value = -value
    return value


def _preview(text: str, limit: int = 60) -> str:
    """The start of `text`, its spaces collapsed, quoted: at most `limit` words are
    split off, so a 5 MiB text costs no more than a short one."""
    text = redact(str(text))  # before the cut and the repr: they would hide a secret from it
    words = text.split(None, limit)
    flat = " ".join(words[:limit])
    if len(words) <= limit and len(flat) <= limit:
        return repr(flat)
    return repr(flat[: limit - 1] + "…")
