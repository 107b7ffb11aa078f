"""A source's alert rules against its facts: whether each condition holds now, what
happened (for a firing message) and what holds now (for a resolved one).

Pure functions of the facts and the tick, so the collect function, `tally collect` and
the tests all decide alike, and a redelivered tick decides as the first delivery did.
Whether an incident opens or resolves is `damping.py`'s and the engine's to say: here
only the condition.

    above / below   the last ok value is above / below the threshold
    change          the last ok value moved by more than `percent` from the value
                    about `window` earlier (the facts keep one value per window/24). From
                    0, any move is a change ("up from 0"); to 0 it is −100 %. An open
                    incident whose window reaches past the kept history (a lengthened
                    window, a migrated state) is judged against the oldest value kept, so
                    it can always resolve.
    stale           no ok sample for `stale_after` (or, for a source that never had
                    one, since tally first saw it in tally.yaml)
    down            the newest sample failed (how many in a row before it opens:
                    `damping.py`, from `down_after`)

Text from tally.yaml (names, units) and from the web (a failure's reason) is passed
through `inert` wherever it enters a message (messages.py); here it is kept as it came.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from tally.alerts.damping import down_after
from tally.alerts.state import Facts, value_before
from tally.config import SourceBase
from tally.durations import format_duration
from tally.formatting import format_quantity, format_span
from tally.sources import kind_of


@dataclass(frozen=True)
class Finding:
    """One rule at one tick. `holds` is None when it cannot tell (no value yet)."""

    rule: str
    holds: bool | None
    rule_text: str  # "change 10 % / 1d"
    value: float | None = None
    happened: str = ""  # firing: what happened, once ("above 150 円: 160 円")
    now: str = ""  # not holding: what holds now ("back under 150 円: 120 円")


def change_window(source: SourceBase) -> int | None:
    change = source.alerts.change
    return int(change.window.total_seconds()) if change is not None else None


def unit_of(source: SourceBase) -> str:
    if source.unit:
        return source.unit
    return kind_of(source).unit


def rule_texts(source: SourceBase) -> list[tuple[str, str]]:
    """(rule, text) of every rule the source has, in the order the page lists them."""
    rules = source.alerts
    unit = unit_of(source)
    needed = down_after(source)
    texts = [("down", f"down after {needed} failed {'sample' if needed == 1 else 'samples'}")]
    if rules.stale_after is not None:
        texts.append(("stale", f"stale after {format_duration(rules.stale_after)}"))
    if rules.above is not None:
        texts.append(("above", f"above {format_quantity(rules.above, unit)}"))
    if rules.below is not None:
        texts.append(("below", f"below {format_quantity(rules.below, unit)}"))
    if rules.change is not None:
        window = format_duration(rules.change.window)
        texts.append(("change", f"change {rules.change.percent:g} % / {window}"))
    return texts


def evaluate(
    source: SourceBase, facts: Facts, now: int, open_rules: frozenset[str] = frozenset()
) -> list[Finding]:
    """Every rule of the source at tick `now` (epoch seconds), as `rule_texts` lists them.
    `open_rules`: the rules with an open incident (a change rule judges those even
    without a full window of history)."""
    texts = dict(rule_texts(source))
    rules = source.alerts
    unit = unit_of(source)
    findings = [_down(source, facts, texts["down"])]
    if rules.stale_after is not None:
        findings.append(_stale(facts, now, rules.stale_after, unit, texts["stale"]))
    if rules.above is not None:
        findings.append(_threshold("above", facts, rules.above, unit, texts["above"]))
    if rules.below is not None:
        findings.append(_threshold("below", facts, rules.below, unit, texts["below"]))
    if rules.change is not None:
        findings.append(_change(source, facts, texts["change"], "change" in open_rules))
    return findings


def down_happened(source: SourceBase, facts: Facts, in_a_row: int) -> str:
    """`down: HTTP 503 Service Unavailable, 3 failed samples in a row`."""
    reason = facts.last_error or "failed"
    noun = "checks" if kind_of(source).is_check else "samples"
    return f"down: {reason}" + (f", {in_a_row} failed {noun} in a row" if in_a_row > 1 else "")


def _down(source: SourceBase, facts: Facts, text: str) -> Finding:
    if facts.last_tick is None:
        return Finding("down", None, text)
    if facts.last_tick != facts.last_ok_tick:
        return Finding("down", True, text, None, down_happened(source, facts, 1))
    shown = format_quantity(facts.last_ok_value, unit_of(source))
    now = f"up again: {shown}" if kind_of(source).is_check else f"reading again: {shown}"
    return Finding("down", False, text, facts.last_ok_value, now=now)


def _threshold(rule: str, facts: Facts, limit: float, unit: str, text: str) -> Finding:
    value = facts.last_ok_value
    if value is None:
        return Finding(rule, None, text)
    shown, edge = format_quantity(value, unit), format_quantity(limit, unit)
    holds = value > limit if rule == "above" else value < limit
    if value == limit:
        now = f"back at {edge}"
    else:
        now = f"back {'under' if rule == 'above' else 'over'} {edge}: {shown}"
    return Finding(rule, holds, text, value, f"{rule} {edge}: {shown}", now)


def _stale(facts: Facts, now: int, stale_after: timedelta, unit: str, text: str) -> Finding:
    since = facts.last_ok_tick if facts.last_ok_tick is not None else facts.first_seen
    silent = timedelta(seconds=now - since)
    fresh = f"a new ok sample: {format_quantity(facts.last_ok_value, unit)}"
    if silent <= stale_after:
        return Finding("stale", False, text, facts.last_ok_value, now=fresh)
    if facts.last_ok_tick is None:
        happened = f"stale: no ok sample since tally started watching it {format_span(silent)} ago"
    else:
        last = format_quantity(facts.last_ok_value, unit)
        happened = f"stale: no ok sample for {format_span(silent)} (last {last})"
    return Finding("stale", True, text, facts.last_ok_value, happened, fresh)


def _change(source: SourceBase, facts: Facts, text: str, is_open: bool) -> Finding:
    change = source.alerts.change
    assert change is not None
    window = format_duration(change.window)
    value = facts.last_ok_value
    if value is None or facts.last_ok_tick is None:
        return Finding("change", None, text)
    unit = unit_of(source)
    shown = format_quantity(value, unit)
    reference = value_before(facts, facts.last_ok_tick - int(change.window.total_seconds()))
    if reference is None:
        if not is_open:
            return Finding("change", None, text, value)  # not a window of history yet
        if not facts.series:  # nothing kept to compare with: it cannot be said to hold
            return Finding("change", False, text, value, now=f"no earlier value kept: {shown}")
        reference = (int(facts.series[0][0]), facts.series[0][1])
    then = format_quantity(reference[1], unit)
    moved = _percent(reference[1], value)
    holds = abs(moved) > change.percent
    if reference[1] == 0 and value != 0:
        happened = f"{'up' if value > 0 else 'down'} from 0 within {window}: {shown}"
    else:
        direction = "up" if moved >= 0 else "down"
        happened = f"{direction} {abs(moved):.1f} % within {window}: {shown} (from {then})"
    now = f"within {change.percent:g} % of {window} before: {shown} (then {then})"
    return Finding("change", holds, text, value, happened, now)


def _percent(reference: float, value: float) -> float:
    """The move from `reference` to `value` in percent; from 0 to anything else it is
    infinite (any move from nothing is more than any percentage), 0 to 0 is none."""
    if reference == 0:
        return 0.0 if value == 0 else math.copysign(math.inf, value)
    return (value - reference) / abs(reference) * 100
