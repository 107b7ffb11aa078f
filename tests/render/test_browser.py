"""The page in a real browser: Debian's Chromium, headless, driven by Playwright, loading
the site over HTTP from the fake bucket at the bucket's URL prefix, on a phone-sized
screen."""

from __future__ import annotations

import math
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest
from tally.config import parse_config
from tally.render.entry import render_site
from tally.sample import Sample

from tests.render.seed import days_back, seed
from tests.support.browser import chart_text_sizes, chromium_path, launch, layout_problems

pytestmark = pytest.mark.browser

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
EVIL_NAME = "<img src=x onerror=alert(1)>"
EVIL_REASON = "unexpected body: <script>window.pwned = 1; alert(2)</script>"
PHONE = {"width": 375, "height": 812}


@pytest.fixture(scope="module")
def site(firestore_emulator, fake_gcs):
    """A rendered site in the fake bucket: a price, a health check, a hostile source.

    Rendered once for the module (the tests only look at it)."""
    from google.cloud import firestore as gcf
    from tally.render.publish import BucketSink
    from tally.store import Store

    from tests.support.emulators import PROJECT

    firestore_emulator.clear()
    store = Store(gcf.Client(project=PROJECT), timeout=20)
    bucket = "browser-site"
    fake_gcs.create_bucket(bucket)
    config = parse_config(
        {
            "title": "tally demo",
            "timezone": "Asia/Tokyo",
            "sources": [
                {
                    "id": "card-price",
                    "name": "ブラック・ロータス 価格",
                    "unit": "円",
                    "kind": "html",
                    "url": "https://shop.example/card",
                    "selector": ".price",
                    "every": "1h",
                    "alerts": {"above": 120000, "change": {"percent": 10, "window": "1d"}},
                },
                {
                    "id": "pulse",
                    "name": "pulse/echo",
                    "kind": "http",
                    "url": "https://pulse.example/",
                    "every": "10m",
                    "alerts": {"stale_after": "15m"},
                },
                {
                    "id": "hostile",
                    "name": EVIL_NAME,
                    "unit": "<b>u</b>",
                    "kind": "json",
                    "url": "https://api.example/",
                    "query": "n",
                    "every": "1h",
                },
            ],
        }
    )
    today = NOW.date()
    seed(
        store,
        "card-price",
        [d for d in days_back(today - timedelta(days=1), 200) if d.day != 13],
        60,
        lambda t: round(
            100000
            + 15000 * math.sin(t.toordinal() / 23)
            + 4000 * math.sin(t.toordinal() / 5.3)
            + 150 * t.hour,
            -2,
        ),
    )

    def response_ms(t: datetime) -> float | None:
        if t.day == 17 and t.hour == 4:
            return None  # an hour down
        return round(110 + 25 * math.sin(t.timestamp() / 20000) + (t.minute * 7) % 13, 1)

    seed(store, "pulse", days_back(today - timedelta(days=1), 30), 10, response_ms)
    midnight = datetime.combine(today, datetime.min.time(), UTC)
    for step in range(12 * 6):
        tick = midnight + timedelta(minutes=10 * step)
        if tick < NOW and not (tick.hour == 7 and tick.minute < 30):  # a short gap today
            store.write_sample(Sample("pulse", tick, ok=True, value=response_ms(tick)))
    for hours in range(11, -1, -1):
        store.write_sample(
            Sample("card-price", NOW - timedelta(hours=hours), ok=True, value=118e3 + 300 * hours)
        )
    store.write_sample(Sample("hostile", NOW - timedelta(hours=2), ok=True, value=3.0))
    store.write_sample(Sample("hostile", NOW - timedelta(hours=1), ok=False, error=EVIL_REASON))
    render_site(config, store, sink=BucketSink(bucket, client=fake_gcs.client()), now=NOW)
    return fake_gcs.object_url(bucket, "index.html")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if chromium_path() is None:  # a missing browser is a failure, not a silent skip
        pytest.fail("Debian's chromium is not installed (apt-get install chromium; see .ci/run)")
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


