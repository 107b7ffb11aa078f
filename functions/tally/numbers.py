"""Numbers as people write them on web pages: `1,234`, `¥1,234`, `1,234円`, `$1,299.99`,
`1.234,56 €`, `-3.5%`, `１，２３４` (full-width), with surrounding whitespace.

Shops write prices for people, not parsers. The decimal separator cannot be guessed
reliably (`1.234` is a thousand in Germany and one-point-two in the US), so it is a
per-source setting (`decimal: ","`) and the grouping must be consistent with it:
a string that only parses by guessing is an error, not a wrong number in the history.
For the same reason a text with two numbers is an error until a regex picks one.
"""

from __future__ import annotations

import math
import re
import unicodedata

from tally.secrets import redact

_MINUS = "\\-\u2212\u2012\u2013\ufe63\uff0d"  # a regex class body: every dash meaning minus
_SPACES = "\\s\u00a0\u202f\u2009'\u2019"  # what people group thousands with, beside , or .


class NotANumber(ValueError):
    """The text holds no number, or one whose grouping does not fit the separator."""


def _number_pattern(decimal: str) -> re.Pattern[str]:
    group = "," if decimal == "." else "."
    return re.compile(
        rf"(?P<int>\d{{1,3}}(?:[{re.escape(group)}{_SPACES}]\d{{3}})+(?!\d)|\d+)"
        rf"(?:{re.escape(decimal)}(?P<frac>\d+))?"
    )


def parse_number(text: str, decimal: str = ".") -> float:
    """The one number in `text`, honouring the decimal separator. Raises NotANumber
    when there is none, more than one (`Now $999.99, was $1,299.99`: which one did the
    user mean?), one whose grouping is ambiguous, or one too large for a float."""
    if decimal not in (".", ","):
        raise ValueError("decimal must be '.' or ','")
    normal = unicodedata.normalize("NFKC", str(text)).strip()
    matches = list(_number_pattern(decimal).finditer(normal))
    if not matches:
        raise NotANumber(f"no number in {_preview(text)}")
    match = matches[0]
    rest = normal[match.end() :]
    # `1,23` with decimal '.', or `1.2.3`: a grouping we cannot read with confidence.
    if re.match(r"^[,.]\d", rest):
        raise NotANumber(
            f"ambiguous number in {_preview(text)} (is the decimal separator {decimal!r}?)"
        )
    if len(matches) > 1:
        shown = [found.group(0) for found in matches[:3]]
        if len(matches) <= 3:
            listed = f"{', '.join(shown[:-1])} and {shown[-1]}"
        else:
            listed = f"{', '.join(shown)}, …"
        raise NotANumber(
            f"{len(matches)} numbers ({listed}) in {_preview(text)}: add a regex that picks one"
        )
    digits = re.sub(r"\D", "", match.group("int"))
    frac = match.group("frac")
    value = float(f"{digits}.{frac}" if frac else digits)
    if not math.isfinite(value):
        raise NotANumber(f"the number in {_preview(text)} is too large ({len(digits)} digits)")
    # A minus right before the number, perhaps with a currency sign between: -$5, −12.
    if re.search(rf"[{_MINUS}]\s*[^\w\s]{{0,2}}\s*$", normal[: match.start()]):
        value = -value
    return value


def _preview(text: str, limit: int = 60) -> str:
    text = redact(str(text))  # before the cut and the repr: they would hide a secret from it
    flat = " ".join(str(text).split())
    return repr(flat if len(flat) <= limit else flat[: limit - 1] + "…")
