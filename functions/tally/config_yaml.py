"""tally.yaml's text to plain data, refusing what YAML allows but no config means.

PyYAML's SafeLoader already refuses tags that would run code. Three things it lets
through are refused here, each with the line and the source and field it is in:

- a key given twice in one mapping (two `sources:`, two `url:` in a source): YAML
  keeps the last one silently, so half of what the user wrote would be ignored;
- aliases that expand to more than a config can hold (the "billion laughs"): nine
  lines of `&a [*b, *b, …]` stand for millions of values, and whatever walks them
  (validation, an error message quoting the value) runs out of memory. The values and
  characters the document stands for are counted as it is composed, aliases counted
  at their full size, and composing stops at the first alias past the bound, before
  anything is built from it; an alias inside the value it names is refused too;
- nesting deeper than any field of tally.yaml (a source's deepest is
  `alerts.change.window`, four levels down), which would otherwise end in a
  RecursionError.

The text is scanned and parsed by libyaml when PyYAML has it (its wheels do: six times
faster than the pure-Python scanner, a 500-source config in ~0.2 s) and composed by
PyYAML's Python composer, the part that counts; built by SafeConstructor as
`yaml.safe_load` builds it.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent, MappingStartEvent, ScalarEvent, SequenceStartEvent
from yaml.nodes import MappingNode, Node, ScalarNode
from yaml.resolver import Resolver

try:
    from yaml._yaml import CParser
except ImportError:  # a PyYAML built without libyaml: the pure-Python parser
    _SafeLoader: type = yaml.SafeLoader
else:

    class _SafeLoader(CParser, Composer, SafeConstructor, Resolver):  # type: ignore[no-redef]
        """yaml.CSafeLoader's parts, but composed in Python (CParser's own composer,
        in C, could not count)."""

        def __init__(self, text: str):
            CParser.__init__(self, text)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)


# A config of 500 sources (the scale the cost budget is made for) is about 15,000
# values and 90 kB; these bounds are far above any real one and far below what
# hurts: a config at both bounds loads and validates in well under a second and
# 100 MB (tests/core/test_config_yaml.py holds the bomb's cost).
MAX_VALUES = 200_000  # scalars, lists and mappings, an alias counted at its full size
MAX_CHARACTERS = 4_000_000  # characters of every scalar, an alias counted at its full size
MAX_DEPTH = 32  # nested lists and mappings
MERGE_TAG = "tag:yaml.org,2002:merge"


class YamlRefused(Exception):
    """A document refused; `problems` holds one line per problem, as ConfigError's."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


class _Refused(Exception):
    def __init__(self, mark: Any, message: str):
        super().__init__(message)
        self.mark = mark
        self.message = message


def where(path: list[str | int], source_id: str | None = None) -> str:
    """`source 'x': field 'alerts.change'` or `config: field 'title'`, as config errors
    name a place (tally/config.py)."""
    if len(path) >= 2 and path[0] == "sources" and isinstance(path[1], int):
        label = f"source {source_id!r}" if source_id else f"source #{path[1] + 1}"
        rest = path[2:]
    else:
        label, rest = "config", path
    field = ".".join(str(part) for part in rest)
    return f"{label}: field {field!r}" if field else label