class Watched:
    """A phone-sized page that records console errors, page errors and dialogs."""

    def __init__(self, browser, scheme: str = "light"):
        self.context = browser.new_context(
            viewport=PHONE, device_scale_factor=2, color_scheme=scheme
        )
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", self._dialog)

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def open(self, url: str) -> None:
        response = self.page.goto(url, wait_until="load")
        assert response is not None and response.status == 200, url
        images = self.page.locator("img")
        for i in range(images.count()):
            images.nth(i).scroll_into_view_if_needed()  # charts are loading="lazy"
        self.page.wait_for_function(
            "Array.from(document.images).every(img => img.complete)", timeout=15000
        )
        self.page.evaluate("window.scrollTo(0, 0)")

    def broken_images(self) -> list[str]:
        return self.page.evaluate(
            "Array.from(document.images).filter(i => !(i.naturalWidth > 0)).map(i => i.src)"
        )

    def images_without_alt(self) -> list[str]:
        return self.page.evaluate(
            "Array.from(document.images).filter(i => !i.alt.trim()).map(i => i.src)"
        )

    def overflow(self) -> int:
        return self.page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )

    def own_links(self) -> list[str]:
        hrefs = self.page.evaluate("Array.from(document.querySelectorAll('a[href]'), a => a.href)")
        base = urlparse(self.page.url)
        return sorted({h for h in hrefs if urlparse(h).netloc == base.netloc})


def _save(page, name: str, tmp_path: Path) -> Path:
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=True)
    target = os.environ.get("TALLY_SCREENSHOTS")  # e.g. docs/screenshots, for the README
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / name)
    return path


def test_overview_on_a_phone_every_chart_loads_nothing_overflows_no_console_errors(
    site, browser, tmp_path
):
    view = Watched(browser)
    view.open(site)
    assert view.page.locator(".card").count() == 3
    assert view.overflow() <= 0
    assert view.broken_images() == []
    assert view.errors == []
    assert "ブラック・ロータス 価格" in view.page.inner_text("main")
    assert view.page.locator(".summary").inner_text().startswith("3 sources")
    assert view.page.locator("footer").inner_text().startswith("Generated 2026-11-22 21:00 JST")
    _save(view.page, "overview.png", tmp_path)

    for link in view.own_links():
        response = view.page.request.get(link)
        assert response.status == 200, link


def test_a_detail_page_shows_every_chart_with_alt_text_and_its_links_work(site, browser, tmp_path):
    view = Watched(browser)
    view.open(site)
    view.page.get_by_text("ブラック・ロータス 価格").click()
    view.page.wait_for_load_state("load")
    view.open(view.page.url)
    assert view.page.url.endswith("/s/card-price.html")
    titles = view.page.locator("figcaption").all_inner_texts()
    assert any("weekly candles" in t for t in titles) and any("1 year" in t for t in titles)
    assert view.page.locator("figure img").count() == 4
    assert view.broken_images() == []
    assert view.images_without_alt() == []
    assert view.overflow() <= 0
    assert view.errors == []
    assert view.page.locator("table.samples tbody tr").count() == 50
    _save(view.page, "detail.png", tmp_path)
    for link in view.own_links():
        assert view.page.request.get(link).status == 200, link

    check = Watched(browser)
    check.open(urljoin(site, "s/pulse.html"))
    assert "Uptime 90d" in check.page.inner_text("main")
    assert check.page.locator("figure img").count() == 3
    assert check.broken_images() == [] and check.errors == [] and check.overflow() <= 0
    _save(check.page, "check.png", tmp_path)


def test_hostile_names_and_failure_reasons_are_shown_as_text_and_never_run(site, browser):
    for url in (site, urljoin(site, "s/hostile.html")):
        view = Watched(browser)
        view.open(url)
        text = view.page.inner_text("main")
        assert EVIL_NAME in text, url
        assert "<script>window.pwned = 1; alert(2)</script>" in text, url
        assert view.dialogs == [], url
        assert view.page.evaluate("typeof window.pwned") == "undefined", url
        assert view.page.locator("main img[src='x']").count() == 0, url
        assert view.page.locator("main script").count() == 0, url
        assert view.errors == [], url


