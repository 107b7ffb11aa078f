"""Chart images: density, determinism (unchanged data is never uploaded again), and a
cold start that does not rebuild matplotlib's font cache."""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import tempfile
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
from tally.render import charts
from tally.render.series import Bars, ChartSpec, Series


def _spec(values: np.ndarray) -> ChartSpec:
    x = np.arange(len(values)).astype("datetime64[m]").astype("datetime64[s]")
    return ChartSpec("charts/x.png", "値", "alt", unit="円", lines=[Series("v", x, values)])


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_charts_have_three_device_pixels_per_css_pixel():
    width, height = _png_size(charts.draw(_spec(np.sin(np.arange(500.0)))))
    assert (width, height) == (charts.WIDTH_CSS * 3, charts.HEIGHT_CSS * 3)


def test_the_same_data_gives_the_same_bytes_and_new_data_different_bytes():
    values = np.sin(np.arange(500.0))
    assert charts.draw(_spec(values)) == charts.draw(_spec(values.copy()))
    changed = values.copy()
    changed[-1] = 5.0
    assert charts.draw(_spec(changed)) != charts.draw(_spec(values))


def test_the_shipped_font_list_is_for_the_installed_matplotlib():
    from matplotlib import font_manager

    name = f"fontlist-v{font_manager.FontManager.__version__}.json"
    assert (charts.FONTLISTS / name).is_file(), f"run: python -m tally.render.charts ({name})"


def test_a_new_instance_starts_from_the_shipped_font_list_not_a_scan(tmp_path):
    script = """
import os
from tally.render import charts
charts.setup()
import matplotlib_fontja
from matplotlib import font_manager
import matplotlib
data = matplotlib.get_data_path()
ja = os.path.dirname(matplotlib_fontja.__file__)
foreign = [f.fname for f in font_manager.fontManager.ttflist
           if not (f.fname.startswith(data) or f.fname.startswith(ja))]
print(len(foreign))
"""
    folder = tempfile.mkdtemp(prefix="tally-mpl-test-", dir=tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "MPLCONFIGDIR": folder},
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(charts.__file__).parents[2],
    )
    assert result.stdout.split()[-1] == "0", result.stdout + result.stderr


def _blue_pixels(png: bytes) -> int:
    """Pixels of the line's colour (#2563eb), give or take antialiasing."""
    import io

    from matplotlib import image

    rgb = image.imread(io.BytesIO(png))[:, :, :3] * 255
    return int((np.abs(rgb - np.array([37, 99, 235])).max(axis=2) < 40).sum())


def test_a_value_without_neighbours_is_drawn_as_a_dot():
    """A monthly price after a gap, or the only sample so far: no line to draw, so a dot."""
    nan = np.nan
    lonely = np.array([nan, 5.0, nan, nan, 7.0, nan, 6.0, nan])
    assert _blue_pixels(charts.draw(_spec(lonely))) > 3 * 20  # three dots of ~25 px each
    assert _blue_pixels(charts.draw(_spec(np.full(8, nan)))) == 0  # "no data yet"


OUTSIDE_UNITS = ["$$", "$ (cost_$)", r"\alpha^2_x", "$\\frac{1}{0}$", "50% _under_ ^up^"]


def test_a_unit_is_drawn_as_its_characters_never_as_mathtext():
    """`$$` or `$ (cost_$)` raised in matplotlib's mathtext parser and took the page
    with it; `\\alpha^2_x` would have become a Greek letter. Drawn as SVG with its text
    kept as text, the unit must be the label, character for character."""
    import matplotlib

    x = np.arange(48).astype("datetime64[h]").astype("datetime64[s]")
    for unit in OUTSIDE_UNITS:
        spec = ChartSpec(
            "charts/x.png", unit, "alt", unit=unit, lines=[Series(unit, x, np.sin(np.arange(48.0)))]
        )
        assert charts.draw(spec)[:8] == b"\x89PNG\r\n\x1a\n"  # the real path: PNG bytes
        buf = io.BytesIO()
        with matplotlib.rc_context({"svg.fonttype": "none"}):  # text as <text>, not paths
            charts.figure(spec).savefig(buf, format="svg")
        texts = [
            "".join(node.itertext())
            for node in ElementTree.fromstring(buf.getvalue()).iter(
                "{http://www.w3.org/2000/svg}text"
            )
        ]
        assert unit in texts, (unit, texts)


