"""ChartSpec → PNG bytes with matplotlib's Agg backend, one consistent style.

The figure is drawn with the object API (no pyplot global state), at twice the CSS
size the page shows it (crisp on a phone), with a font that has Japanese glyphs
(matplotlib-fontja's IPAexGothic) ahead of DejaVu Sans for everything else.
PNG output is deterministic: the same data gives the same bytes, so an unchanged
chart is never uploaded again.

Text from tally.yaml or the web is drawn as the characters it is: matplotlib's
mathtext (`$...$`, which raises on `$$` or `$ (cost_$)`) and TeX are off for every
text of every figure (`text.parse_math`, `text.usetex`), and the unit, the only
outside text in the image, is also set with `parse_math=False` itself.
"""

from __future__ import annotations

import io
import os
import shutil
import struct
import tempfile
import zlib
from pathlib import Path

import numpy as np

from tally.render.series import ChartSpec, isolated

# The chart's layout size, in CSS pixels: about the width a 375 px phone shows it at
# (375 less the page's and the figure's padding), so that its text is drawn at the size
# it is read at there; a desktop shows it larger (two charts a row at 1280 px).
WIDTH_CSS = 340
HEIGHT_CSS = 210
DENSITY = 3  # image pixels per CSS pixel: still sharp at twice the size on a desktop
DPI = 100 * DENSITY  # the figure is WIDTH_CSS / 100 inches: 100 CSS pixels an inch
TEXT_PX = 11  # every text in a chart, in CSS pixels at WIDTH_CSS: ≥ 10 px on a phone
TEXT_PT = TEXT_PX * 72 / 100  # matplotlib sizes text in points, 1/72 inch
PIXELS = 720  # per-pixel reduction: min and max per bucket, about one per 1.4 image px
# PNG text chunk: the smallest text's size in image pixels, so that a test (or anyone)
# can tell how large the text reads at the size a page shows the image
SMALLEST_TEXT = "Smallest text px"

INK = "#1f2937"
MUTED = "#6b7280"
GRID = "#e5e7eb"
LINE = "#2563eb"
UP = "#16a34a"
DOWN = "#dc2626"
MA_COLOURS = {5: "#f59e0b", 25: "#7c3aed"}
NO_DATA = GRID
# the 90-day bars: a day's uptime at or above the bound takes the colour (and the page's
# legend shows the same)
UPTIME_BANDS = (
    (0.999, UP, "≥ 99.9 %"),
    (0.99, "#84cc16", "≥ 99 %"),
    (0.95, "#f59e0b", "≥ 95 %"),
    (0.0, DOWN, "< 95 %"),
)


def uptime_legend() -> list[tuple[str, str]]:
    """(colour, label) of each band and of a day without data, for the page."""
    return [(colour, label) for _, colour, label in UPTIME_BANDS] + [(NO_DATA, "no data")]


_ready = False
FONTLISTS = Path(__file__).with_name("fontcache")


def setup() -> None:
    """Import matplotlib for a read-only filesystem: its config/cache folder in /tmp.

    A new instance starts with an empty cache folder, where matplotlib would spend
    about half a second scanning and parsing every font on the machine. We ship its
    font list for the fonts bundled with matplotlib (paths relative to matplotlib's
    data folder, so it is valid wherever matplotlib is installed) and copy it in; the
    Japanese font is added by matplotlib-fontja. The file is named after matplotlib's
    font-list version: after an upgrade it simply does not match and matplotlib
    builds its own (`python -m tally.render.charts` writes a new one).
    """
    global _ready
    if _ready:
        return
    folder = os.environ.get("MPLCONFIGDIR")
    if not folder or not os.access(folder, os.W_OK):
        folder = os.environ["MPLCONFIGDIR"] = tempfile.mkdtemp(prefix="tally-mpl-")
    for shipped in FONTLISTS.glob("fontlist-v*.json"):
        target = Path(folder) / shipped.name
        if not target.exists():
            shutil.copyfile(shipped, target)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib_fontja  # noqa: F401 - registers IPAexGothic and makes it the default

    matplotlib.rcParams.update(
        {
            "font.family": ["IPAexGothic", "DejaVu Sans"],
            "font.size": TEXT_PT,
            "legend.fontsize": TEXT_PT,
            "xtick.labelsize": TEXT_PT,
            "ytick.labelsize": TEXT_PT,
            "axes.labelsize": TEXT_PT,
            "axes.linewidth": 0.6,
            "axes.edgecolor": GRID,
            "axes.labelcolor": INK,
            "axes.titlecolor": INK,
            "axes.titlelocation": "left",
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.color": GRID,
            "grid.linewidth": 0.4,
            "xtick.color": MUTED,
            "ytick.color": MUTED,
            "svg.hashsalt": "tally",
            "path.simplify": True,
            # outside text (a unit, a name) is text, never mathtext or TeX
            "text.parse_math": False,
            "text.usetex": False,
        }
    )
    _ready = True


