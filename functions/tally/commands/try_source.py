"""`tally try ID [--config F]` or `tally try URL --kind KIND [--FIELD VALUE ...]`: read a
source once, as a tick reads it, and say what happened; store nothing, send nothing.

The hardest step of a new source is the selector or the JMESPath query that finds its
number. This fetches and reads through the tick's own code (`tally.sources.read`: the
kind's fetch, the capped fetch of `sources/http`, the reader processes of
`sources/readers`) with the readers asked to explain: the charset they read, what the
selector or query matched and, when that is no single number, the candidates a user can
paste, best first (`reading/candidates.py`, worked out inside the same reader process).
No Firestore, no Cloud Monitoring, no channel: it works with no emulator and no
credentials. Exit status: 0 the source reads a value, 1 it does not (or the config is
wrong), 2 a usage error.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
import types
import typing
from typing import Any

from tally.commands import add_config_option, config_from

# The fields every source has that say nothing about reading it once.
NOT_OPTIONS = {
    *("id", "kind", "url", "name", "description", "schedule", "every", "alerts"),
    *("metrics", "metrics_every", "announce"),  # what a tick writes and sends, not reads
}
TRY_ID = "try"
URL_PREFIXES = ("http://", "https://")


def _kinds() -> dict[str, Any]:
    from tally.sources.registry import KINDS

    return KINDS


def _field_options() -> dict[str, Any]:
    """Every kind's fields that a try can set, by name, with their pydantic FieldInfo."""
    fields: dict[str, Any] = {}
    for kind in _kinds().values():
        for name, info in kind.model.model_fields.items():
            if name not in NOT_OPTIONS:
                fields.setdefault(name, info)
    return fields


def _is_text(info: Any) -> bool:
    """Whether a field holds text (given as typed) rather than YAML (a list, a number)."""
    annotation = info.annotation
    options = typing.get_args(annotation) if _is_union(annotation) else (annotation,)
    for option in options:
        if option is str:
            return True
        if typing.get_origin(option) is typing.Literal and all(
            isinstance(value, str) for value in typing.get_args(option)
        ):
            return True
    return False


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "try",
        help="read a source once and say what it reads (and, if nothing, what it could)",
        description="Read a source once, exactly as a tick does; store nothing, send nothing.",
    )
    parser.add_argument(
        "target",
        metavar="SOURCE",
        nargs="?",
        help="a source id of the config, or a URL (with --kind)",
    )
    add_config_option(parser)
    parser.add_argument(
        "--kind", choices=sorted(_kinds()), help="with a URL: the kind of source to read it as"
    )
    parser.add_argument(
        "--header",
        metavar="'NAME: VALUE'",
        action="append",
        default=[],
        help="with a URL: a request header (may hold ${env:NAME})",
    )
    fields = parser.add_argument_group("with a URL: the kind's fields, as in tally.yaml")
    for name in _field_options():
        if name == "headers":
            continue
        fields.add_argument(
            "--" + name.replace("_", "-"), dest=f"field_{name}", metavar="VALUE", default=None
        )
    parser.set_defaults(func=run)


def _command_line_source(args: argparse.Namespace) -> Any:
    """The source a URL and its options describe, checked as tally.yaml's are."""
    import yaml

    from tally.config import ConfigError, parse_config

    raw: dict[str, Any] = {"id": TRY_ID, "kind": args.kind, "every": "1h"}
    if args.target is not None:
        raw["url"] = args.target
    for name, info in _field_options().items():
        given = getattr(args, f"field_{name}", None)
        if given is not None:
            raw[name] = given if _is_text(info) else yaml.safe_load(given)
    if args.header:
        headers = {}
        for line in args.header:
            name, colon, value = line.partition(":")
            if not colon or not name.strip():
                raise ConfigError([f"--header {line!r}: write it as 'Name: value'"])
            headers[name.strip()] = value.strip()
        raw["headers"] = headers
    try:
        return parse_config({"sources": [raw]}).sources[0]
    except ConfigError as exc:
        raise ConfigError([_as_option(problem, args.kind) for problem in exc.problems]) from None


def _as_option(problem: str, kind: str) -> str:
    """`source 'try': field 'price_from': …` as the command line says it: `--price-from: …`."""
    text = problem.removeprefix(f"source {TRY_ID!r}: ")
    if text.startswith("field '"):
        name, _, message = text[len("field '") :].partition("': ")
        option = "URL" if name == "url" else "--" + name.replace("_", "-")
        if message == "unknown field (a typo?)":
            message = f"not a field of kind {kind}"
        text = f"{option}: {message}"
    else:  # a rule across fields: "set exactly one of 'query' or 'entries'"
        options = _field_options()
        text = re.sub(
            r"'([a-z_]+)'",
            lambda m: "--" + m[1].replace("_", "-") if m[1] in options else m[0],
            text,
        )
    from tally.sources import kind_named

    explore = kind_named(kind).explore
    if explore and explore[0] in text and ("required" in text or "exactly one" in text):
        field, value, what = explore
        text += f" (not sure yet? --{field} '{value}' reads the whole {what} and lists its numbers)"
    return text


def _quoted(text: str) -> str:
    """A YAML single-quoted scalar: a regex's backslashes paste as they are."""
    return "'" + text.replace("'", "''") + "'"