def _kinds_of_chart() -> dict[str, ChartSpec]:
    """One spec of each kind of chart the page shows (and the empty one)."""
    from datetime import date, timedelta

    from tally.render.rows import DailyRow
    from tally.render.series import uptime_bars, weekly_candles

    hours = np.arange(48).astype("datetime64[h]").astype("datetime64[s]")
    first = date(2026, 1, 5)
    daily = {
        (first + timedelta(days=i)).isoformat(): DailyRow(
            100.0 + i, 103.0 + i, 98.0 + i, 101.0 + i, 24, 24 - i % 3, 0.0, 0
        )
        for i in range(7 * 40)
    }
    through = first + timedelta(days=7 * 40 - 1)
    return {
        "line": ChartSpec(
            "c", "t", "a", unit="ms", lines=[Series("v", hours, np.sin(np.arange(48.0)) * 1e4)]
        ),
        "candles": ChartSpec("c", "t", "a", unit="円", candles=weekly_candles(daily, through)),
        "bars": ChartSpec("c", "t", "a", bars=uptime_bars(daily, through)),
        "empty": ChartSpec("c", "t", "a", lines=[Series("v", hours, np.full(48, np.nan))]),
    }


def _svg_text_sizes(spec: ChartSpec) -> tuple[list[float], float]:
    """The font size of every text of the chart drawn as SVG (text kept as <text>), and
    the SVG's width, in the same unit: a measurement that does not ask charts.py."""
    import re

    import matplotlib

    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        charts.figure(spec).savefig(buf, format="svg")
    root = ElementTree.fromstring(buf.getvalue())
    sizes = [
        float(re.search(r"font-size: ([\d.]+)px", node.get("style", ""))[1])
        for node in root.iter("{http://www.w3.org/2000/svg}text")
        if "".join(node.itertext()).strip()
    ]
    return sizes, float(root.get("viewBox").split()[2])


def test_every_chart_text_is_at_least_10_css_px_where_a_phone_shows_it():
    """Drawn at WIDTH_CSS (about what a 375 px phone shows: tests/render/test_browser.py
    measures the width it is shown at), the smallest text of every kind of chart is at
    least 10 CSS px; and the size each PNG records of its smallest text is the one its
    SVG drawing shows."""
    for kind, spec in _kinds_of_chart().items():
        sizes, svg_width = _svg_text_sizes(spec)
        assert sizes, kind
        png = charts.draw(spec)
        width, _ = _png_size(png)
        smallest_px = min(sizes) * width / svg_width  # in image pixels
        recorded = float(_png_text(png)[charts.SMALLEST_TEXT])
        assert abs(recorded - smallest_px) < 0.1, (kind, recorded, smallest_px)
        assert smallest_px / charts.DENSITY >= 10, (kind, smallest_px)


def _png_text(png: bytes) -> dict[str, str]:
    from PIL import Image

    return dict(Image.open(io.BytesIO(png)).text)


def test_the_uptime_legend_names_every_colour_the_bars_use():
    """The page's legend for the 90 bars (HTML, beside the image) and the bars' colours
    come from one table: a day of each band is drawn in the colour the legend gives it."""
    from matplotlib import image

    legend = dict((label, colour) for colour, label in charts.uptime_legend())
    assert list(legend) == ["≥ 99.9 %", "≥ 99 %", "≥ 95 %", "< 95 %", "no data"]
    ratios = np.array([1.0, 0.995, 0.96, 0.5, np.nan])
    days = np.arange(len(ratios)).astype("datetime64[D]")
    png = charts.draw(ChartSpec("c", "t", "a", bars=Bars(days, ratios)))
    rgb = (image.imread(io.BytesIO(png))[:, :, :3] * 255).round().astype(int)
    drawn = {"#" + "".join(f"{c:02x}" for c in pixel) for pixel in rgb.reshape(-1, 3)}
    assert set(legend.values()) <= drawn
