"""The page: Jinja2 templates from site/ with autoescape, exports, badges.

Everything from outside (names, units, scraped text, failure reasons) reaches HTML
only through an autoescaped template, and JSON only through json_bytes (strict: no
NaN or Infinity, which strict parsers reject), so a source named
`<img src=x onerror=alert(1)>` is text on the page, never markup.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from tally.formatting import format_number

if TYPE_CHECKING:
    from tally.render.rows import DailyRow, Row


def json_bytes(data: Any, *, indent: int | None = 1) -> bytes:
    """A public JSON object: UTF-8, strict (a non-finite number raises ValueError)."""
    return (json.dumps(data, ensure_ascii=False, indent=indent, allow_nan=False) + "\n").encode()


SITE = Path(__file__).resolve().parent.parent / "site"  # tally/site -> ../../site (a symlink)
TEMPLATES = SITE / "templates"
STATIC = SITE / "static"

STATUS_COLOURS = {
    "ok": "brightgreen",
    "degraded": "yellow",
    "down": "red",
    "stale": "lightgrey",
    "no data": "lightgrey",
}


@lru_cache(maxsize=1)
def environment():  # type: ignore[no-untyped-def]
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=True,  # every template, whatever its name
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["num"] = format_number
    env.filters["pct"] = format_percent
    return env


def render_template(name: str, **context: Any) -> bytes:
    return environment().get_template(name).render(**context).encode("utf-8")


def static_files() -> dict[str, bytes]:
    """site/static/* as object names → bytes (style.css, favicon.svg)."""
    return {
        path.relative_to(STATIC).as_posix(): path.read_bytes()
        for path in sorted(STATIC.rglob("*"))
        if path.is_file()
    }


def format_percent(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "–"
    return f"{value:+.{digits}f}%"


def format_time(epoch: int | None, tz: ZoneInfo) -> str:
    if epoch is None:
        return "never"
    return datetime.fromtimestamp(epoch, UTC).astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")


def iso(epoch: int | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sparkline(points: list[tuple[float, float | None]], width: int = 120, height: int = 32) -> str:
    """An SVG path (several `M` segments where data is missing) for an inline sparkline."""
    values = [v for _, v in points if v is not None]
    if len(points) < 2 or not values:
        return ""
    t0, t1 = points[0][0], points[-1][0]
    lo, hi = min(values), max(values)
    span_t = (t1 - t0) or 1.0
    span_v = (hi - lo) or 1.0
    parts = []
    pen_down = False
    for t, v in points:
        if v is None:
            pen_down = False
            continue
        x = (t - t0) / span_t * width
        y = height - 2 - (v - lo) / span_v * (height - 4)
        parts.append(f"{'L' if pen_down else 'M'}{x:.1f} {y:.1f}")
        pen_down = True
    return " ".join(parts)


def badge(card: dict[str, Any], status: str) -> bytes:
    """shields.io endpoint format: https://shields.io/badges/endpoint-badge"""
    message = status if status in ("down", "stale", "no data") else card["value_text"]
    data = {
        "schemaVersion": 1,
        "label": card["name"],
        "message": message,
        "color": STATUS_COLOURS.get(status, "lightgrey"),
        "cacheSeconds": 300,
    }
    return json_bytes(data, indent=None)


CSV_FIELDS = [
    "resolution",
    "time",
    "value",
    "open",
    "high",
    "low",
    "samples",
    "ok_samples",
    "ok",
    "error",
]


def _num(value: Any) -> str:
    return "" if value is None else f"{value:.15g}"


def export_json(card: dict[str, Any], daily: Mapping[str, DailyRow], raw: Sequence[Row]) -> bytes:
    data = {
        "id": card["id"],
        "name": card["name"],
        "unit": card["unit"],
        "times": "UTC; daily rows are UTC days",
        "daily": [
            {
                "date": day,
                "open": row.open,
                "high": row.high,
                "low": row.low,
                "close": row.close,
                "samples": row.n_all,
                "ok_samples": row.n_ok,
            }
            for day, row in sorted(daily.items())
        ],
        "recent": [
            {
                "time": iso(r.tick),
                "value": r.value,
                "ok": r.ok,
                "error": r.error,
                "latency_ms": r.latency_ms,
                "status": r.status,
            }
            for r in raw
        ],
    }
    return json_bytes(data)


def _text(value: str | None) -> str:
    """Outside text for a CSV cell: never read as a formula by a spreadsheet."""
    if not value:
        return ""
    return "'" + value if value[0] in "=+-@\t\r" else value


def export_csv(daily: Mapping[str, DailyRow], raw: Sequence[Row]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for day, d in sorted(daily.items()):
        prices = [_num(d.close), _num(d.open), _num(d.high), _num(d.low)]
        writer.writerow(["day", day, *prices, d.n_all, d.n_ok, "", ""])
    for r in raw:
        writer.writerow(
            [
                "sample",
                iso(r.tick),
                _num(r.value),
                "",
                "",
                "",
                1,
                int(r.ok),
                str(r.ok).lower(),
                _text(r.error),
            ]
        )
    return out.getvalue().encode("utf-8")
