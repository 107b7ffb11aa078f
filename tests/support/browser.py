"""Headless Chromium from Debian (/usr/bin/chromium), driven by Playwright for Python.

Playwright's own browser download is never used: `executable_path` points at the
system binary, and the flags keep it from phoning home.
"""

from __future__ import annotations

import os
import shutil

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
LAYOUT_PROBLEMS = """
() => {
  const problems = [];
  const doc = document.documentElement;
  if (doc.scrollWidth > doc.clientWidth) {
    problems.push(`the page is ${doc.scrollWidth - doc.clientWidth} px wider than the screen`);
  }
  for (const el of document.body.querySelectorAll('*')) {
    const style = getComputedStyle(el);
    if (['auto', 'scroll'].includes(style.overflowX) && el.scrollWidth > el.clientWidth + 1) {
      problems.push(`${el.tagName}.${el.className} scrolls sideways by ${el.scrollWidth - el.clientWidth} px`);
    }
  }
  const canvas = document.createElement('canvas').getContext('2d');
  const range = document.createRange();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!el || el.closest('script, style, svg')) continue;
    let box = el;
    while (box.parentElement && ['inline', 'contents'].includes(getComputedStyle(box).display)) {
      box = box.parentElement;
    }
    const boxRect = box.getBoundingClientRect();
    if (boxRect.width <= 1 || getComputedStyle(el).visibility === 'hidden') continue;  // visually hidden
    const boxStyle = getComputedStyle(box);
    const inner = box.clientWidth - parseFloat(boxStyle.paddingLeft) - parseFloat(boxStyle.paddingRight);
    canvas.font = getComputedStyle(el).font;
    for (const match of node.data.matchAll(/\\S+/g)) {
      const word = match[0];
      const width = canvas.measureText(word).width;
      if (width > inner + 0.5) {
        if (width <= doc.clientWidth - 40) {  // it would fit a box as wide as the page
          problems.push(`${box.tagName}.${box.className} is ${inner.toFixed(1)} px wide, narrower than "${word}" (${width.toFixed(1)} px)`);
        }
        continue;
      }
      const number = /^[\\d.,:+\\-]+$/.test(word);
      let line = null;
      for (let i = 0; i < word.length; i++) {
        range.setStart(node, match.index + i);
        range.setEnd(node, match.index + i + 1);
        const rect = range.getClientRects()[0];
        if (!rect) continue;
        const bottom = Math.round(rect.bottom);
        const inside = number || /[\\p{L}\\p{N}]{2}/u.test(word.slice(i - 1, i + 1));
        if (line !== null && bottom !== line && inside) {
          problems.push(`"${word}" breaks inside itself (${word.slice(0, i)}|${word.slice(i)}) in ${box.tagName}.${box.className}`);
        }
        line = bottom;
      }
    }
  }
  return problems;
}
"""


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
