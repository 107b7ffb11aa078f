"""Which sources each shard holds, the message that carries it, and reading it back.

A shard is whole groups of sources (group_document.assign), packed in order up to the
shard size: a group's samples are one document write, so two shards never write the
same document, and a group's render document is drawn by one shard. The message names
its sources, so an instance whose config differs (a deploy between the tick and the
shard) collects what the tick meant, as far as it knows those sources; a collect
shard's message also carries its turns at the hosts other shards ask too
(sources/hosts.shares), so that the tick's shards together keep to one instance's.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tally.fanout.pubsub import OutMessage
from tally.group_document import group_of

ATTRIBUTE = "shard"  # "collect:2/4": the kind of run, this shard's index and their number


@dataclass(frozen=True)
class Shard:
    kind: str  # "collect" or "render"
    index: int
    count: int
    source_ids: tuple[str, ...]
    # a collect shard's turns at hosts other shards of its tick ask too (sources/hosts)
    hosts: tuple[tuple[str, int], ...] = ()


class MalformedShard(ValueError):
    """A shard message no retry could make sense of (acknowledged and dropped)."""


def size_from_environment(variable: str, default: int) -> int:
    """A shard size from the environment (Terraform writes it), else `default`; a value
    that is no whole number of 1 or more is refused by name, at the instance's start."""
    text = os.environ.get(variable, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{variable} must be a whole number of sources, 1 or more: {text!r}")
    return int(text)


def plan(source_ids: Sequence[str], groups: Mapping[str, str], size: int, kind: str) -> list[Shard]:
    """The shards of these sources: their groups, whole, in order, at most `size` sources
    each (a group larger than `size` is a shard of its own)."""
    if size < 1:
        raise ValueError(f"a shard holds at least one source, not {size}")
    by_group: dict[str, list[str]] = {}
    for source_id in source_ids:
        by_group.setdefault(group_of(groups, source_id), []).append(source_id)
    packed: list[list[str]] = []
    for group in sorted(by_group):
        members = by_group[group]
        if packed and len(packed[-1]) + len(members) <= size:
            packed[-1].extend(members)
        else:
            packed.append(list(members))
    return [Shard(kind, index, len(packed), tuple(members)) for index, members in enumerate(packed)]


def message_of(shard: Shard, tick: datetime) -> OutMessage:
    """The shard's message: its tick named (every shard of a tick lands on its keys)."""
    body: dict[str, Any] = {"sources": list(shard.source_ids)}
    if shard.hosts:
        body["hosts"] = dict(shard.hosts)
    return OutMessage(
        data=json.dumps(body).encode(),
        attributes={
            "tick": tick.isoformat(),
            ATTRIBUTE: f"{shard.kind}:{shard.index}/{shard.count}",
        },
    )


def shard_of(event: Any) -> Shard | None:
    """The shard a CloudEvent carries, or None for a message that is no shard (the
    scheduler's); raises MalformedShard for a shard message that makes no sense."""
    data = getattr(event, "data", None)
    message = data.get("message") if isinstance(data, dict) else None
    attributes = message.get("attributes") if isinstance(message, dict) else None
    text = attributes.get(ATTRIBUTE) if isinstance(attributes, dict) else None
    if not text:
        return None
    try:
        kind, _, numbers = str(text).partition(":")
        index_text, _, count_text = numbers.partition("/")
        index, count = int(index_text), int(count_text)
        body = json.loads(base64.b64decode(message.get("data") or ""))
        source_ids = tuple(str(item) for item in body["sources"])
        hosts = tuple((str(host), int(turns)) for host, turns in body.get("hosts", {}).items())
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise MalformedShard(f"unreadable shard message {str(text)[:40]!r}: {exc}") from None
    if not kind or not 0 <= index < count or any(turns < 1 for _, turns in hosts):
        raise MalformedShard(f"unreadable shard message {str(text)[:40]!r}")
    return Shard(kind, index, count, source_ids, hosts)
