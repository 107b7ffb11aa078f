"""The numbers a page or a JSON document holds, as fields a user can paste into a source
(`tally try`): a CSS selector (with a regex where the element's text holds several
numbers) or a JMESPath expression, the number it reads, a little context; best first.

Worked out in the reader process, beside the failed read that asks for them, so the
same memory limit and deadline hold. Every candidate is checked by the very code a
tick runs (`page._selected`, `json_text.to_number` over `jmespath.search`) before it is
offered: what is listed reads the number shown.

Best first means: inside what the selector or query matched; then names (ids, classes,
`itemprop`, keys) that share a word with the selector, the query or the source's id;
then no regex needed; then the shortest text around the number; then page order.
"""

from __future__ import annotations

import difflib
import itertools
import json
import math
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from tally import secrets
from tally.numbers import NotANumber, parse_number
from tally.reading import Unreadable

if TYPE_CHECKING:
    from bs4 import BeautifulSoup, Tag

SHOWN = 8  # candidates listed
CONTEXT = 60  # characters of context shown with each
_CHECKED = 40  # candidates checked by the tick's code, best first, until SHOWN pass
_ELEMENTS = 3_000  # elements holding a digit that are looked at (page order)
_NUMBERS_PER_TEXT = 4  # numbers of one element's text offered with a regex
_STRINGS = 50  # pieces of text an element may hold and still be offered
_JSON_NODES = 200_000  # values of a JSON document walked
_LIST_ITEMS = 3  # items of a JSON list walked into (the first ones)
_SKIPPED = frozenset({"script", "style", "template", "noscript", "head", "title"})
# Elements a page has one of, by their meaning: their tag alone is a selector that lasts.
_LANDMARKS = frozenset({"html", "body", "main", "header", "footer", "h1"})
_PLAIN_NAME = re.compile(r"-?[A-Za-z_][A-Za-z0-9_-]*")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WORD = re.compile(r"[a-z]{3,}")
# Words that name markup, not meaning: sharing them says nothing.
_NOT_HINTS = frozenset(
    [
        "body",
        "html",
        "div",
        "span",
        "class",
        "item",
        "items",
        "data",
        "value",
        "text",
        "main",
        "content",
        "the",
        "and",
        "nth",
        "type",
        "child",
        "first",
        "last",
        "not",
    ]
)
# The digits of one number in a text, as a regex captures them (a sign or a currency
# sign beside it is left to the number rules, as for a selected element's text).
_DIGITS = re.compile(r"\d(?:[\d.,]*\d)?")
_CAPTURE = r"(\d(?:[\d.,]*\d)?)"


def note_candidates(notes: dict[str, Any], find: Callable[[], Any]) -> None:
    """The candidates `find` works out, written into a failed read's notes; whatever it
    raises is written beside them instead, so the read's own reason stands."""
    try:
        notes["candidates"] = find()
    except Exception as exc:  # noqa: BLE001 - a bug here must not hide the read's reason
        notes["candidates_error"] = f"{type(exc).__name__}: {exc}"


def hints(*texts: str | None) -> set[str]:
    """The words of a selector, a query or an id that may name what the user wants."""
    found: set[str] = set()
    for text in texts:
        found.update(_WORD.findall((text or "").lower()))
    return found - _NOT_HINTS


def _overlap(words: set[str], names: str) -> int:
    """How many of `words` a name shares, a near miss (`prize`, `price`) counting too."""
    if not words:
        return 0
    found = set(_WORD.findall(names.lower()))
    return sum(
        1
        for word in words
        if word in found
        or any(difflib.SequenceMatcher(None, word, name).ratio() >= 0.8 for name in found)
    )


