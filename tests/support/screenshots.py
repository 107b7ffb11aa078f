"""The screenshots in docs/ and examples/, taken from a running page (`tally local`).

    nox -s local -- --tick-seconds 2          # in one terminal
    .nox/tests/bin/python -m tests.support.screenshots --incident http://127.0.0.1:8602/tally-site/

writes docs/screenshots/{overview,detail,check}.png (a 375 px phone at 2x, the top of
each page) and examples/local-page.png (the overview at 1000 px), each reduced to a
256-colour palette so that the repository stays small. Before it writes anything it
measures each page as the browser tests do (tests/support/browser.py) and prints what
it found: the page a reader sees is the page the tests hold to.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

from tests.support.browser import chart_text_sizes, launch, layout_problems

ROOT = Path(__file__).resolve().parents[2]
PHONE = (375, 812)
TALLEST = 1650  # CSS px of a phone screenshot: the page's top, its charts, its last incident


def _small_png(png: bytes, height: int | None = None) -> bytes:
    """The screenshot cut to `height` pixels and saved with a 256-colour palette."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    if height is not None and image.height > height:
        image = image.crop((0, 0, image.width, height))
    out = io.BytesIO()
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(out, "PNG", optimize=True)
    return out.getvalue()


def _wait_for_an_open_incident(url: str, seconds: float = 1500) -> None:
    """Until the overview shows an open incident (the demo's scripted outage, every 93
    checks, is open for about two ticks and a render must fall in it)."""
    import time
    import urllib.error
    import urllib.request

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                if b"open incident" in response.read():
                    return
        except urllib.error.HTTPError:  # not rendered yet
            pass
        time.sleep(0.5)
    raise SystemExit(f"no open incident on {url} within {seconds:.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "site", help="the page's folder URL, e.g. http://127.0.0.1:8602/tally-site/"
    )
    parser.add_argument("--value", default="card-price", help="the source of detail.png")
    parser.add_argument("--check", default="echo-health", help="the source of check.png")
    parser.add_argument(
        "--incident", action="store_true", help="first wait until an incident is open"
    )
    args = parser.parse_args(argv)
    site = args.site.rstrip("/") + "/"
    if args.incident:
        _wait_for_an_open_incident(site + "index.html")
    shots = {
        ROOT / "docs/screenshots/overview.png": "index.html",
        ROOT / "docs/screenshots/detail.png": f"s/{args.value}.html",
        ROOT / "docs/screenshots/check.png": f"s/{args.check}.html",
    }
    from playwright.sync_api import sync_playwright

    clean = True
    with sync_playwright() as playwright:
        browser = launch(playwright)
        phone = browser.new_page(
            viewport={"width": PHONE[0], "height": PHONE[1]}, device_scale_factor=2
        )
        taken = {}
        for path, name in shots.items():  # the overview first: an incident may not last
            phone.goto(site + name, wait_until="networkidle")
            taken[path] = _small_png(phone.screenshot(full_page=True), 2 * TALLEST)
        for width in (375, 1280):
            page = browser.new_page(viewport={"width": width, "height": 900})
            for name in shots.values():
                page.goto(site + name, wait_until="networkidle")
                problems = layout_problems(page)
                sizes = chart_text_sizes(page)
                smallest = f"{min(sizes.values()):.1f} px" if sizes else "no chart"
                found = f"problems: {len(problems)}  chart text ≥ {smallest}"
                print(f"{width:>5} px  {name:<24} {found}")
                for problem in problems:
                    print(f"           {problem}")
                clean = clean and not problems
            page.close()
        for path, png in taken.items():
            path.write_bytes(png)
            print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size // 1024} KiB)")
        desktop = browser.new_page(viewport={"width": 1000, "height": 520})
        desktop.goto(site + "index.html", wait_until="networkidle")
        path = ROOT / "examples/local-page.png"
        path.write_bytes(_small_png(desktop.screenshot()))
        print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size // 1024} KiB)")
        browser.close()
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