def _http_status(status: int | None) -> str:
    from tally.sources.http import http_reason

    return "no response" if status is None else http_reason(status).removeprefix("HTTP ")


def _report(source: Any, reading: Any, bodies: list[dict[str, Any]], seconds: float) -> None:
    from tally.sample import format_value
    from tally.secrets import redact
    from tally.sources import kind_of

    kind = kind_of(source)
    url = getattr(source, "url", None)
    where = redact(url) if url else f"{getattr(source, 'repo', '')} on GitHub"
    label = source.id if source.id != TRY_ID else "try"
    print(f"{label:<10} {kind.name} {where}  (nothing is stored, nothing is sent)")
    body = bodies[-1] if bodies else None
    status = _http_status(reading.status)
    if body is not None:
        status += f" · {body['bytes']:,} bytes"
        if body.get("content_type"):
            status += f" · {redact(body['content_type'])}"
    print(f"{'status':<10} {status}")
    if reading.latency_ms is not None:
        print(f"{'latency':<10} {format_value(reading.latency_ms)} ms (read in {seconds:.2f} s)")
    notes = body["notes"] if body is not None else {}
    if notes.get("charset"):
        declared = body.get("declared_charset") if body else None
        print(f"{'charset':<10} {notes['charset']} (declared by the server: {declared or 'none'})")
    _report_match(source, notes)
    unit = source.unit or kind.unit
    if reading.ok:
        value = "ok" if reading.value is None else f"{format_value(reading.value)} {unit}".strip()
        if kind.is_check:
            value += " · up"
        if reading.degraded and reading.error:
            value += f" (degraded: {reading.error})"
        print(f"{'value':<10} {value}")
    else:
        print(f"{'FAILED':<10} {reading.error}")
    _report_candidates(notes)
    if notes.get("candidates_error"):
        print(f"(no candidates: {notes['candidates_error']})")


def _report_match(source: Any, notes: dict[str, Any]) -> None:
    if "matched" not in notes and "matches" not in notes:
        return
    query = getattr(source, "query", None)
    selector = getattr(source, "selector", None)
    if query is not None:
        print(f"{'matched':<10} JMESPath {query!r} → {notes['matched']}")
    elif selector is not None:
        count = notes.get("matches", 0)
        what = "nothing" if not count else f"{count:,} element{'s' if count != 1 else ''}"
        if count > 1:
            what += " (the first is read)"
        if "matched" in notes:
            what += f": {notes['matched']!r}"
        print(f"{'matched':<10} CSS selector {selector!r} → {what}")
        if "picked" in notes:
            print(f"{'':<10} regex picked {notes['picked']!r}")
    else:
        print(f"{'matched':<10} {notes['matched']}")


def _report_candidates(notes: dict[str, Any]) -> None:
    from tally.sample import format_value

    candidates = notes.get("candidates") or []
    if "candidates" not in notes:
        return
    if not candidates:
        print("no number found in the response to suggest instead")
        return
    print("candidates, best first (paste the fields into the source):")
    for number, candidate in enumerate(candidates, 1):
        context = f" in {candidate['context']!r}" if candidate.get("context") else ""
        print(f"  {number}. {format_value(candidate['value'])}{context}")
        for name, value in candidate["fields"].items():
            print(f"       {name}: {_quoted(value)}")


def _snippet(source: Any) -> None:
    """The source as tally.yaml would hold it: what to paste once it reads."""
    import yaml

    fields = source.model_dump(
        exclude_defaults=True, exclude={"id", "every", "schedule"}, mode="json"
    )
    entry = {"id": "my-source", **fields, "every": "1h"}
    print("as a source of tally.yaml (choose its id and schedule):")
    text = yaml.safe_dump([entry], sort_keys=False, allow_unicode=True)
    print("  " + text.rstrip().replace("\n", "\n  "))


def run(args: argparse.Namespace) -> int:
    from tally.sources import read, readers

    if args.kind is None:
        if not args.target:
            print(
                "error: give a source id of the config (tally try ID), or a URL and its kind "
                "(tally try URL --kind json --query 'data.count')",
                file=sys.stderr,
            )
            return 2
        if args.target.startswith(URL_PREFIXES):
            print(
                f"error: a URL needs --kind ({', '.join(sorted(_kinds()))}) and the kind's "
                "fields, e.g. --kind html --selector '.price'",
                file=sys.stderr,
            )
            return 2
        given = [name for name in _field_options() if getattr(args, f"field_{name}", None)]
        if given or args.header:
            print(
                "error: the field options go with a URL and --kind; a configured source "
                "is read as tally.yaml has it",
                file=sys.stderr,
            )
            return 2
        source = config_from(args).source(args.target)  # UnknownSource: said by main()
        hint = source.id
        from tally.commands import target

        if target.stack_config_used():
            target.note(f"config {target.stack_config_used()} (the running `tally local`'s)")
    else:
        source = _command_line_source(args)  # ConfigError: said by main()
        hint = ""
    started = time.monotonic()
    with readers.explaining(hint) as explained:
        reading = read(source)
    _report(source, reading, explained.bodies, time.monotonic() - started)
    if reading.ok and source.id == TRY_ID:
        _snippet(source)
    return 0 if reading.ok else 1