class _BoundedLoader(_SafeLoader):
    """SafeLoader that counts what the document expands to and checks mapping keys."""

    def __init__(self, text: str):
        super().__init__(text)
        self.values = 0
        self.characters = 0
        self.sizes: dict[int, tuple[int, int]] = {}  # id(node) -> its expanded size
        self.stack: list[tuple[Node | None, Any]] = []  # (parent, index) of each level
        self.duplicates: list[tuple[Any, str]] = []  # (mark, message)

    # --- where we are ---------------------------------------------------------------

    def _path(self) -> list[str | int]:
        path: list[str | int] = []
        for _parent, index in self.stack:
            if isinstance(index, int):
                path.append(index)
            elif isinstance(index, ScalarNode):
                path.append(index.value)
            elif index is not None:
                path.append("?")
        return path

    def _source_id(self) -> str | None:
        """The `id:` of the source being composed, when it is already known."""
        if len(self.stack) < 4:
            return None
        source = self.stack[3][0]
        if self._path()[:1] != ["sources"] or not isinstance(source, MappingNode):
            return None
        return _id_of(source)

    def _where(self) -> str:
        return where(self._path(), self._source_id())

    # --- counting ---------------------------------------------------------------------

    def _count(self, values: int, characters: int, mark: Any, alias: str | None) -> None:
        self.values += values
        self.characters += characters
        if self.values <= MAX_VALUES and self.characters <= MAX_CHARACTERS:
            return
        if self.values > MAX_VALUES:
            what = f"{MAX_VALUES:,} values"
        else:
            what = f"{MAX_CHARACTERS:,} characters"
        through = f" through the alias *{alias}" if alias else ""
        raise _Refused(
            mark,
            f"{self._where()}: the config expands to more than {what}{through}; no config "
            "needs that many (a YAML alias bomb?)",
        )

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        self.stack.append((parent, index))
        try:
            return self._compose(parent, index)
        finally:
            self.stack.pop()

    def _compose(self, parent: Node | None, index: Any) -> Node:
        event = self.peek_event()
        if isinstance(event, AliasEvent):
            node = super().compose_node(parent, index)
            size = self.sizes.get(id(node))
            if size is None:  # its node is still being composed: it contains itself
                raise _Refused(
                    event.start_mark,
                    f"{self._where()}: the alias *{event.anchor} is inside the value it "
                    "names (a recursive alias)",
                )
            self._count(*size, event.start_mark, event.anchor)
            return node
        if len(self.stack) > MAX_DEPTH:
            raise _Refused(
                event.start_mark,
                f"{self._where()}: nested more than {MAX_DEPTH} levels deep; no config field is",
            )
        before = (self.values, self.characters)
        if isinstance(event, ScalarEvent):
            self._count(1, len(event.value), event.start_mark, None)
        elif isinstance(event, (SequenceStartEvent, MappingStartEvent)):
            self._count(1, 0, event.start_mark, None)
        node = super().compose_node(parent, index)
        self.sizes[id(node)] = (self.values - before[0], self.characters - before[1])
        if isinstance(node, MappingNode):
            self._check_keys(node)
        return node

    def _check_keys(self, node: MappingNode) -> None:
        first: dict[tuple[str, str], int] = {}
        for key, _value in node.value:
            if not isinstance(key, ScalarNode) or key.tag == MERGE_TAG:
                continue  # `<<: *defaults` may be overridden: that is what it is for
            line = key.start_mark.line + 1
            seen = first.get((key.tag, key.value))
            if seen is None:
                first[(key.tag, key.value)] = line
            else:
                place = where([*self._path(), key.value], self._key_source_id(node))
                lines = f"both on line {line}" if seen == line else f"lines {seen} and {line}"
                self.duplicates.append(
                    (
                        key.start_mark,
                        f"{place}: given twice ({lines}); YAML would keep only the last, "
                        "so remove one",
                    )
                )

    def _key_source_id(self, node: MappingNode) -> str | None:
        """The source's id when `node` is a source (its keys are being checked)."""
        path = self._path()
        if len(path) == 2 and path[0] == "sources" and isinstance(path[1], int):
            return _id_of(node)
        return self._source_id()


def _id_of(source: MappingNode) -> str | None:
    """The scalar `id:` of a source's mapping (composed so far), if it has one."""
    for key, value in source.value:
        if isinstance(key, ScalarNode) and key.value == "id" and isinstance(value, ScalarNode):
            return value.value
    return None


def _at(origin: str, mark: Any, message: str) -> str:
    return f"{origin}:{mark.line + 1}:{mark.column + 1}: {message}"


def read_yaml(text: str, origin: str) -> Any:
    """The data of a config text (None for an empty one).

    Raises YamlRefused for what is refused here, yaml.YAMLError for text that is not
    YAML at all (config.py words both)."""
    if len(text) > MAX_CHARACTERS:
        raise YamlRefused(
            [f"{origin}: {len(text):,} characters; a config has at most {MAX_CHARACTERS:,}"]
        )
    loader = _BoundedLoader(text)
    try:
        try:
            node = Composer.get_single_node(loader)  # CParser's would compose in C
        except _Refused as refused:
            raise YamlRefused([_at(origin, refused.mark, refused.message)]) from None
        if loader.duplicates:
            found = sorted(loader.duplicates, key=lambda item: (item[0].line, item[0].column))
            raise YamlRefused([_at(origin, mark, message) for mark, message in found])
        return None if node is None else loader.construct_document(node)
    finally:
        loader.dispose()