def preview(text: str, limit: int = CONTEXT) -> str:
    """A piece of text from the web as shown back: a secret the page echoes redacted
    before the cut (which could split it), spaces collapsed, at most `limit` long."""
    flat = " ".join(secrets.redact(text[: limit * 20]).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# --- pages ----------------------------------------------------------------------------


class _Index:
    """The page's elements in order, and the first of each simple selector, so that a
    selector is known to pick an element without running it over the page each time."""

    def __init__(self, soup: BeautifulSoup):
        self.soup = soup
        self.elements: list[Tag] = soup.find_all(True)
        self.first_id: dict[str, Tag] = {}
        self.first_prop: dict[tuple[str, str], Tag] = {}
        self.tags: dict[str, int] = {}
        self.with_class: dict[str, list[Tag]] = {}  # in page order
        for element in self.elements:
            self.tags[element.name] = self.tags.get(element.name, 0) + 1
            for name in element.get("class") or ():
                self.with_class.setdefault(name, []).append(element)
            element_id = element.get("id")
            if isinstance(element_id, str):
                self.first_id.setdefault(element_id, element)
            prop = element.get("itemprop")
            if isinstance(prop, str):
                self.first_prop.setdefault((element.name, prop), element)
        self._selectors: dict[int, str] = {}

    def _first_with_classes(self, name: str, classes: set[str]) -> Tag | None:
        """What `name.class1.class2` selects first: looked for among the elements of
        its rarest class only."""
        rarest = min((self.with_class.get(c, []) for c in classes), key=len)
        for element in rarest:
            if element.name == name and classes <= set(element.get("class") or ()):
                return element
        return None

    def selector(self, element: Tag) -> str:
        """A CSS selector whose first match is `element`: its id, its itemprop, its
        tag and classes, else its parent's selector and its place among its siblings."""
        known = self._selectors.get(id(element))
        if known is not None:
            return known
        found = self._simple(element)
        if found is None:
            parent = element.parent
            same = parent.find_all(element.name, recursive=False) if parent else []
            step = element.name
            if len(same) > 1:
                step += f":nth-of-type({next(i for i, s in enumerate(same, 1) if s is element)})"
            if parent is None or parent is self.soup or parent.name == "[document]":
                found = step
            else:
                found = f"{self.selector(parent)} > {step}"
        self._selectors[id(element)] = found
        return found

    def _simple(self, element: Tag) -> str | None:
        name = element.name
        element_id = element.get("id")
        if (
            isinstance(element_id, str)
            and _PLAIN_NAME.fullmatch(element_id)
            and self.first_id.get(element_id) is element
        ):
            return f"#{element_id}"
        prop = element.get("itemprop")
        if (
            isinstance(prop, str)
            and _PLAIN_NAME.fullmatch(prop)
            and self.first_prop.get((name, prop)) is element
        ):
            return f'{name}[itemprop="{prop}"]'
        classes = [c for c in element.get("class") or () if _PLAIN_NAME.fullmatch(c)]
        if classes and self._first_with_classes(name, set(classes)) is element:
            return name + "".join(f".{c}" for c in classes)
        return name if name in _LANDMARKS and self.tags.get(name) == 1 else None


def _names(element: Tag, levels: int = 3) -> str:
    """The ids, classes and itemprops of an element and its nearest ancestors."""
    parts: list[str] = []
    node: Any = element
    for _ in range(levels):
        if node is None or node.name == "[document]":
            break
        for attribute in ("id", "itemprop", "name"):
            value = node.get(attribute)
            if isinstance(value, str):
                parts.append(value)
        parts.extend(node.get("class") or ())
        node = node.parent
    return " ".join(parts)


def _text_elements(soup: BeautifulSoup) -> Iterator[Tag]:
    """Elements whose own text holds a digit, in page order (none of script, style…)."""
    from bs4 import NavigableString

    seen: set[int] = set()
    for string in soup.find_all(string=True):
        if type(string) is not NavigableString or not any(c.isdigit() for c in string):
            continue
        element = string.parent
        if element is None or id(element) in seen:
            continue
        if any(parent.name in _SKIPPED for parent in [element, *element.parents]):
            continue
        seen.add(id(element))
        yield element


def _inside(element: Tag, container: Tag | None) -> bool:
    if container is None:
        return False
    return element is container or any(parent is container for parent in element.parents)


def _regexes(text: str, decimal: str) -> Iterator[tuple[str, float, str]]:
    """(regex, number, context) for each number of a text that holds several: the
    regex names the words before the number, as a user would write it."""
    for match in list(_DIGITS.finditer(text))[:_NUMBERS_PER_TEXT]:
        before = text[: match.start()].split()[-2:]
        lead = " ".join(before)
        if not lead:
            regex = "^\\D*" + _CAPTURE
        else:
            regex = re.escape(lead).replace("\\ ", "\\s+") + "\\s*" + _CAPTURE
        try:
            number = parse_number(match.group(0), decimal)
        except NotANumber:
            continue
        start = max(0, match.start() - 20)
        yield regex, number, text[start : match.end() + 20]


def page_candidates(
    soup: BeautifulSoup,
    *,
    matched: Tag | None,
    words: set[str],
    decimal: str,
    read: Callable[..., float],
) -> list[dict[str, Any]]:
    """The numbers of a page, as selectors (and regexes) a user can paste, best first;
    `read(soup, selector, attribute, regex, decimal)` is the tick's own reading of a
    selector (`page._selected`), each candidate's check."""
    index = _Index(soup)
    order = {id(element): place for place, element in enumerate(index.elements)}
    found: list[tuple[tuple, Tag, str | None, float, str]] = []
    for count, element in enumerate(_text_elements(soup)):
        if count >= _ELEMENTS:
            break
        strings = list(itertools.islice(element.stripped_strings, _STRINGS + 1))
        if len(strings) > _STRINGS:
            continue  # a container of much of the page: never the place of one number
        text = " ".join(strings)  # what the selector reads: get_text(" ", strip=True)
        rank = (
            0 if _inside(element, matched) else 1,
            -_overlap(words, _names(element)),
        )
        try:
            number = parse_number(text, decimal)
        except NotANumber:
            for regex, value, context in _regexes(text, decimal):
                key = (*rank, 1, min(len(text), 500), order.get(id(element), 0))
                found.append((key, element, regex, value, context))
            continue
        key = (*rank, 0, len(text), order.get(id(element), 0))
        found.append((key, element, None, number, text))
    found.sort(key=lambda item: item[0])
    shown: list[dict[str, Any]] = []
    offered: set[tuple[str, str | None]] = set()
    for _, element, regex, number, context in found[:_CHECKED]:
        selector = index.selector(element)
        if (selector, regex) in offered or (regex and secrets.redact(regex) != regex):
            continue
        try:
            if read(soup, selector, None, regex, decimal) != number:
                continue
        except (Unreadable, ValueError):  # ValueError: a regex RE2 refuses
            continue
        offered.add((selector, regex))
        fields = {"selector": selector} if regex is None else {"selector": selector, "regex": regex}
        shown.append({"fields": fields, "value": number, "context": preview(context)})
        if len(shown) == SHOWN:
            break
    return shown


# --- JSON -----------------------------------------------------------------------------


def _step(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    name = key if _IDENTIFIER.fullmatch(key) else json.dumps(key, ensure_ascii=False)
    return f"{path}.{name}" if path else name


def _walk(document: Any, found: Any) -> Iterator[tuple[str, Any, bool, int, Any]]:
    """(path, value, inside what the query found, depth, parent) for every scalar and
    list, depth first in document order, within _JSON_NODES values."""
    container = found if isinstance(found, (dict, list)) else None  # `is` on a scalar lies
    stack: list[tuple[str, Any, bool, int, Any]] = [("", document, False, 0, None)]
    visited = 0
    while stack and visited < _JSON_NODES:
        path, value, inside, depth, parent = stack.pop()
        visited += 1
        inside = inside or (container is not None and value is container)
        if isinstance(value, dict):
            children = [(_step(path, str(k)), v) for k, v in value.items()]
        elif isinstance(value, list):
            yield path, value, inside, depth, parent
            children = [(_step(path, i), v) for i, v in enumerate(value[:_LIST_ITEMS])]
        else:
            yield path, value, inside, depth, parent
            continue
        for child_path, child in reversed(children):
            stack.append((child_path, child, inside, depth + 1, value))


def _number_of(
    value: Any, decimal: str, to_number: Callable[[Any, str, str], float]
) -> tuple[float, int] | None:
    """A scalar's number as the tick reads it, and 1 for a number written as text."""
    if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, str) and (len(value) > 40 or not any(c.isdigit() for c in value)):
        return None
    try:
        number = to_number(value, "value", decimal)
    except Unreadable:
        return None
    return (number, 1 if isinstance(value, str) else 0) if math.isfinite(number) else None


def json_candidates(
    document: Any,
    *,
    found: Any,
    words: set[str],
    decimal: str,
    to_number: Callable[[Any, str, str], float],
) -> list[dict[str, Any]]:
    """The numbers of a JSON document, as JMESPath expressions, best first;
    `to_number(value, what, decimal)` is the tick's own reading of a JSON value
    (`json_text.to_number`), each candidate's check."""
    import jmespath

    scored: list[tuple[tuple, str, float, Any]] = []
    for place, (path, value, inside, depth, parent) in enumerate(_walk(document, found)):
        if isinstance(value, list):
            expression, number, text = f"length({path or '@'})", float(len(value)), 2
        else:
            read = _number_of(value, decimal, to_number)
            if read is None or not path:
                continue
            expression, (number, text) = path, read
        key = (0 if inside else 1, -_overlap(words, path), text, depth, place)
        scored.append((key, expression, number, parent))
    scored.sort(key=lambda item: item[0])
    shown: list[dict[str, Any]] = []
    for _, expression, number, parent in scored[:_CHECKED]:
        try:
            if to_number(jmespath.search(expression, document), "value", decimal) != number:
                continue
        except (Unreadable, jmespath.exceptions.JMESPathError):
            continue
        context = _json_context(parent)
        shown.append({"fields": {"query": expression}, "value": number, "context": context})
        if len(shown) == SHOWN:
            break
    return shown


def _json_context(parent: Any) -> str:
    if parent is None:
        return ""
    if isinstance(parent, list):
        parent = parent[:_LIST_ITEMS]
    elif isinstance(parent, dict):
        parent = dict(list(parent.items())[:6])
    try:
        return preview(json.dumps(parent, ensure_ascii=False, default=str), CONTEXT)
    except (ValueError, RecursionError):
        return ""


__all__ = ["SHOWN", "hints", "json_candidates", "page_candidates", "preview"]
