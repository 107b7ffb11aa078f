"""Headless Chromium from Debian (/usr/bin/chromium), driven by Playwright for Python.

Playwright's own browser download is never used: `executable_path` points at the
system binary, and the flags keep it from phoning home.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str | None:
    for candidate in (os.environ.get("TALLY_CHROMIUM"), "/usr/bin/chromium"):
        if candidate and os.path.exists(candidate):
            return candidate
    return shutil.which("chromium")


def launch(playwright):  # type: ignore[no-untyped-def]
    return playwright.chromium.launch(
        executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
    )


# What a reader of the page on a phone would notice, measured in the browser: a page
# wider than the screen, a box that scrolls sideways, a word broken inside itself
# (`ope/ned`, `04:2/6`: a line that ends between two letters or digits of a word, or
# anywhere inside a number, a date or a time), and a box narrower than a word it holds.
# A line may end where the browser's line breaking allows it (after a `/`, between
# `)` and `<`), as at a space. A word wider than the box it sits in cannot help
# breaking and is not counted (a long URL in a reason).
LAYOUT_PROBLEMS = (Path(__file__).with_name("layout_problems.js")).read_text(encoding="utf-8")


def layout_problems(page) -> list[str]:  # type: ignore[no-untyped-def]
    """LAYOUT_PROBLEMS of the page as it is laid out now (empty: none)."""
    return page.evaluate(LAYOUT_PROBLEMS)


def chart_text_sizes(page) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Each chart image's smallest text in CSS pixels as the page shows it: the size the
    PNG records (in its pixels, `Smallest text px`) scaled by the width it is shown at
    over its own width."""
    import io

    from PIL import Image
    from tally.render.charts import SMALLEST_TEXT

    sizes = {}
    shown = page.evaluate(
        "Array.from(document.querySelectorAll('figure.chart img'),"
        " i => [i.src, i.getBoundingClientRect().width])"
    )
    for src, width in shown:
        image = Image.open(io.BytesIO(page.request.get(src).body()))
        sizes[src.rsplit("/", 1)[-1]] = float(image.text[SMALLEST_TEXT]) * width / image.width
    return sizes