def _figure():  # type: ignore[no-untyped-def]
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH_CSS / 100, HEIGHT_CSS / 100), dpi=DPI)
    FigureCanvasAgg(fig)  # the figure's own canvas: its renderer measures the text drawn
    fig.set_layout_engine("constrained")
    ax = fig.add_subplot()
    ax.tick_params(labelsize=TEXT_PT, length=2, width=0.5, pad=2)
    return fig, ax


def _style(ax, spec: ChartSpec) -> None:  # type: ignore[no-untyped-def]
    import matplotlib.dates as mdates

    # the title is the figure's caption on the page (HTML text, scalable); the image
    # keeps only what a caption cannot say: axes, unit, legend
    if spec.unit:
        ax.set_ylabel(spec.unit, fontsize=TEXT_PT, parse_math=False)
    # few ticks, so that labels at TEXT_PX fit a phone's width; a tick a day or an hour
    # is an interval the locator may choose when the span needs it
    locator = mdates.AutoDateLocator(minticks=3, maxticks=6)
    locator.intervald[mdates.HOURLY] = [1, 2, 3, 4, 6, 12, 24]
    locator.intervald[mdates.MINUTELY] = [1, 5, 10, 15, 30, 60]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.xaxis.get_offset_text().set_fontsize(TEXT_PT)
    ax.yaxis.get_offset_text().set_fontsize(TEXT_PT)
    from matplotlib.ticker import FuncFormatter

    ax.yaxis.set_major_formatter(FuncFormatter(_tick))


def _tick(value: float, _pos: int) -> str:
    if abs(value) >= 1000 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:.4g}"


def _empty(ax) -> None:  # type: ignore[no-untyped-def]
    from matplotlib.ticker import NullFormatter, NullLocator

    ax.xaxis.set_major_locator(NullLocator())
    ax.xaxis.set_major_formatter(NullFormatter())
    ax.text(0.5, 0.5, "no data yet", transform=ax.transAxes, ha="center", va="center", color=MUTED)
    ax.set_yticks([])


def draw(spec: ChartSpec) -> bytes:
    """The chart as PNG bytes; no metadata but the size of its smallest text (no
    software, no time: the same data gives the same bytes)."""
    buf = io.BytesIO()
    fig = figure(spec)
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    smallest = smallest_text_px(fig)
    png = buf.getvalue()
    return png if smallest is None else with_text(png, SMALLEST_TEXT, f"{smallest:.1f}")


def smallest_text_px(fig) -> float | None:  # type: ignore[no-untyped-def]
    """The font size of the smallest text the figure showed when it was last drawn, in
    image pixels at DPI (None: no text): what is visible, not empty, inside the figure."""
    from matplotlib.text import Text

    renderer = fig.canvas.get_renderer()
    sizes = [
        text.get_fontsize()
        for text in fig.findobj(Text)
        if text.get_visible()
        and text.get_text().strip()
        and text.get_window_extent(renderer).overlaps(fig.bbox)
    ]
    return min(sizes) * DPI / 72 if sizes else None


