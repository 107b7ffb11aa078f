"""The renderer: stored samples → charts, exports and HTML → a folder or the site bucket.

    history.py   cached aggregates of closed days (daily OHLC, hourly, recent raw) and
                 the render state, both kept through Store so every read is counted
    series.py    pure data: gaps, per-pixel reduction, weekly candles, moving averages,
                 uptime; what is handed to the plot is built here and nowhere else
    charts.py    matplotlib (Agg) drawing of those series into PNG bytes
    page.py      Jinja2 templates (site/templates) → HTML, exports, badges
    publish.py   a folder or a GCS bucket; only changed bytes are written
    entry.py     render_site(): decides what changed and puts it together

Nothing here is imported by the collect path: pandas and matplotlib load only when a
render runs.
"""
