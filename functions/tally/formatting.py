"""Numbers and durations as people read them, for the page, messages and the terminal.

One formatter, so that a value reads the same on the page, in an alert message and in
`tally local`'s tick lines.
"""

from __future__ import annotations

import math
from datetime import timedelta


def format_number(value: float | None) -> str:
    """1,234,567 for whole numbers, 1,299.99 from a hundred up, 0.1235 below."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.2f}"
    return f"{value:.4g}"


def format_column(values: list[float | None]) -> list[str]:
    """Numbers that share a column, in one format: the most decimals any of them shows
    in format_number, for all (`105.40`, `94.4`, `57` → `105.4`, `94.4`, `57.0`), so
    that right-aligned they line up at the point; `–` where there is none."""
    shown = [format_number(value) for value in values]
    if any("e" in text for text in shown):  # 1e-07: no common number of decimals
        return shown
    decimals = max(
        (len(text.split(".")[1].rstrip("0")) for text in shown if "." in text), default=0
    )
    return [
        text if value is None or text == "–" else f"{value:,.{decimals}f}"
        for value, text in zip(values, shown, strict=True)
    ]


def format_quantity(value: float | None, unit: str) -> str:
    """A value with its unit: `45,940 JPY`, `85.3 ms`, `–` when there is none."""
    if value is None:
        return "–"
    return f"{format_number(value)} {unit}".strip()


def format_elapsed(delta: timedelta) -> str:
    """How long something lasted, in its two largest units: `45s`, `3m`, `1h 20m`, `2d 3h`."""
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        count, seconds = divmod(seconds, size)
        if count or parts:
            parts.append(f"{count}{unit}")
        if len(parts) == 2:
            break
    return " ".join(part for part in parts if not part.startswith("0")) or "0m"


def format_span(delta: timedelta) -> str:
    """How long something lasted, in words, its two largest units: `45 seconds`,
    `1 minute`, `1 hour 20 minutes`, `2 days 3 hours` (messages people read)."""
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds} second{'' if seconds == 1 else 's'}"
    parts = []
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        count, seconds = divmod(seconds, size)
        if count or parts:
            parts.append((count, unit))
        if len(parts) == 2:
            break
    return " ".join(f"{count} {unit}{'' if count == 1 else 's'}" for count, unit in parts if count)
