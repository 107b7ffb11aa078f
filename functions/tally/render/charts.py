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
import tempfile
from pathlib import Path

import numpy as np

from tally.render.series import ChartSpec, isolated

WIDTH_CSS = 480  # the chart's layout size: text sized to read on a 375 px phone
HEIGHT_CSS = 270
DENSITY = 3  # device pixels per CSS pixel: still 2x when a desktop shows it at 720 px
DPI = 100 * DENSITY  # so that font sizes in points are sizes in CSS pixels at 1:1
PIXELS = 720  # per-pixel reduction: min and max per bucket, about one per 2 device px

INK = "#1f2937"
MUTED = "#6b7280"
GRID = "#e5e7eb"
LINE = "#2563eb"
UP = "#16a34a"
DOWN = "#dc2626"
MA_COLOURS = {5: "#f59e0b", 25: "#7c3aed"}

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
            "font.size": 8,
            "axes.linewidth": 0.6,
            "axes.edgecolor": GRID,
            "axes.labelcolor": INK,
            "axes.titlecolor": INK,
            "axes.titlesize": 11,
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
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH_CSS / 100, HEIGHT_CSS / 100), dpi=DPI)
    fig.set_layout_engine("constrained")
    ax = fig.add_subplot()
    ax.tick_params(labelsize=7.5, length=2, width=0.5)
    return fig, ax


def _style(ax, spec: ChartSpec) -> None:  # type: ignore[no-untyped-def]
    import matplotlib.dates as mdates

    # the title is the figure's caption on the page (HTML text, scalable); the image
    # keeps only what a caption cannot say: axes, unit, legend
    if spec.unit:
        ax.set_ylabel(spec.unit, fontsize=8, parse_math=False)
    locator = mdates.AutoDateLocator(minticks=3, maxticks=7)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
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
    """The chart as PNG bytes (no metadata but what PNG needs: no software, no text)."""
    buf = io.BytesIO()
    figure(spec).savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


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
        loc="lower left", bbox_to_anchor=(0, 1), fontsize=7, frameon=False, ncols=2, borderaxespad=0
    )


def _bars(ax, spec: ChartSpec) -> None:  # type: ignore[no-untyped-def]
    b = spec.bars
    assert b is not None
    x = b.x.astype("datetime64[s]") + np.timedelta64(43200, "s")
    ratio = b.ratio
    colours = []
    for r in ratio:
        if np.isnan(r):
            colours.append(GRID)
        elif r >= 0.999:
            colours.append(UP)
        elif r >= 0.99:
            colours.append("#84cc16")
        elif r >= 0.95:
            colours.append("#f59e0b")
        else:
            colours.append(DOWN)
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