def test_dark_mode_follows_the_system_setting(site, browser):
    colours = {}
    for scheme in ("light", "dark"):
        view = Watched(browser, scheme)
        view.open(site)
        colours[scheme] = view.page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert colours["light"] == "rgb(248, 250, 252)"
    assert colours["dark"] == "rgb(11, 18, 32)"


PAGES = ["index.html", "s/card-price.html", "s/pulse.html", "s/hostile.html"]


@pytest.mark.parametrize("width", [375, 1280])
def test_every_page_fits_the_screen_and_no_word_breaks_inside_itself(site, browser, width):
    """At a phone's 375 px and a desktop's 1280 px: nothing wider than the screen, no box
    that scrolls sideways, no word broken inside itself, no box narrower than its
    longest word (tests/support/browser.py measures each word where it is laid out)."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    found = {}
    for name in PAGES:
        page.goto(urljoin(site, name), wait_until="networkidle")
        found[name] = layout_problems(page)
    context.close()
    assert found == {name: [] for name in PAGES}


@pytest.mark.parametrize("width", [375, 1280])
def test_chart_text_is_at_least_10_css_px_as_the_page_shows_it(site, browser, width):
    """Every chart of a value and of a check, at the width the page shows it: the text
    size each PNG records of its smallest text, scaled to the image's shown width."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    sizes = {}
    for name in ("s/card-price.html", "s/pulse.html"):
        page.goto(urljoin(site, name), wait_until="networkidle")
        sizes.update(chart_text_sizes(page))
    context.close()
    assert len(sizes) == 7  # four charts of the price, three of the check
    assert {chart: size for chart, size in sizes.items() if size < 10} == {}


def test_on_a_phone_a_failed_samples_reason_takes_a_line_of_its_own(site, browser):
    """The samples keep their columns on a phone (the values right-aligned on one edge),
    and a failure's reason, too long for a column, goes under its time and value."""
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(urljoin(site, "s/hostile.html"), wait_until="networkidle")
    rows = page.evaluate(
        """Array.from(document.querySelectorAll('table.samples tbody tr'), tr => {
             const box = c => tr.querySelector(c).getBoundingClientRect();
             return [tr.className, box('td.time').bottom, box('td.reason').top,
                     box('td.num').right];
           })"""
    )
    context.close()
    assert [kind for kind, *_ in rows] == ["failed", "ok"]
    (_, failed_time, failed_reason, right), (_, ok_time, ok_reason, right_ok) = rows
    assert failed_reason >= failed_time  # below the time
    assert ok_reason < ok_time  # "ok" stays on the row
    assert right == right_ok  # one column


def test_the_samples_values_share_one_format(site, browser):
    """A check's response times: `105.40`, `94.4` and `57` in one column were three
    formats; now one number of decimals for the column."""
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(urljoin(site, "s/pulse.html"), wait_until="networkidle")
    values = page.locator("table.samples td.num:nth-child(2)").all_inner_texts()
    context.close()
    assert len(values) == 50
    decimals = {len(v.split(".")[1]) if "." in v else 0 for v in values if v != "–"}
    assert decimals == {1}, values[:10]


def test_the_uptime_bars_have_a_legend_in_the_colours_they_are_drawn_in(site, browser):
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(urljoin(site, "s/pulse.html"), wait_until="networkidle")
    legend = page.evaluate(
        """Array.from(document.querySelectorAll('.legend li'), li => [
             li.innerText.trim(),
             getComputedStyle(li.querySelector('.swatch')).backgroundColor,
           ])"""
    )
    context.close()
    from tally.render.charts import uptime_legend

    def rgb(colour: str) -> str:
        red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
        return f"rgb({red}, {green}, {blue})"

    assert legend == [[label, rgb(colour)] for colour, label in uptime_legend()]
