"""A source's alert rules against its facts: which hold now, and what to tell a person.

Pure functions of the facts and the tick, so the collect function, `tally collect` and
the tests all decide alike, and a redelivered tick decides as the first delivery did.

    above / below   the last ok value is above / below the threshold
    change          the last ok value moved by more than `percent` from the value
                    about `window` earlier (the facts keep one value per window/24)
    stale           no ok sample for `stale_after` (or, for a source that never had
                    one, since tally first saw it in tally.yaml)
    down            the last `down_after` samples failed (default: the kind's, 1 for an
                    http check, 3 for kinds whose pages and APIs blink more often)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from tally.alerts.state import Facts, value_before
from tally.config import SourceBase
from tally.durations import format_duration
from tally.formatting import format_elapsed, format_quantity
from tally.sources import kind_of


@dataclass(frozen=True)
class Finding:
    """One rule at one tick. `holds` is None when it cannot tell (no value yet)."""

    rule: str
    holds: bool | None
    rule_text: str  # "change 10 % / 1d"
    value: float | None = None
    summary: str = ""  # what holds (firing) or what is true now (resolved)


def down_after(source: SourceBase) -> int:
    if source.alerts.down_after is not None:
        return source.alerts.down_after
    return kind_of(source).down_after


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


def evaluate(source: SourceBase, facts: Facts, now: int) -> list[Finding]:
    """Every rule of the source at tick `now` (epoch seconds), as `rule_texts` lists them."""
    texts = dict(rule_texts(source))
    rules = source.alerts
    unit = unit_of(source)
    value = facts.last_ok_value
    shown = format_quantity(value, unit)
    findings = [_down(source, facts, texts["down"])]
    if rules.stale_after is not None:
        findings.append(_stale(facts, now, rules.stale_after, unit, texts["stale"]))
    if rules.above is not None:
        holds = None if value is None else value > rules.above
        findings.append(
            Finding("above", holds, texts["above"], value, f"{shown}, {texts['above']}")
        )
    if rules.below is not None:
        holds = None if value is None else value < rules.below
        findings.append(
            Finding("below", holds, texts["below"], value, f"{shown}, {texts['below']}")
        )
    if rules.change is not None:
        findings.append(_change(source, facts, texts["change"]))
    return findings


def _down(source: SourceBase, facts: Facts, text: str) -> Finding:
    needed = down_after(source)
    if facts.last_tick is None:
        return Finding("down", None, text)
    streak = len(facts.failed)
    if streak >= needed:
        reason = facts.last_error or "failed"
        in_a_row = f", {streak} failed in a row" if needed > 1 else ""
        return Finding("down", True, text, None, f"down ({reason}){in_a_row}")
    if facts.last_ok_tick is not None and not facts.failed:
        if kind_of(source).is_check:
            up = f"up again ({format_quantity(facts.last_ok_value, unit_of(source))})"
        else:
            up = f"reading again: {format_quantity(facts.last_ok_value, unit_of(source))}"
        return Finding("down", False, text, facts.last_ok_value, up)
    return Finding("down", False, text, None, f"{streak} failed in a row, fewer than {needed}")


def _stale(facts: Facts, now: int, stale_after: timedelta, unit: str, text: str) -> Finding:
    since = facts.last_ok_tick if facts.last_ok_tick is not None else facts.first_seen
    silent = timedelta(seconds=now - since)
    if silent > stale_after:
        if facts.last_ok_tick is None:
            summary = (
                f"stale: no ok sample since tally started watching it {format_elapsed(silent)} ago"
            )
        else:
            summary = (
                f"stale: no ok sample for {format_elapsed(silent)} "
                f"(last {format_quantity(facts.last_ok_value, unit)})"
            )
        return Finding("stale", True, text, facts.last_ok_value, summary)
    fresh = f"a new ok sample: {format_quantity(facts.last_ok_value, unit)}"
    return Finding("stale", False, text, facts.last_ok_value, fresh)


def _change(source: SourceBase, facts: Facts, text: str) -> Finding:
    change = source.alerts.change
    assert change is not None
    window = format_duration(change.window)
    value = facts.last_ok_value
    if value is None or facts.last_ok_tick is None:
        return Finding("change", None, text)
    reference = value_before(facts, facts.last_ok_tick - int(change.window.total_seconds()))
    if reference is None or reference[1] == 0:
        return Finding("change", None, text, value)  # not a window of history yet
    moved = (value - reference[1]) / abs(reference[1]) * 100
    direction = "up" if moved >= 0 else "down"
    unit = unit_of(source)
    summary = (
        f"{format_quantity(value, unit)}, {direction} {abs(moved):.1f} % "
        f"within {window} (from {format_quantity(reference[1], unit)})"
    )
    return Finding("change", abs(moved) > change.percent, text, value, summary)