def with_text(png: bytes, keyword: str, text: str) -> bytes:
    """The PNG with a tEXt chunk added before its end (IEND: the last 12 bytes)."""
    data = keyword.encode("latin-1") + b"\0" + text.encode("latin-1")
    chunk = b"tEXt" + data
    packed = struct.pack(">I", len(data)) + chunk + struct.pack(">I", zlib.crc32(chunk))
    return png[:-12] + packed + png[-12:]


def figure(spec: ChartSpec):  # type: ignore[no-untyped-def]
    """The chart drawn on a matplotlib Figure (draw() saves it as PNG)."""
    setup()
    fig, ax = _figure()
    _style(ax, spec)
    if spec.candles is not None:
        _candles(ax, spec)
    elif spec.bars is not None:
        _bars(ax, spec)
    else:
        drawn = False
        for index, series in enumerate(spec.lines):
            if len(series.y) and np.isfinite(series.y).any():
                colour = LINE if index == 0 else MUTED
                ax.plot(series.x, series.y, color=colour, linewidth=1.0)
                alone = isolated(series.y)
                if alone.any():  # no neighbour to draw a line to: a dot
                    ax.plot(
                        series.x[alone],
                        series.y[alone],
                        linestyle="none",
                        marker="o",
                        markersize=2.5,
                        color=colour,
                    )
                drawn = True
        if not drawn:
            _empty(ax)
    return fig


def _candles(ax, spec: ChartSpec) -> None:  # type: ignore[no-untyped-def]
    c = spec.candles
    assert c is not None
    if not len(c.x) or not np.isfinite(c.close).any():
        _empty(ax)
        return
    x = c.x.astype("datetime64[D]").astype("datetime64[s]") + np.timedelta64(3 * 86400, "s")
    rising = c.close >= c.open
    colours = np.where(rising, UP, DOWN)
    ax.vlines(x, c.low, c.high, colors=colours, linewidth=0.6)
    bottom = np.fmin(c.open, c.close)
    height = np.abs(c.close - c.open)
    height = np.where(height == 0, np.nanmax(np.abs(c.high - c.low)) * 0.004 + 1e-9, height)
    ax.bar(x, height, bottom=bottom, width=np.timedelta64(5, "D"), color=colours, linewidth=0)
    for n, values in sorted(c.ma.items()):
        ax.plot(x, values, color=MA_COLOURS.get(n, MUTED), linewidth=0.9, label=f"MA{n}")
    ax.legend(
        loc="lower left",
        bbox_to_anchor=(0, 1),
        fontsize=TEXT_PT,
        frameon=False,
        ncols=2,
        borderaxespad=0,
    )


def _bars(ax, spec: ChartSpec) -> None:  # type: ignore[no-untyped-def]
    b = spec.bars
    assert b is not None
    x = b.x.astype("datetime64[s]") + np.timedelta64(43200, "s")
    colours = [
        NO_DATA if np.isnan(r) else next(c for bound, c, _ in UPTIME_BANDS if r >= bound)
        for r in b.ratio
    ]
    ax.bar(x, np.ones(len(x)), width=np.timedelta64(18, "h"), color=colours, linewidth=0)
    ax.set_ylim(0, 1)
    ax.set_yticks([])
    ax.grid(False)


def write_fontlist(folder: Path = FONTLISTS) -> Path:
    """Build the font list of matplotlib's own fonts only (no system fonts) into `folder`."""
    from matplotlib import font_manager

    system = font_manager.findSystemFonts

    def bundled_only(fontpaths=None, fontext="ttf"):  # type: ignore[no-untyped-def]
        return system(fontpaths, fontext) if fontpaths else []

    font_manager.findSystemFonts = bundled_only
    try:
        manager = font_manager.FontManager()
    finally:
        font_manager.findSystemFonts = system
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"fontlist-v{font_manager.FontManager.__version__}.json"
    font_manager.json_dump(manager, path)
    return path


if __name__ == "__main__":
    print(write_fontlist())
